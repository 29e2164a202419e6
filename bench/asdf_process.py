#!/usr/bin/env python
"""pyasdf's ``ASDFDataSet.process(function, ...)`` against seisbatch's ``process_dataset`` on
the same data set and cores (issue #29), seconds per station, side by side in one run.

    pip install obspy==1.5.1 pyasdf==0.8.2 && pip install .   # or maturin develop
    python bench/asdf_process.py [--stations 24] [--minutes 30] [--workers 2]

The data set (written here with pyasdf): STATIONS stations (GR.FUR's response under new
station codes) x 3 channels of seeded noise at 100 Hz, `raw_recording`. The function is a
common per-station chain: detrend linear, taper 5 %, remove_response to velocity with
pre_filt, band-pass 0.5-10 Hz zero-phase. Rows:
- pyasdf process(): its own multiprocessing path (forkserver, one process per core);
- process_dataset(function=chain): the same ObsPy function in seisbatch's spawned workers
  (what the engine adds: reading, writing, journal; the function's cost is the same);
- process_dataset(pipeline=chain): the same chain as seisbatch steps on the engine (CPU path,
  no Python per station).
Each output is compared with pyasdf's (max relative L2 over traces). pyasdf's MPI path needs
h5py built against parallel HDF5, which PyPI's is not: bench/asdf_mpi.sh runs this script and
then pyasdf under `mpirun` with Debian's python3-h5py-mpi.
"""
import argparse
import copy
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import obspy
import pyasdf

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PRE_FILT = [0.05, 0.1, 20.0, 40.0]


def chain(st, inv):
    st.detrend("linear")
    st.taper(max_percentage=0.05, type="hann")
    st.remove_response(inventory=inv, output="VEL", pre_filt=PRE_FILT)
    st.filter("bandpass", freqmin=0.5, freqmax=10.0, corners=4, zerophase=True)
    return st


STEPS = [
    {"op": "detrend", "type": "linear"},
    {"op": "taper", "max_percentage": 0.05, "type": "hann"},
    {"op": "remove_response", "output": "VEL", "pre_filt": PRE_FILT},
    {"op": "filter", "type": "bandpass", "freqmin": 0.5, "freqmax": 10.0, "corners": 4,
     "zerophase": True},
]


def make(path, stations, minutes):
    base = obspy.read_inventory(os.path.join(
        ROOT, "examples", "data", "event_2014-01-01", "resp", "GR.FUR.xml"))
    rng = np.random.default_rng(7)
    n = int(minutes * 60 * 100)
    with pyasdf.ASDFDataSet(path, mode="w") as ds:
        for i in range(stations):
            code = f"S{i:03d}"
            inv = copy.deepcopy(base)
            inv[0][0].code = code
            ds.add_stationxml(inv)
            st = obspy.Stream()
            for cha in ("HHZ", "HHN", "HHE"):
                tr = obspy.Trace(rng.normal(0, 1000, n).astype(np.int32), header={
                    "network": "GR", "station": code, "channel": cha,
                    "starttime": obspy.UTCDateTime(2014, 1, 1), "sampling_rate": 100.0})
                st.append(tr)
            ds.add_waveforms(st, tag="raw_recording")


def read_all(path, tag):
    out = {}
    with pyasdf.ASDFDataSet(path, mode="r") as ds:
        for name in ds.waveforms.list():
            for tr in ds.waveforms[name][tag]:
                out[tr.id] = tr.data.astype(float)
    return out


def worst(a, b):
    assert sorted(a) == sorted(b), (sorted(a)[:3], sorted(b)[:3])
    return max(np.linalg.norm(a[k] - b[k]) / np.linalg.norm(b[k]) for k in a)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, default=24)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    a = ap.parse_args()
    sys.path.insert(0, HERE)  # the workers import chain() from this module
    import seisbatch
    from asdf_process import chain as chain_fn
    work = tempfile.mkdtemp()
    try:
        src = os.path.join(work, "in.h5")
        make(src, a.stations, a.minutes)
        rows = []
        t = time.perf_counter()
        with pyasdf.ASDFDataSet(src, mode="r") as ds:
            ds.process(chain_fn, os.path.join(work, "pyasdf.h5"),
                       {"raw_recording": "processed"}, cpu_count=a.workers)
        rows.append(("pyasdf process(), multiprocessing", time.perf_counter() - t))
        ref = read_all(os.path.join(work, "pyasdf.h5"), "processed")
        t = time.perf_counter()
        r = seisbatch.process_dataset(src, os.path.join(work, "fn"), function=chain_fn,
                                      workers=a.workers, progress=False, jobs=a.workers)
        rows.append(("process_dataset(function=chain)", time.perf_counter() - t))
        assert r["exit_code"] == 0, r["failures"][:3]
        fn = read_all(os.path.join(work, "fn", "in", "in.h5"), "processed")
        t = time.perf_counter()
        r = seisbatch.process_dataset(src, os.path.join(work, "steps"),
                                      pipeline=seisbatch.Pipeline(STEPS), progress=False,
                                      jobs=a.workers, device="cpu")
        rows.append(("process_dataset(pipeline=chain), CPU path", time.perf_counter() - t))
        assert r["exit_code"] == 0, r["failures"][:3]
        steps = read_all(os.path.join(work, "steps", "in", "in.h5"), "processed")
        print(f"{a.stations} stations x 3 channels x {a.minutes:g} min at 100 Hz, "
              f"{a.workers} workers, {os.cpu_count()} cores")
        base = rows[0][1]
        for name, s in rows:
            print(f"{name:45s} {s:8.2f} s  {s / a.stations * 1000:8.1f} ms/station  "
                  f"{base / s:5.2f}x pyasdf")
        print(f"function output vs pyasdf: max rel L2 {worst(fn, ref):.2e}")
        print(f"steps output vs pyasdf:    max rel L2 {worst(steps, ref):.2e}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

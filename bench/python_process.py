#!/usr/bin/env python
"""Pipeline.process against ObsPy's own loop, side by side in one run (issue #17).

    python bench/python_process.py [--traces N] [--device cpu|gpu]

N copies of the bundled 20-minute 100 Hz GR.FUR HHZ trace (120,000 samples) through the
forum chain (detrend, taper, remove_response DISP with pre_filt, lanczos to 10 Hz): ObsPy
trace by trace (what a script does), then one `Pipeline.process` call. Prints the seconds
per trace of each and the ratio, and the worst relative L2 difference between the two.
Needs the package installed (pip install .) and ObsPy.
"""

import argparse
import os
import platform
import time

import numpy as np
import obspy

import seisbatch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    ev = os.path.join(ROOT, "examples", "data", "event_2014-01-01")
    one = obspy.read(os.path.join(ev, "raw", "GR.FUR..HHZ__20140101T000000Z__20140101T002000Z.mseed"))[0]
    inv = obspy.read_inventory(os.path.join(ev, "resp", "GR.FUR.xml"))
    st = obspy.Stream([one.copy() for _ in range(a.traces)])
    p = seisbatch.Pipeline.from_toml(os.path.join(ROOT, "examples", "forum_chain.toml"))

    t = time.perf_counter()
    ref = []
    for tr in st:
        tr = tr.copy()
        tr.detrend("demean")
        tr.taper(0.05, type="hann")
        tr.remove_response(inv, output="DISP", pre_filt=[0.001, 0.005, 4.9, 5.0],
                           water_level=0.0, zero_mean=False, taper=False)
        tr.interpolate(10.0, method="lanczos", a=25, npts=12000)
        ref.append(tr)
    t_obspy = (time.perf_counter() - t) / a.traces

    p.process(st[:1], inventory=inv, device=a.device)  # warm: the inventory cache, a device
    t = time.perf_counter()
    out = p.process(st, inventory=inv, device=a.device)
    t_sb = (time.perf_counter() - t) / a.traces
    assert not out.failures, out.failures
    worst = max(np.linalg.norm(x.data - y.data) / np.linalg.norm(y.data) for x, y in zip(out, ref))
    print("machine: %s, %d CPUs, Python %s" % (platform.processor() or platform.machine(),
                                               os.cpu_count(), platform.python_version()))
    print("traces: %d x 120,000 samples, forum chain, device %s" % (a.traces, a.device))
    print("ObsPy loop:        %.4f s/trace" % t_obspy)
    print("Pipeline.process:  %.4f s/trace" % t_sb)
    print("ratio:             %.1fx" % (t_obspy / t_sb))
    print("worst rel L2 vs ObsPy: %.1e" % worst)


if __name__ == "__main__":
    main()

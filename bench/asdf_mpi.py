#!/usr/bin/env python
"""pyasdf's ``process()`` on its MPI path (issue #29), for bench/asdf_mpi.sh: run under
``mpirun -n N`` with an h5py built against parallel HDF5 (Debian's python3-h5py-mpi; PyPI's
h5py is serial). Rank 0 writes the same data set as bench/asdf_process.py (same seed), every
rank takes part in pyasdf's scheme (rank 0 hands out stations, the others process them) with
the same function; rank 0 prints the seconds. The data set is written before mpirun by
bench/asdf_mpi.sh (bench/asdf_process.py's `make`, the same seed): pyasdf opens every file
collectively under MPI, so one rank cannot write it alone.

usage: mpirun -n 2 python bench/asdf_mpi.py --stations 48 --work DIR   (DIR/in.h5 exists)"""
import argparse
import os
import sys
import time

from mpi4py import MPI

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pyasdf  # noqa: E402
from asdf_process import chain  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, default=24)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    comm = MPI.COMM_WORLD
    src = os.path.join(a.work, "in.h5")
    out = os.path.join(a.work, "mpi.h5")
    import h5py
    assert h5py.get_config().mpi, "h5py without MPI: pyasdf would not take its MPI path"
    comm.Barrier()
    t = time.perf_counter()
    ds = pyasdf.ASDFDataSet(src, mode="r")
    assert ds.mpi is not None, "pyasdf did not take its MPI path"
    ds.process(chain, out, {"raw_recording": "processed"})
    del ds
    comm.Barrier()
    s = time.perf_counter() - t
    if comm.rank == 0:
        with pyasdf.ASDFDataSet(out, mode="r", mpi=False) as d:
            n = len(d.waveforms.list())
        print(f"{'pyasdf process(), mpirun -n %d' % comm.size:45s} {s:8.2f} s  "
              f"{s / a.stations * 1000:8.1f} ms/station  ({n} stations written)")


if __name__ == "__main__":
    main()

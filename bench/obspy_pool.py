#!/usr/bin/env python
"""The ObsPy 1.5.1 forum chain as a seismologist parallelises it: multiprocessing.Pool with
one worker per core (or WORKERS), one event folder per task (read the event's StationXML
once, process and write each trace as SAC), imap_unordered. Prints traces, seconds and the
worker count as JSON. Same chain and output names as bench/obspy_loop.py.

usage: python bench/obspy_pool.py INPUT_TREE OUTPUT_DIR [WORKERS=os.cpu_count()]
"""
import glob
import json
import multiprocessing
import os
import sys
import time
import warnings


def event(args):
    import obspy

    warnings.simplefilter("ignore")
    path, dst = args
    inv = obspy.Inventory()
    for x in sorted(glob.glob(os.path.join(path, "resp", "*.xml"))):
        inv += obspy.read_inventory(x)
    out = os.path.join(dst, os.path.basename(path))
    os.makedirs(out, exist_ok=True)
    n = 0
    for f in sorted(glob.glob(os.path.join(path, "raw", "*.mseed"))):
        for tr in obspy.read(f):
            tr.detrend("demean")
            tr.taper(0.05, "hann")
            tr.remove_response(inv, output="DISP", pre_filt=(0.001, 0.005, 4.9, 5.0),
                               water_level=0, zero_mean=False, taper=False)
            tr.interpolate(10, "lanczos", a=25, npts=12000)
            name = "%s__%s__%s.sac" % (tr.id, tr.stats.starttime.strftime("%Y%m%dT%H%M%SZ"),
                                       tr.stats.endtime.strftime("%Y%m%dT%H%M%SZ"))
            tr.write(os.path.join(out, name), format="SAC")
            n += 1
    return n


if __name__ == "__main__":
    src, dst = sys.argv[1], sys.argv[2]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
    events = [(e, dst) for e in sorted(glob.glob(os.path.join(src, "*")))]
    t0 = time.perf_counter()
    # The pool's start-up (forking, importing ObsPy in each worker) is part of what a user
    # waits for, so it is inside the timing.
    with multiprocessing.Pool(workers) as pool:
        n = sum(pool.imap_unordered(event, events))
    print(json.dumps({"traces": n, "seconds": time.perf_counter() - t0, "workers": workers}))

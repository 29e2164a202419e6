#!/usr/bin/env python
"""The ObsPy 1.5.1 forum chain as a seismologist parallelises it: multiprocessing.Pool with
one worker per core (or WORKERS), one event folder per task (bench/obspy_chain.py: the same
work as bench/obspy_loop.py), imap_unordered. Prints traces, seconds and the worker count as
JSON.

usage: python bench/obspy_pool.py INPUT_TREE OUTPUT_DIR [WORKERS=os.cpu_count()]
"""
import glob
import json
import multiprocessing
import os
import sys
import time

from obspy_chain import forum_event


def event(args):
    return forum_event(*args)


if __name__ == "__main__":
    src, dst = sys.argv[1], sys.argv[2]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
    events = [(e, dst) for e in sorted(glob.glob(os.path.join(src, "*")))]
    t0 = time.perf_counter()
    # The pool's start-up (forking, each worker's ObsPy) is part of what a user waits for,
    # so it is inside the timing.
    with multiprocessing.Pool(workers) as pool:
        n = sum(pool.imap_unordered(event, events))
    print(json.dumps({"traces": n, "seconds": time.perf_counter() - t0, "workers": workers}))

#!/usr/bin/env python
"""The ObsPy 1.5.1 loop seisbatch replaces: the forum chain over a MassDownloader tree,
one trace at a time in one process, writing SAC (bench/obspy_chain.py). Prints traces and
seconds as JSON.

usage: python bench/obspy_loop.py INPUT_TREE OUTPUT_DIR
"""
import glob
import json
import os
import sys
import time

from obspy_chain import forum_event

src, dst = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
n = sum(forum_event(e, dst) for e in sorted(glob.glob(os.path.join(src, "*"))))
print(json.dumps({"traces": n, "seconds": time.perf_counter() - t0}))

#!/usr/bin/env python
"""The ObsPy 1.5.1 loop seisbatch replaces: the forum chain over a MassDownloader tree,
one trace at a time in one process, writing SAC. Prints traces and seconds as JSON.

usage: python bench/obspy_loop.py INPUT_TREE OUTPUT_DIR
"""
import glob
import json
import os
import sys
import time
import warnings

import obspy

warnings.simplefilter("ignore")
src, dst = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
n = 0
for event in sorted(glob.glob(os.path.join(src, "*"))):
    inv = obspy.Inventory()
    for x in sorted(glob.glob(os.path.join(event, "resp", "*.xml"))):
        inv += obspy.read_inventory(x)
    out = os.path.join(dst, os.path.basename(event))
    os.makedirs(out, exist_ok=True)
    for f in sorted(glob.glob(os.path.join(event, "raw", "*.mseed"))):
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
print(json.dumps({"traces": n, "seconds": time.perf_counter() - t0}))

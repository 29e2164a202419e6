#!/usr/bin/env python
"""Compares two output trees file by file (same relative names): relative L2 per trace.
usage: python bench/compare_sac.py DIR_A DIR_B   (exit 1 if a file is missing or differs > 1e-6)
"""
import glob
import os
import sys

import numpy as np
import obspy

a, b = sys.argv[1], sys.argv[2]
worst, count = 0.0, 0
for fa in sorted(glob.glob(os.path.join(a, "**", "*.sac"), recursive=True)):
    fb = os.path.join(b, os.path.relpath(fa, a))
    if not os.path.exists(fb):
        print("missing in", b, ":", os.path.relpath(fa, a))
        sys.exit(1)
    ta, tb = obspy.read(fa)[0], obspy.read(fb)[0]
    assert ta.stats.starttime == tb.stats.starttime and ta.stats.npts == tb.stats.npts
    err = np.linalg.norm(ta.data - tb.data) / np.linalg.norm(ta.data)
    worst, count = max(worst, err), count + 1
print(f"{count} traces compared, worst relative L2 {worst:.2e}")
sys.exit(0 if count and worst <= 1e-6 else 1)

"""A synthetic archive for the ambient-noise benchmark (issue #27): STATIONS stations XX.S00..
of one HHZ channel at RATE Hz over DAYS UTC days, day files of int32 counts in Steim2, 4096-byte
records; station k records a common noise source k * 0.5 s late plus noise of its own.
usage: python3 bench/make_noise_archive.py OUT STATIONS DAYS RATE"""
import os
import sys

import numpy as np
import obspy
from obspy import UTCDateTime

out, nsta, days, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
n = 86400 * rate
for d in range(days):
    t0 = UTCDateTime(2020, 1, 1) + 86400 * d
    rng = np.random.default_rng(d)
    pad = int(0.5 * rate * nsta) + 1
    src = rng.normal(0, 1000, n + pad)
    for k in range(nsta):
        lag = int(round(0.5 * rate * k))
        x = src[pad - lag:pad - lag + n] + np.random.default_rng(1000 * d + k).normal(0, 300, n)
        tr = obspy.Trace(np.round(x).astype(np.int32))
        tr.stats.network, tr.stats.station, tr.stats.channel = "XX", "S%02d" % k, "HHZ"
        tr.stats.sampling_rate = float(rate)
        tr.stats.starttime = t0
        p = os.path.join(out, "XX.S%02d..HHZ.D.%d.%03d" % (k, t0.year, t0.julday))
        os.makedirs(out, exist_ok=True)
        tr.write(p, format="MSEED", encoding="STEIM2", reclen=4096)

"""A synthetic SDS archive for the continuous-archive benchmarks (issue #26): DAYS UTC days of
GR.FUR..HH[ZNE] at 100 Hz (8.64 million samples a day, Steim2, 4096-byte records, as SeisComP
writes day files), counts with a 1/f-like background and a few transients, and GR.FUR's
StationXML from ObsPy's example inventory.
usage: python3 bench/make_sds.py OUT DAYS"""
import os
import sys

import numpy as np
import obspy
from obspy import UTCDateTime

out, days = sys.argv[1], int(sys.argv[2])
sds = os.path.join(out, "sds")
os.makedirs(out, exist_ok=True)
obspy.read_inventory().select(network="GR", station="FUR").write(
    os.path.join(out, "GR.FUR.xml"), format="STATIONXML")
n = 8_640_000
for d in range(days):
    t0 = UTCDateTime(2020, 1, 1) + 86400 * d
    for k, cha in enumerate(("HHZ", "HHN", "HHE")):
        rng = np.random.default_rng(1000 * d + k)
        x = np.cumsum(rng.normal(0, 30, n))
        x -= np.convolve(x, np.ones(2001) / 2001, mode="same")  # keep it near zero
        x += rng.normal(0, 50, n)
        tr = obspy.Trace(np.round(x).astype(np.int32))
        tr.stats.network, tr.stats.station, tr.stats.channel = "GR", "FUR", cha
        tr.stats.sampling_rate = 100.0
        tr.stats.starttime = t0
        p = os.path.join(sds, str(t0.year), "GR", "FUR", cha + ".D",
                         "GR.FUR..%s.D.%d.%03d" % (cha, t0.year, t0.julday))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        tr.write(p, format="MSEED", encoding="STEIM2", reclen=4096)

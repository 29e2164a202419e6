#!/usr/bin/env python3
"""N one-minute 20 Hz Steim2 traces, one per file (a station's channels over many
one-minute windows): input files whose processing is next to nothing, so a run over them is
its per-trace fixed costs (bench/fixed_costs.sh). Deterministic (seeded).

usage: python3 bench/tiny_tree.py OUT [N=2000]
"""
import os
import sys

import numpy as np
from obspy import Trace, UTCDateTime

out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(25)
t0 = UTCDateTime("2024-03-01T00:00:00Z")
for k in range(n):
    tr = Trace(rng.integers(-5000, 5000, 1200).astype(np.int32))
    tr.stats.network, tr.stats.station, tr.stats.channel = "XX", f"S{k % 50:03d}", "BHZ"
    tr.stats.sampling_rate = 20.0
    tr.stats.starttime = t0 + 60 * (k // 50)
    name = f"{tr.id}__{tr.stats.starttime.strftime('%Y%m%dT%H%M%SZ')}.mseed"
    tr.write(os.path.join(out, name), format="MSEED", encoding="STEIM2", reclen=4096)

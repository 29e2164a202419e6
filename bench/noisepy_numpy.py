"""What a NoisePy user runs instead of `seisbatch correlate` (issue #27's benchmark): NoisePy's
S1 functions, reproduced in numpy by tests/fixtures/make_noise.py (float64), over the archive of
bench/make_noise_archive.py: each station-day read with ObsPy, cut, normalised and whitened in a
multiprocessing Pool, then every pair correlated (xcorr, averaged per day) in the Pool.
Prints JSON: seconds of each phase, station-days, pair-windows, and one pair's day correlation
(station 0 and 1, day 1) for the comparison with seisbatch's.
usage: python3 bench/noisepy_numpy.py ARCHIVE CORES"""
import glob
import json
import multiprocessing
import os
import sys
import time

import numpy as np
import obspy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import make_noise as nm  # noqa: E402

# NoisePy's defaults (ConfigParameters) for a day chunk.
nm.HOURS, nm.CC_LEN, nm.STEP = 24, 1800.0, 450.0
nm.FREQMIN, nm.FREQMAX, nm.SMOOTH_N, nm.SMOOTHSPECT_N, nm.MAXLAG = 0.05, 2.0, 10, 10, 200.0


def station_day(path):
    tr = obspy.read(path)[0]
    nm.SPS = int(tr.stats.sampling_rate)
    nm.DT = 1.0 / nm.SPS
    data = tr.data.astype(np.float64)[: nm.SPS * 86400]
    std, _, seg = nm.cut_trace_make_stat(data, 0.0)
    keep = np.where((std < 10) & (std > 0))[0]
    spec = nm.spectra(seg[keep], "rma", nm.SMOOTH_N)
    nfft = spec.shape[1]
    return os.path.basename(path), keep, spec[:, : nfft // 2], nfft, nm.SPS


def pair(args):
    (a, b, nfft) = args
    nm.SPS, nm.DT = a[4], 1.0 / a[4]
    common = np.intersect1d(a[1], b[1])
    sa = a[2][np.searchsorted(a[1], common)]
    sb = b[2][np.searchsorted(b[1], common)]
    sfft1 = nm.smooth_source_spect("xcorr", sa.reshape(sa.size)).reshape(sa.shape)
    c, _ = nm.correlate(sfft1, sb, nfft, "xcorr", False)
    return c[0], len(common)


def main():
    archive, cores = sys.argv[1], int(sys.argv[2])
    files = sorted(glob.glob(os.path.join(archive, "*")))
    days = sorted({f.rsplit(".", 1)[1] for f in files})
    out = {"station_days": 0, "pair_windows": 0, "seconds_spectra": 0.0, "seconds_pairs": 0.0}
    with multiprocessing.Pool(cores) as pool:
        for day in days:
            t = time.time()
            st = pool.map(station_day, [f for f in files if f.endswith("." + day)])
            out["seconds_spectra"] += time.time() - t
            out["station_days"] += len(st)
            t = time.time()
            nfft = st[0][3]
            jobs = [(st[i], st[j], nfft) for i in range(len(st)) for j in range(i + 1, len(st))]
            res = pool.map(pair, jobs)
            out["seconds_pairs"] += time.time() - t
            out["pair_windows"] += sum(r[1] for r in res)
            if day == days[0]:
                np.asarray(res[0][0], dtype="<f8").tofile(os.path.join(archive, "..", "numpy_pair01.f64"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()

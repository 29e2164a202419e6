#!/usr/bin/env bash
# Issue #27's CPU measurements, side by side on this machine: `seisbatch correlate` against
# NoisePy's S1 functions in numpy (bench/noisepy_numpy.py, a multiprocessing Pool of one
# worker per core) over the same synthetic archive (bench/make_noise_archive.py: STATIONS
# stations, DAYS days at RATE Hz), NoisePy's defaults (cc_len 1800, step 450, freq_norm rma,
# xcorr, maxlag 200); station-days and pair-windows per second of each phase, peak RSS per
# station-day, and one pair's day correlation compared (relative L2).
# Needs python3 with obspy==1.5.1 and scipy.
# usage: bench/noise_vs_numpy.sh [STATIONS=8] [DAYS=2] [RATE=20]
set -euo pipefail
cd "$(dirname "$0")/.."
nsta=${1:-8}; days=${2:-2}; rate=${3:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
python3 bench/make_noise_archive.py "$work/arch" "$nsta" "$days" "$rate"
cores=$(nproc)
printf 'freq_norm = "rma"\ncc_method = "xcorr"\n' > "$work/noise.toml"
numpy=$( { /usr/bin/time -f "%M" python3 bench/noisepy_numpy.py "$work/arch" "$cores"; } 2>"$work/np.rss" )
sb_wall=$( { /usr/bin/time -f "%e %M" target/release/seisbatch correlate "$work/noise.toml" \
  --input "$work/arch" --output "$work/cc" --quiet; } 2>&1 )
python3 - "$work" "$numpy" "$sb_wall" "$(cat "$work/np.rss")" "$nsta" "$days" <<'PY'
import glob, json, sys
import numpy as np
import obspy
work, numpy, sb_wall, np_rss, nsta, days = sys.argv[1:7]
n = json.loads(numpy)
s = json.load(open(work + "/cc/correlate.json"))
wall, rss_kb = sb_wall.split()
sd = int(nsta) * int(days)
print("numpy Pool: %.2f station-days/s, %.0f pair-windows/s (%.1f + %.1f s), peak RSS of the parent %s KB"
      % (n["station_days"] / n["seconds_spectra"], n["pair_windows"] / n["seconds_pairs"],
         n["seconds_spectra"], n["seconds_pairs"], np_rss))
print("seisbatch:  %.2f station-days/s, %.0f pair-windows/s (%.1f + %.1f s; wall %s s), peak RSS %.0f MB = %.0f MB per station-day of a chunk"
      % (s["channel_chunks"] / s["seconds_spectra"], s["pair_windows"] / s["seconds_pairs"],
         s["seconds_spectra"], s["seconds_pairs"], wall, int(rss_kb) / 1e3, int(rss_kb) / 1e3 / int(nsta)))
got = obspy.read(glob.glob(work + "/cc/2020*/XX.S00._XX.S01./ZZ.sac")[0])[0].data.astype(float)
want = np.fromfile(work + "/numpy_pair01.f64")
print("pair S00-S01 day 1 against numpy: rel L2 %.2e (seisbatch's SAC is float32)"
      % (np.linalg.norm(got - want) / np.linalg.norm(want)))
PY

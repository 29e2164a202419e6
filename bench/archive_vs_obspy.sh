#!/usr/bin/env bash
# Issue #26's measurements, side by side in one run on this machine, over a synthetic SDS
# archive of DAYS days of GR.FUR..HH[ZNE] at 100 Hz (bench/make_sds.py: 8.64 million samples per
# day trace, Steim2 day files in 4096-byte records):
# - the index build rate (`seisbatch index`), warm page cache, and cold where the page cache can
#   be dropped (root);
# - day traces per second through the day-long noise chain (bench/chains/noise_day.toml) on the
#   CPU path (`run --segment 86400`) against what a user runs instead: ObsPy 1.5.1's SDS client +
#   the same chain in a multiprocessing Pool, one (channel, day) per task, one worker per core
#   (bench/obspy_sds_pool.py); every output checked against ObsPy's;
# - peak RSS per input sample of the traces in flight, with --jobs 1 and all cores.
# Needs python3 with obspy==1.5.1.  usage: bench/archive_vs_obspy.sh [DAYS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
sb=target/release/seisbatch
python3 bench/make_sds.py "$work" "$days"
cores=$(nproc)
gb=$(du -sb "$work/sds" | cut -f1)
files=$(find "$work/sds" -type f | wc -l)
cold=""
if [ -w /proc/sys/vm/drop_caches ]; then
  sync; echo 3 > /proc/sys/vm/drop_caches
  cold=$( { /usr/bin/time -f %e "$sb" index "$work/sds" --output "$work/cold.parquet" --quiet; } 2>&1 )
fi
"$sb" index "$work/sds" --output "$work/warm0.parquet" --quiet
warm=$( { /usr/bin/time -f %e "$sb" index "$work/sds" --output "$work/warm.parquet" --quiet; } 2>&1 )
again=$( { /usr/bin/time -f %e "$sb" index "$work/sds" --output "$work/warm.parquet" --quiet; } 2>&1 )
pool=$(python3 bench/obspy_sds_pool.py "$work" "$work/pool" "$cores")
run() { # seconds, then the run's report
  rm -rf "$work/sb"
  { /usr/bin/time -f %e "$sb" run bench/chains/noise_day.toml --catalog "$work/warm.parquet" \
      --inventory "$work/GR.FUR.xml" --segment 86400 --output "$work/sb" --device cpu --quiet "$@"; } 2>&1
}
t_n=$(run)
rss_n=$(python3 -c "import json;print(json.load(open('$work/sb/report.json'))['peak_rss_bytes'])")
python3 bench/compare_sac.py "$work/pool" "$work/sb"
t_1=$(run --jobs 1)
rss_1=$(python3 -c "import json;print(json.load(open('$work/sb/report.json'))['peak_rss_bytes'])")
python3 - "$pool" "$t_n" "$t_1" "$rss_n" "$rss_1" "$cores" "$gb" "$files" "$warm" "$again" "$cold" <<'PY'
import json, sys
pool = json.loads(sys.argv[1])
tn, t1, rn, r1 = map(float, sys.argv[2:6])
cores, gb, files, warm, again = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]), float(sys.argv[9]), float(sys.argv[10])
cold = sys.argv[11]
n = pool["traces"]
npts = 8_640_001
print(f"archive: {files} day files, {gb/1e6:.1f} MB; {n} day traces of 8.64 M samples; {cores} cores")
print(f"index, warm cache:  {warm:6.2f} s  {files/warm:8.1f} files/s  {gb/warm/1e9:6.2f} GB/s")
if cold:
    c = float(cold)
    print(f"index, cold cache:  {c:6.2f} s  {files/c:8.1f} files/s  {gb/c/1e9:6.2f} GB/s")
print(f"index again, nothing changed: {again:6.2f} s")
pp = pool["seconds"] / n
print(f"ObsPy 1.5.1 SDS client + chain, Pool({pool['workers']}): {pp:7.2f} s/day trace")
print(f"seisbatch --segment 86400, all {cores} cores:   {tn/n:7.2f} s/day trace  {pp/(tn/n):5.1f}x the Pool  peak RSS {rn/1e9:5.2f} GB")
print(f"seisbatch --jobs 1:                         {t1/n:7.2f} s/day trace  peak RSS {r1/1e9:5.2f} GB = {r1/npts:5.0f} B/input sample")
print(f"peak RSS all cores per input sample in flight (x{cores} traces): {rn/(cores*npts):5.0f} B")
PY

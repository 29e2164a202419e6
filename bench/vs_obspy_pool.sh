#!/usr/bin/env bash
# Issue #25's comparison, side by side in one run on this machine: what a user runs instead
# of seisbatch (ObsPy 1.5.1's forum chain in a multiprocessing.Pool with one worker per core,
# one event folder per task: bench/obspy_pool.py; and ObsPy's single loop: bench/obspy_loop.py)
# against seisbatch on all cores and with --jobs 1, over one MassDownloader tree with real
# responses whose traces differ in length from event to event (bench/real_tree.py VARY=1: 71
# channels of ObsPy's test StationXML, N events). Checks every output against ObsPy's, prints
# ms per trace and the ratios. Needs python3 with obspy==1.5.1.
# usage: bench/vs_obspy_pool.sh [N_EVENTS=4] [RUNS=1]
#   RUNS > 1 repeats the seisbatch runs and keeps the fastest (ObsPy runs once: minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-4}
runs=${2:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
python3 bench/real_tree.py "$work/in" "$n" 1
cores=$(nproc)
pool=$(python3 bench/obspy_pool.py "$work/in" "$work/pool" "$cores")
loop=$(python3 bench/obspy_loop.py "$work/in" "$work/loop")
best() { # fastest of $runs runs of seisbatch with the given extra arguments
  local b=""
  for _ in $(seq "$runs"); do
    rm -rf "$work/sb"
    local t
    t=$( { /usr/bin/time -f %e target/release/seisbatch run examples/forum_chain.toml \
      --input "$work/in" --output "$work/sb" --quiet "$@"; } 2>&1 )
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(0 if $t < $b else 1)"; then b=$t; fi
  done
  echo "$b"
}
t_n=$(best)
python3 bench/compare_sac.py "$work/pool" "$work/sb"
t_1=$(best --jobs 1)
python3 - "$pool" "$loop" "$t_n" "$t_1" "$cores" <<'PY'
import json, sys
pool, loop = json.loads(sys.argv[1]), json.loads(sys.argv[2])
n = pool["traces"]
assert loop["traces"] == n
pp, pl = pool["seconds"] / n, loop["seconds"] / n
sn, s1 = float(sys.argv[3]) / n, float(sys.argv[4]) / n
c = sys.argv[5]
print(f"traces: {n} (lengths differ per event), {c} cores")
print(f"ObsPy 1.5.1 Pool({pool['workers']}), one event per task: {pp*1e3:9.2f} ms/trace")
print(f"ObsPy 1.5.1 loop, 1 process:             {pl*1e3:9.2f} ms/trace")
print(f"seisbatch, all {c} cores:                 {sn*1e3:9.2f} ms/trace   {pp/sn:6.1f}x the Pool, {pl/sn:6.1f}x the loop")
print(f"seisbatch --jobs 1:                      {s1*1e3:9.2f} ms/trace   {pl/s1:6.1f}x the loop")
PY

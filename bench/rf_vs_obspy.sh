#!/usr/bin/env bash
# Side by side on this machine: ObsPy 1.5.1's receiver-function preparation
# (bench/rf_obspy_loop.py) vs `seisbatch run examples/receiver_function.toml`, over N copies
# of the bundled example event (GR.FUR HH[ZNE], 20 minutes at 100 Hz) with an events CSV.
# Checks that the outputs agree (bench/compare_sac.py), prints seconds per trace and ratios.
# Needs python3 with obspy==1.5.1.   usage: bench/rf_vs_obspy.sh [N_EVENTS=20]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
cargo build --release --quiet
echo "folder,time,latitude,longitude,depth_km" > "$work/events.csv"
for i in $(seq -w 1 "$n"); do
  cp -r examples/data/event_2014-01-01 "$work/in/event_$i"
  echo "event_$i,2014-01-01T00:02:00Z,35.5,139.25,40" >> "$work/events.csv"
done
obspy_json=$(python3 bench/rf_obspy_loop.py "$work/in" "$work/events.csv" "$work/obspy")
run() {
  { /usr/bin/time -f %e target/release/seisbatch run examples/receiver_function.toml \
      --input "$work/in" --events "$work/events.csv" --output "$work/$1" --format sac \
      --device cpu --quiet "${@:2}"; } 2>&1
}
t_sb1=$(run sb1 --jobs 1)
t_sbn=$(run sbn)
python3 bench/compare_sac.py "$work/obspy" "$work/sb1"
python3 - "$obspy_json" "$t_sb1" "$t_sbn" "$(nproc)" <<'PY'
import json, sys
o = json.loads(sys.argv[1]); t1, tn, cores = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
n = o["traces"]
print(f"traces: {n}")
print(f"ObsPy loop:            {o['seconds'] / n:.4f} s/trace")
print(f"seisbatch --jobs 1:    {t1 / n:.4f} s/trace  ({o['seconds'] / t1:.1f}x)")
print(f"seisbatch ({cores} jobs):   {tn / n:.4f} s/trace  ({o['seconds'] / tn:.1f}x)")
PY

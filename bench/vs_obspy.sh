#!/usr/bin/env bash
# Side by side on this machine: ObsPy 1.5.1's single-process loop vs seisbatch on the forum
# chain, over a `seisbatch synth` data set: N events x 4 stations x 3 components of 20-minute
# traces at 20, 40, 100 and 200 Hz (the stations take the rates in turn), or with
# SOURCE=example over N copies of the bundled example event (3 x 20-minute 100 Hz traces), or
# with SOURCE=real over N events of every seismic channel of ObsPy's test StationXML with
# their real responses (bench/real_tree.py: 71 channels, each response used N times).
# Checks that the outputs agree, prints seconds per trace for both and the ratio.
# Needs python3 with obspy==1.5.1 (pip install obspy==1.5.1).
# usage: bench/vs_obspy.sh [N_EVENTS=20]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
cargo build --release --quiet
if [ "${SOURCE:-synth}" = example ]; then
  for i in $(seq -w 1 "$n"); do cp -r examples/data/event_2014-01-01 "$work/in/event_$i"; done
elif [ "${SOURCE:-synth}" = real ]; then
  python3 bench/real_tree.py "$work/in" "$n" >/dev/null 2>&1
else
  target/release/seisbatch synth --output "$work/in" --events "$n" --stations 4 \
    --duration 1200 --rates 20,40,100,200 --seed 1
fi
obspy_json=$(python3 bench/obspy_loop.py "$work/in" "$work/obspy")
t_sb1=$( { /usr/bin/time -f %e target/release/seisbatch run examples/forum_chain.toml --input "$work/in" --output "$work/sb1" --jobs 1 --quiet; } 2>&1 )
t_sbn=$( { /usr/bin/time -f %e target/release/seisbatch run examples/forum_chain.toml --input "$work/in" --output "$work/sbn" --quiet; } 2>&1 )
python3 bench/compare_sac.py "$work/obspy" "$work/sb1"
python3 - "$obspy_json" "$t_sb1" "$t_sbn" "$(nproc)" <<'PY'
import json, sys
o = json.loads(sys.argv[1]); n = o["traces"]
po, p1, pn = o["seconds"] / n, float(sys.argv[2]) / n, float(sys.argv[3]) / n
print(f"traces: {n}")
print(f"ObsPy 1.5.1 loop (1 process):     {po*1e3:9.2f} ms/trace")
print(f"seisbatch --jobs 1:               {p1*1e3:9.2f} ms/trace   ({po/p1:6.1f}x)")
print(f"seisbatch (all {sys.argv[4]} cores):          {pn*1e3:9.2f} ms/trace   ({po/pn:6.1f}x)")
PY

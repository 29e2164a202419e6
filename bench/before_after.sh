#!/usr/bin/env bash
# Two seisbatch builds side by side in one session: `seisbatch bench --devices cpu` of each,
# alternately, ROUNDS times, on the same `seisbatch synth` data; prints each run's traces/s and
# wall seconds and the medians. For "no speed regression" checks (docs/BENCHMARKS.md).
#
# usage: bench/before_after.sh OLD_BINARY NEW_BINARY [PIPELINE=examples/forum_chain.toml] [ROUNDS=5]
# Data: SYNTH_ARGS (default: 10 events x 6 stations x 3 components of 20 minutes at 20-200 Hz).
set -euo pipefail
old=$1 new=$2
root=$(cd "$(dirname "$0")/.." && pwd)
pipeline=${3:-$root/examples/forum_chain.toml}
rounds=${4:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086
"$new" synth --output "$work/data" ${SYNTH_ARGS:---events 10 --stations 6 --duration 1200 --seed 3} >/dev/null
for i in $(seq "$rounds"); do
  for which in old new; do
    bin=$old; [ "$which" = new ] && bin=$new
    "$bin" bench "$pipeline" --input "$work/data" --devices cpu --json "$work/$which-$i.json" >/dev/null
  done
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
med = {}
for which in ("old", "new"):
    rows = [json.load(open(f"{work}/{which}-{i}.json"))[0] for i in range(1, rounds + 1)]
    tps = sorted(r["traces_per_second"] for r in rows)
    wall = sorted(r["wall_seconds"] for r in rows)
    med[which] = statistics.median(tps)
    print(f"{which}: traces/s {' '.join(f'{t:.1f}' for t in tps)}  median {med[which]:.1f};"
          f" wall s {' '.join(f'{w:.2f}' for w in wall)}; ok {rows[0]['ok']} failed {rows[0]['failed']};"
          f" peak RSS MiB {rows[0]['peak_rss_mib']}")
print(f"new / old (median traces/s): {med['new'] / med['old']:.3f}")
PY

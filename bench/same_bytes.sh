#!/usr/bin/env bash
# Byte-identical outputs of two seisbatch binaries on the CPU path (issue #13's "no behaviour
# change"): the bundled example and `seisbatch synth` data, through the example chains and a
# chain with every stage (bench/chains/every_stage.toml), as SAC and as miniSEED; the
# receiver-function chain (rotate, origin-relative trim) with examples/events.csv.
#
# usage: bench/same_bytes.sh OLD_BINARY NEW_BINARY
# Build the old one from a worktree: git worktree add /tmp/old <commit> &&
#   (cd /tmp/old && CARGO_TARGET_DIR=/tmp/oldtarget cargo build --release)
# Exit 0 when every output file (report.json, the journal and run.json aside: they hold
# times) is the same bytes; 1 with the first differences listed.
set -euo pipefail
old=$1 new=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$new" synth --output "$work/synth" --events 2 --stations 4 --duration 1200 --bad-fraction 0.05 --seed 7 >/dev/null
status=0
for input in "$root/examples/data" "$work/synth"; do
  for chain in "$root/examples/forum_chain.toml" "$root/examples/velocity_bandpass.toml" "$root/bench/chains/every_stage.toml" "$root/examples/receiver_function.toml"; do
    extra=()
    case "$chain" in *receiver_function*) extra=(--events "$root/examples/events.csv") ;; esac
    for format in sac mseed; do
      tag="$(basename "$input")-$(basename "$chain" .toml)-$format"
      for which in old new; do
        bin=$old; [ "$which" = new ] && bin=$new
        "$bin" run "$chain" --input "$input" --output "$work/$which-$tag" --device cpu \
          --format "$format" --quiet "${extra[@]}" || [ $? -eq 3 ]
      done
      a="$work/old-$tag" b="$work/new-$tag"
      list() { (cd "$1" && find . -type f ! -name 'report*.json' ! -path './.seisbatch/*' | sort); }
      if ! diff <(list "$a") <(list "$b") >/dev/null; then
        echo "DIFFER $tag: different file lists"; diff <(list "$a") <(list "$b") | head; status=1; continue
      fi
      n=0 bad=0
      while read -r f; do
        n=$((n + 1))
        cmp -s "$a/$f" "$b/$f" || { bad=$((bad + 1)); [ $bad -le 3 ] && echo "  differs: $tag $f"; }
      done < <(list "$a")
      # The reports must agree on what failed and why.
      ra=$(python3 -c "import json,sys;r=json.load(open(sys.argv[1]));print(r['ok'],r['failed'],sorted(f['reason'] for f in r['failures']))" "$a/report.json")
      rb=$(python3 -c "import json,sys;r=json.load(open(sys.argv[1]));print(r['ok'],r['failed'],sorted(f['reason'] for f in r['failures']))" "$b/report.json")
      [ "$ra" = "$rb" ] || { echo "  report differs: $tag: $ra vs $rb"; bad=$((bad + 1)); }
      if [ $bad -eq 0 ]; then echo "same   $tag: $n files"; else echo "DIFFER $tag: $bad of $n"; status=1; fi
    done
  done
done
exit $status

#!/usr/bin/env bash
# Usage: bash fuzz/run.sh [SECONDS] [TARGET...]
# Runs the named fuzz targets (default: all four, at once) for SECONDS each (default 600),
# seeded from the test corpus. Crashes and leaks land in fuzz/artifacts/<target>/; each becomes a
# regression test (tests/). Leak detection is on (the reader frees what the mseed crate leaked
# on a refused record: src/read/mseed.rs parse_record).
# Needs: rustup toolchain install nightly; cargo install cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(mseed_to_traces stationxml_response pipeline_file steim_vs_libmseed)
mkdir -p fuzz/corpus/mseed_to_traces fuzz/corpus/stationxml_response fuzz/corpus/pipeline_file \
  fuzz/corpus/steim_vs_libmseed
# steim_vs_libmseed reads a file after a leading even byte.
for f in $(find tests/fixtures/corpus/mseed -type f ! -name '*.md') $(find examples/data -name '*.mseed'); do
  seed=fuzz/corpus/steim_vs_libmseed/$(basename "$f")
  [ -e "$seed" ] || { printf '\0' >"$seed"; cat "$f" >>"$seed"; }
done
cp -n $(find tests/fixtures/corpus/mseed -type f ! -name '*.md') fuzz/corpus/mseed_to_traces/ 2>/dev/null || true
cp -n examples/data/*/resp/*.xml fuzz/corpus/stationxml_response/ 2>/dev/null || true
cp -n examples/*.toml bench/*.toml fuzz/corpus/pipeline_file/ 2>/dev/null || true
# The whole output of each target is kept in fuzz/artifacts/<target>.log (a finding is then
# diagnosable after the fact); the last lines are printed.
run() {
  mkdir -p fuzz/artifacts
  cargo +nightly fuzz run "$1" "fuzz/corpus/$1" -- -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout=10 >"fuzz/artifacts/$1.log" 2>&1 || true
  tail -n 4 "fuzz/artifacts/$1.log" | sed "s/^/$1: /"
}
for t in "${targets[@]}"; do run "$t" & done
wait

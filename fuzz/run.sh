#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), seeded from the test corpus, all three
# at once. Crashes land in fuzz/artifacts/<target>/; each becomes a regression test (tests/).
# Leak detection is off: the mseed crate (0.7.1) leaks libmseed's record struct (168 bytes)
# when MSRecord::parse fails, which the first run found (docs/RELIABILITY.md); it would stop
# every run at once.
# Needs: rustup toolchain install nightly; cargo install cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
mkdir -p fuzz/corpus/mseed_to_traces fuzz/corpus/stationxml_response fuzz/corpus/pipeline_file
cp -n $(find tests/fixtures/corpus/mseed -type f ! -name '*.md') fuzz/corpus/mseed_to_traces/ 2>/dev/null || true
cp -n examples/data/*/resp/*.xml fuzz/corpus/stationxml_response/ 2>/dev/null || true
cp -n examples/*.toml bench/*.toml fuzz/corpus/pipeline_file/ 2>/dev/null || true
run() {
  cargo +nightly fuzz run "$1" "fuzz/corpus/$1" -- -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout=10 -detect_leaks=0 2>&1 | tail -n 4 | sed "s/^/$1: /"
}
run mseed_to_traces & run stationxml_response & run pipeline_file & wait

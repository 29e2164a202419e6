#!/usr/bin/env bash
# examples/noise: from nothing to the array's stacked correlations in one command.
#   bash examples/noise/run.sh [OUT]     (default noise_out; cargo, and a Python with numpy and
#   ObsPy: PYTHON=/path/to/venv/bin/python if python3 has none)
# makes the synthetic array (make_array.py), then
#   seisbatch correlate examples/noise/noise.toml --input OUT/archive \
#       --inventory OUT/stations.xml --output OUT/cc
# and the notebook examples/noise/moveout.ipynb plots OUT/cc/stack by distance.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-noise_out}"
"${PYTHON:-python3}" "$here/make_array.py" "$out"
rm -rf "$out/cc"
cargo run --release --quiet -- correlate "$here/noise.toml" --input "$out/archive" \
    --inventory "$out/stations.xml" --output "$out/cc"

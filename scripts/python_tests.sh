#!/usr/bin/env bash
# The Python package's tests (issue #17), as a user gets the package: build the abi3 wheel
# (one wheel for CPython >= 3.9) with maturin, install it into a fresh venv with the test
# dependencies (pytest, ObsPy 1.5.1, dask, pyarrow and pandas for the catalogs, moto's S3 server
# and boto3 for the object-storage tests, which start the server on 127.0.0.1; pyasdf 0.8.2 for
# the ASDF round trips), run
# python/tests. The tests compare against the
# CLI binary the cargo tests built (target/debug/seisbatch), or $SEISBATCH_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/build"
"$work/build/bin/pip" install -q "maturin>=1.5,<2"
# The wheel is built in the dev profile (opt-level 1, as the cargo tests) into the cargo tests'
# target/: what they compiled (HDF5 and libmseed from source, wgpu, arrow) is reused, where a
# release build compiled it all again (CI's longest step). The code is the same; `pip install .`
# builds the release profile. SEISBATCH_WHEEL_RELEASE=1 tests that one instead.
profile=()
[ "${SEISBATCH_WHEEL_RELEASE:-0}" = 1 ] && profile=(--release)
CARGO_TARGET_DIR="$PWD/target" "$work/build/bin/maturin" build "${profile[@]}" --quiet --out "$work/wheels"
wheel=$(ls "$work"/wheels/seisbatch-*-cp39-abi3-*.whl)
echo "python_tests: built $(basename "$wheel")"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel" pytest "obspy==1.5.1" "dask[bag,distributed]" pyarrow pandas \
    "moto[server]==5.2.*" boto3 "pyasdf==0.8.2"
cd python/tests
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider

#!/usr/bin/env bash
# Installs what seisbatch needs on a fresh Debian machine with rustup, and nothing twice:
#   libclang-dev            bindgen for libmseed (the `mseed` crate builds libmseed from source)
#   mesa-vulkan-drivers,    lavapipe, the software Vulkan driver the GPU tests run on (issue #3)
#   libvulkan1
#   openmpi-bin             mpirun for the launcher test (tests/cluster.rs, issue #5)
#   chromium               headless Chromium for the QC report's browser test (tests/qc_report.rs,
#                           issue #30); without its recommended packages
#   python3-venv            the Python package's tests, in a fresh venv (when python3 lacks venv),
#                           and CMake >= 3.26 from PyPI when the system's is older (below)
# Run as root, or as a user with sudo.
set -euo pipefail
need=()
for p in libclang-dev mesa-vulkan-drivers libvulkan1 pkg-config openmpi-bin; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
# python3 with venv and pip for the Python package's tests (scripts/python_tests.sh).
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need+=(python3 python3-venv python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! dpkg -s chromium >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  [ ${#need[@]} -gt 0 ] || $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  # rustup puts cargo here; a fresh shell may not have it on PATH yet.
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust with rustup first" >&2; exit 1; }

# ASDF is in every build (issue #29): hdf5-metno-src compiles HDF5 from source with CMake >= 3.26,
# and Debian 12 ships 3.25. Then PyPI's cmake goes into .tools/cmake (ignored by git) and
# .cargo/config.toml points cargo's build scripts at it (the cmake crate reads $CMAKE).
cmake_ok() {
  "$1" --version 2>/dev/null | awk 'NR==1 { split($3, v, "."); exit !(v[1] > 3 || (v[1] == 3 && v[2] >= 26)) }'
}
root=$(cd "$(dirname "$0")/.." && pwd)
if ! cmake_ok cmake && ! cmake_ok "$root/.tools/cmake/bin/cmake"; then
  python3 -m venv "$root/.tools/cmake"
  "$root/.tools/cmake/bin/pip" install -q "cmake>=3.26,<5"
fi
if ! cmake_ok cmake; then
  if [ ! -e "$root/.cargo/config.toml" ]; then
    mkdir -p "$root/.cargo"
    printf '%s\n' '# Written by scripts/setup.sh: CMake >= 3.26 for HDF5 (the system has an older one).' \
      '[env]' 'CMAKE = { value = ".tools/cmake/bin/cmake", relative = true }' > "$root/.cargo/config.toml"
  elif ! grep -q 'tools/cmake' "$root/.cargo/config.toml"; then
    echo "setup: add CMAKE = { value = \".tools/cmake/bin/cmake\", relative = true } to [env] in .cargo/config.toml (HDF5 needs CMake >= 3.26)" >&2
    exit 1
  fi
fi

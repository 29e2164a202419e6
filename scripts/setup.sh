#!/usr/bin/env bash
# Installs what seisbatch needs on a fresh Debian machine with rustup, and nothing twice:
#   libclang-dev            bindgen for libmseed (the `mseed` crate builds libmseed from source)
#   mesa-vulkan-drivers,    lavapipe, the software Vulkan driver the GPU tests run on (issue #3)
#   libvulkan1
#   openmpi-bin             mpirun for the launcher test (tests/cluster.rs, issue #5)
#   libhdf5-dev             the `asdf` feature (--format asdf) that the tests build
#   python3-venv            the Python package's tests, in a fresh venv (when python3 lacks venv)
# Run as root, or as a user with sudo.
set -euo pipefail
need=()
for p in libclang-dev mesa-vulkan-drivers libvulkan1 pkg-config openmpi-bin libhdf5-dev; do
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
if ! command -v cargo >/dev/null 2>&1; then
  # rustup puts cargo here; a fresh shell may not have it on PATH yet.
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust with rustup first" >&2; exit 1; }

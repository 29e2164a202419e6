#!/usr/bin/env bash
# pyasdf's process() with mpirun beside its multiprocessing path and seisbatch's
# process_dataset (issue #29), one run, the same data set (same seed) and cores.
# Needs: /tmp/venv as for bench/asdf_process.py, and an MPI venv whose h5py is parallel:
#   apt-get install python3-h5py-mpi python3-mpi4py openmpi-bin
#   python3 -m venv --system-site-packages /tmp/mpivenv
#   /tmp/mpivenv/bin/pip install obspy==1.5.1 pyasdf==0.8.2 "numpy<2"
#   /tmp/mpivenv/bin/pip uninstall -y h5py      # keep Debian's MPI build
# usage: bash bench/asdf_mpi.sh [STATIONS] [MINUTES] [RANKS]
set -euo pipefail
cd "$(dirname "$0")/.."
stations=${1:-48} minutes=${2:-60} ranks=${3:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/tmp/venv/bin/python bench/asdf_process.py --stations "$stations" --minutes "$minutes" --workers "$ranks"
(cd bench && /tmp/venv/bin/python -c "from asdf_process import make; make('$work/in.h5', $stations, $minutes)")
# pyasdf's rank 0 hands out stations and processes none: -n RANKS+1 gives RANKS workers (one
# process more than cores, as a user would start it).
for n in "$ranks" $((ranks + 1)); do
  rm -f "$work/mpi.h5"
  mpirun --allow-run-as-root --oversubscribe -n "$n" /tmp/mpivenv/bin/python bench/asdf_mpi.py \
    --stations "$stations" --work "$work" 2>&1 | grep "ms/station"
done

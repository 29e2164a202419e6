#!/bin/bash
# One Slurm job, many tasks started by srun (MPI-style ranks; no MPI library is used):
# `--shard auto` reads SLURM_PROCID/SLURM_NTASKS. Add --resume to the srun line to finish a
# job that was cut short. After it: seisbatch report out
# Submit:  sbatch examples/cluster/slurm_srun.sh
#SBATCH --job-name=seisbatch
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=2
#SBATCH --cpus-per-task=16
#SBATCH --time=02:00:00
set -euo pipefail
srun seisbatch run examples/forum_chain.toml --input data --output out \
  --shard auto --jobs "${SLURM_CPUS_PER_TASK}" --quiet
seisbatch report out

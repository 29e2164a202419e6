#!/bin/bash
# GPU nodes, one process per GPU: srun starts a task per GPU; `--gpu-index auto` gives each
# task the GPU of its SLURM_LOCALID (Vulkan sees every GPU of the node whatever
# CUDA_VISIBLE_DEVICES says, so the index is what picks it; `seisbatch adapters` shows the
# order) and `--shard auto` its share of the inputs (SLURM_PROCID of SLURM_NTASKS). With
# per-task binding (--gpus-per-task=1 and ConstrainDevices) a task sees its GPU alone: give
# --gpu-index 0 instead. After it: seisbatch report out (traces per device in each report).
# Submit:  sbatch examples/cluster/slurm_gpu.sh
#SBATCH --job-name=seisbatch-gpu
#SBATCH --nodes=2
#SBATCH --gres=gpu:4
#SBATCH --ntasks-per-node=4
#SBATCH --cpus-per-task=8
#SBATCH --time=02:00:00
set -euo pipefail
seisbatch adapters # the first node's GPUs, in --gpu-index order
srun seisbatch run examples/forum_chain.toml --input data --output out \
  --device gpu --gpu-index auto --shard auto --jobs "${SLURM_CPUS_PER_TASK}" --quiet
seisbatch report out

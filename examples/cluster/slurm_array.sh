#!/bin/bash
# Slurm job array: 16 independent tasks, each processing 1/16 of the download (whole events,
# balanced by bytes). `--shard auto` reads SLURM_ARRAY_TASK_ID/MIN/COUNT. Pre-empted or failed
# tasks are simply resubmitted with the same command plus --resume (e.g. sbatch --array=3,7).
# Submit:  sbatch examples/cluster/slurm_array.sh
# Then:    sbatch --dependency=afterany:<jobid> --wrap "seisbatch report out"
#SBATCH --job-name=seisbatch
#SBATCH --array=0-15
#SBATCH --cpus-per-task=8
#SBATCH --mem=8G
#SBATCH --time=02:00:00
#SBATCH --output=seisbatch-%A_%a.log
set -euo pipefail
resume=()
# A re-run of a task (requeue, or a resubmitted index) finishes what its journal lacks.
[ -f "out/.seisbatch/journal.${SLURM_ARRAY_TASK_ID}-of-${SLURM_ARRAY_TASK_COUNT}.jsonl" ] && resume=(--resume)
seisbatch run examples/forum_chain.toml --input data --output out \
  --shard auto --jobs "${SLURM_CPUS_PER_TASK}" --quiet "${resume[@]}"

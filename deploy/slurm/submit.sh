#!/usr/bin/env bash
# Submits a sharded Spikify evaluation to Slurm: an array job (deploy/slurm/eval-array.sbatch, one task per
# shard) and a merge job (deploy/slurm/merge.sbatch) that runs only when every task succeeded
# (--dependency=afterok:<array job id>).
#
#   MODEL=snn.h5 DATA=test.h5 SHARDS=16 OUT=/shared/reports deploy/slurm/submit.sh
#
# Environment (defaults in brackets):
#   SPIKIFY       spikify binary [spikify on PATH]; resolved to an absolute path here
#   MODEL, DATA   converted model and HDF5 data set (required); made absolute here
#   OUT           report directory on storage all nodes see [./spikify-reports]; made absolute
#   SHARDS        array size = number of shards [4]
#   TIMESTEPS     [64]      BATCH_SIZE [16]      EVAL_ARGS  extra eval options, space-separated [none]
#   MAX_PARALLEL  at most this many tasks at once (--array=…%K) [no limit]
#   CPUS_PER_TASK cores per shard (also OPENBLAS_NUM_THREADS) [1]
#   SBATCH_ARGS   extra sbatch options for both jobs, space-separated (e.g. "--partition=cpu --time=02:00:00")
#   REPORT        merged report [$OUT/report.json]
# Output: progress on stderr; on stdout one line "<array job id> <merge job id>" for scripts.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${MODEL:?set MODEL to the converted model (spikify convert --out)}"
: "${DATA:?set DATA to the HDF5 data set}"
SHARDS=${SHARDS:-4}
SPIKIFY=${SPIKIFY:-spikify}
OUT=${OUT:-spikify-reports}
CPUS_PER_TASK=${CPUS_PER_TASK:-1}
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || { echo "submit: error: SHARDS must be a positive integer, got '$SHARDS'" >&2; exit 1; }
command -v sbatch >/dev/null || { echo "submit: error: sbatch not found (is this a Slurm login node?)" >&2; exit 1; }

abs() { if [[ "$1" = /* ]]; then printf '%s\n' "$1"; else printf '%s/%s\n' "$PWD" "$1"; fi; }
if [[ "$SPIKIFY" == */* ]]; then SPIKIFY=$(abs "$SPIKIFY"); else SPIKIFY=$(command -v "$SPIKIFY") || { echo "submit: error: '$SPIKIFY' is not on PATH; set SPIKIFY to the binary" >&2; exit 1; }; fi
[[ -x "$SPIKIFY" ]] || { echo "submit: error: SPIKIFY=$SPIKIFY is not executable" >&2; exit 1; }
for f in "$MODEL" "$DATA"; do [[ -f "$f" ]] || { echo "submit: error: $f not found" >&2; exit 1; }; done
MODEL=$(abs "$MODEL"); DATA=$(abs "$DATA"); OUT=$(abs "$OUT")
REPORT=$(abs "${REPORT:-$OUT/report.json}")
mkdir -p "$OUT"
export SPIKIFY MODEL DATA OUT SHARDS REPORT TIMESTEPS="${TIMESTEPS:-64}" BATCH_SIZE="${BATCH_SIZE:-16}" EVAL_ARGS="${EVAL_ARGS:-}"
read -r -a extra <<<"${SBATCH_ARGS:-}"

array_id=$(sbatch --parsable --export=ALL --chdir="$OUT" --array="0-$((SHARDS - 1))${MAX_PARALLEL:+%$MAX_PARALLEL}" \
  --cpus-per-task="$CPUS_PER_TASK" --output="$OUT/slurm-eval-%A_%a.out" "${extra[@]}" "$here/eval-array.sbatch")
array_id=${array_id%%;*}   # --parsable prints "id" or "id;cluster"
merge_id=$(sbatch --parsable --export=ALL --chdir="$OUT" --dependency="afterok:$array_id" --kill-on-invalid-dep=yes \
  --output="$OUT/slurm-merge-%j.out" "${extra[@]}" "$here/merge.sbatch")
merge_id=${merge_id%%;*}
echo "submitted array job $array_id ($SHARDS shards) and merge job $merge_id (afterok:$array_id); merged report: $REPORT" >&2
echo "$array_id $merge_id"

#!/usr/bin/env bash
# The GPU check in one command, for a fresh CUDA machine (H100/H200) that has
# python3 with CUDA torch and Triton but no network and no OpenMMLab
# packages. It installs mmengine, mmdet, mmpretrain, mmpose and their
# missing dependencies from a folder of wheels, builds mmcv 2.1.0 with its
# CUDA ops from source (not timed yet; limit 300 s) and xtcocotools (for
# mmpose), then runs
#   1. the CUDA variants of the test suite (pytest -k cuda: the `device`
#      fixture's cuda runs, the compiled Triton kernels against the torch
#      path, the 2-GPU NCCL test where two GPUs are present),
#   2. benchmark_losses.py --device cuda (31.4 M logits with 1,000 and 4,000
#      positives, 38.4 M with 2,000; mmcv's fused focal, eager focal, the
#      torch path, the Triton path once wired, the per-positive loop),
#   3. benchmark_gpu_train_iter.py (RetinaNet R-50 FPN, 8 x 512^2: focal,
#      AP, aLRP; RS-ATSS),
# and prints the summary last. Each stage has a time limit; the limits add
# up to 615 s (the run time itself has not been measured: the check has not
# run on a GPU yet); logs go to $OUT (or /tmp/device_check).
#
# Prepare the wheel folder once, on a machine that reaches the registry:
#   bash tools/analysis_tools/prepare_device_wheels.sh .whl
# then run this from the repository root on the GPU machine, with .whl/
# beside it (the project's device tool: command
# `bash tools/analysis_tools/device_check.sh`, carry ['.whl'],
# timeout_s 600).
set -uo pipefail
WHEELS=${WHEELS:-.whl}
SITE=${SITE:-/tmp/site}
LOGS=${OUT:-/tmp/device_check}
mkdir -p "$LOGS" "$SITE"
export PYTHONUNBUFFERED=1
SUMMARY=()
note() { SUMMARY+=("$1"); echo "[device_check] $1"; }

# stage NAME LIMIT_S LOG COMMAND...: run with a time limit, log, note result.
stage() {
  local name=$1 limit=$2 log=$3 start=$SECONDS rc
  shift 3
  timeout "$limit" "$@" >"$LOGS/$log" 2>&1
  rc=$?
  note "$name: exit $rc in $((SECONDS - start)) s (log $LOGS/$log)"
  return $rc
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
  | sed 's/^/[device_check] gpu: /'
stage 'install wheels' 30 install.log python3 -m pip install \
  --disable-pip-version-check --no-index --no-deps --no-compile \
  --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl || exit 1
export PYTHONPATH="$SITE:$PWD"
if ! stage 'build mmcv 2.1.0 (CUDA ops, sm_90)' 300 mmcv_build.log \
    env MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=16 \
    python3 -m pip install --disable-pip-version-check --no-index \
    --no-deps --no-build-isolation --no-cache-dir --target "$SITE" \
    "$WHEELS"/mmcv-2.1.0.tar.gz; then
  tail -40 "$LOGS/mmcv_build.log"
  exit 1
fi
stage 'build xtcocotools 1.14.3' 60 xtcocotools_build.log python3 -m pip \
  install --disable-pip-version-check --no-index --no-deps \
  --no-build-isolation --no-cache-dir --target "$SITE" \
  "$WHEELS"/xtcocotools-1.14.3.tar.gz
python3 -c 'import torch, triton, mmcv.ops, mmdet, mmrank
print("[device_check] torch", torch.__version__, "triton", triton.__version__,
      "mmcv", mmcv.__version__, "mmdet", mmdet.__version__,
      "GPUs", torch.cuda.device_count())' || exit 1

stage 'CUDA tests (pytest -k cuda)' 75 pytest.log python3 -m pytest tests \
  -k cuda -q -rfEs -p no:cacheprovider --continue-on-collection-errors
note "tests: $(grep -E '(passed|failed|error)' "$LOGS/pytest.log" | tail -1)"
stage 'loss benchmark' 90 losses.md python3 \
  tools/analysis_tools/benchmark_losses.py --device cuda --loop-budget 10
stage 'training-iteration benchmark' 60 train_iter.md \
  python3 tools/analysis_tools/benchmark_gpu_train_iter.py --device cuda

echo
echo '==================== device check summary ===================='
printf '%s\n' "${SUMMARY[@]}"
grep -E '^(FAILED|ERROR)' "$LOGS/pytest.log" | head -20
echo
cat "$LOGS/losses.md"
echo
cat "$LOGS/train_iter.md"

#!/usr/bin/env bash
# The GPU check in one command, for a fresh CUDA machine (H100/H200) whose
# python3 has CUDA torch and Triton but no network and no OpenMMLab packages
# (README.md "Tested environments"). From the carried wheel folder it installs
# mmengine, mmcv, mmdet, mmpretrain, mmpose and their missing dependencies
# with pip --target, then runs, each stage under a time limit (they add to
# 540 s), the stages that need no mmcv ops first:
#   1. imports, mmrank first (transformers 5 is installed there and mmrank
#      must load mmpretrain: see mmrank.utils.host_compat)
#   2. the ranking core's CUDA tests: Triton kernels compiled for the GPU
#      against the torch path (pytest -k cuda on tests/test_core)
#   3. benchmark_losses.py --device cuda (mmcv's fused focal loss is skipped
#      when mmcv has no CUDA ops)
#   4. mmcv's CUDA ops: kept when the carried mmcv wheel has them, else built
#      from the carried sdist (TORCH_CUDA_ARCH_LIST=9.0, MAX_JOBS=16)
#   5. the other CUDA tests (heads, hooks, metrics; pytest -k cuda)
#   6. benchmark_gpu_train_iter.py (RetinaNet R-50 FPN, 8 x 512^2: focal, AP,
#      aLRP, RS-ATSS)
# and prints the summary last. Logs go to $OUT (or /tmp/device_check).
#
#   bash tools/analysis_tools/device_check.sh              # on the GPU machine
#   bash tools/analysis_tools/device_check.sh --rehearse   # on CPU, replica
#
# --rehearse runs every stage on the CPU of the Python 3.12 replica of that
# machine (tools/gpu_replica/rehearse_device_check.sh sets it up): the same
# install, the cpu variants of the same tests (Triton through its
# interpreter), and the benchmarks on small CPU cases; stage 4 keeps the
# carried mmcv as it is. Prepare the folder once where the registry is
# reachable (tools/gpu_replica/build.sh; README.md "GPU path"), copy it to
# .whl/, and on the device machine run this from the repository root with
# carry ['.whl'] and timeout_s 600.
set -uo pipefail
MODE=device
[ "${1:-}" = --rehearse ] && MODE=rehearse
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
  note "$name: exit $rc in $((SECONDS - start)) s (log $log)"
  return $rc
}

if [ "$MODE" = device ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
    | sed 's/^/[device_check] gpu: /'
  SELECT=cuda; BENCH=(--device cuda --loop-budget 10)
  ITER=(--device cuda)
else
  export TRITON_INTERPRET=1
  # the cpu variants of the `device` fixture's tests (the names that merely
  # contain "cpu" are other tests)
  SELECT='cpu and not cpu_config and not cpu_processes'; BENCH=(--device cpu --cases cpu_200k_p100 --repeats 1 --loop-budget 5 --threads 2)
  ITER=(--device cpu --batch 1 --size 256 --iters 1 --warmup 1)
fi
note "mode $MODE, wheels $WHEELS ($(du -sh "$WHEELS" | cut -f1))"

stage 'install wheels' 30 install.log python3 -m pip install \
  --disable-pip-version-check --no-index --no-deps --no-compile \
  --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl || exit 1
export PYTHONPATH="$SITE:$PWD"
stage 'imports' 30 imports.log python3 -c 'import mmrank, torch, triton, transformers, mmcv, mmdet, mmpose, mmpretrain
print("torch", torch.__version__, "triton", triton.__version__,
      "transformers", transformers.__version__, "mmcv", mmcv.__version__,
      "mmdet", mmdet.__version__, "GPUs", torch.cuda.device_count())'
cat "$LOGS/imports.log"

PYTEST=(python3 -m pytest -q -rfEs -p no:cacheprovider -k "$SELECT")
stage 'ranking core tests' 75 core_tests.log "${PYTEST[@]}" tests/test_core
stage 'loss benchmark' 80 losses.md python3 \
  tools/analysis_tools/benchmark_losses.py "${BENCH[@]}"

mmcv_cuda() {
  python3 -c 'import sys, torch, mmcv.ops
b = torch.tensor([[0., 0., 1., 1.]], device="cuda"); s = torch.ones(1, device="cuda")
sys.exit(len(mmcv.ops.nms(b, s, 0.5)[1]) != 1)' >/dev/null 2>&1
}
if [ "$MODE" = rehearse ]; then
  note "mmcv: the carried wheel as it is (no GPU here to run CUDA ops)"
elif mmcv_cuda; then
  note "mmcv: the carried wheel has CUDA ops"
else
  stage 'build mmcv 2.1.0 (CUDA ops, sm_90)' 200 mmcv_build.log \
    env MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=16 \
    python3 -m pip install --disable-pip-version-check --no-index \
    --no-deps --no-build-isolation --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELS"/mmcv-2.1.0.tar.gz || tail -20 "$LOGS/mmcv_build.log"
fi
stage 'other tests' 75 tests.log "${PYTEST[@]}" tests --ignore=tests/test_core
stage 'training-iteration benchmark' 50 train_iter.md \
  python3 tools/analysis_tools/benchmark_gpu_train_iter.py "${ITER[@]}"

echo
echo '==================== device check summary ===================='
printf '%s\n' "${SUMMARY[@]}"
for log in core_tests.log tests.log; do
  echo "$log: $(grep -E '(passed|failed|error)' "$LOGS/$log" | tail -1)"
  grep -E '^(FAILED|ERROR)' "$LOGS/$log" | head -10
done
echo
cat "$LOGS/losses.md"
echo
cat "$LOGS/train_iter.md"

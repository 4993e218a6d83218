#!/usr/bin/env bash
# Build, on a CPU machine that reaches the package registry, a replica of the
# GPU machine's Python stack (requirements/gpu_image.txt; the machine itself
# is described in README.md "Tested environments"), so that the suite and the
# device check can be rehearsed before a GPU is lent. Idempotent: a step whose
# inputs are unchanged is skipped.
#
#   bash tools/gpu_replica/build.sh               # mmcv with CPU ops
#   bash tools/gpu_replica/build.sh --mmcv-cuda   # mmcv with CUDA ops too
#
# Layout under $MMRANK_REPLICA (default ~/.cache/mmrank/gpu-replica):
#   venv/    Python 3.12 (pyenv's, or $PYTHON312) holding the GPU image's
#            packages: torch 2.11.0 (the registry's CUDA 13.0 build, which runs
#            on the CPU), triton 3.6.0, numpy 2.5.2, transformers 5.17.0, ...
#   wheels/  the folder the device check carries as .whl/: the OpenMMLab
#            wheels of tools/analysis_tools/prepare_device_wheels.sh, plus mmcv
#            2.1.0 and xtcocotools built here against the venv's torch and
#            numpy. mmcv has CPU ops (about 15 minutes on 2 cores), or with
#            --mmcv-cuda also CUDA ops for sm_90 (the H100/H200), compiled
#            without a GPU by nvcc 13.0 from the registry's nvidia-cuda-*
#            packages (cuda/ holds that toolkit); that wheel runs on the CPU
#            too and replaces the CPU-ops one.
# The OpenMMLab packages are not installed into the venv: like the device
# check, tools/gpu_replica/run_tests.sh installs wheels/ with pip --target.
set -euo pipefail
MMCV_CUDA=0
[ "${1:-}" = --mmcv-cuda ] && MMCV_CUDA=1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
R=${MMRANK_REPLICA:-$HOME/.cache/mmrank/gpu-replica}
IMAGE="$ROOT/requirements/gpu_image.txt"
mkdir -p "$R"

python312() {
  if [ -n "${PYTHON312:-}" ]; then echo "$PYTHON312"; return; fi
  local root
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  local found
  found=$(ls -d "$root"/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V | tail -1)
  if [ -n "$found" ]; then echo "$found"; return; fi
  command -v python3.12 || { echo "[gpu_replica] no Python 3.12 found: set PYTHON312" >&2; exit 1; }
}

# 1. The venv with the image's packages.
VPY="$R/venv/bin/python"
STAMP="$R/venv/.gpu_image.sha256"
WANT=$(sha256sum "$IMAGE" | cut -d' ' -f1)
if [ ! -x "$VPY" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  "$(python312)" -m venv "$R/venv"
  "$VPY" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VPY" -m pip install --disable-pip-version-check -r "$IMAGE"
  echo "$WANT" >"$STAMP"
fi
"$VPY" -c 'import sys, torch, triton, numpy, transformers
print("[gpu_replica] python", sys.version.split()[0], "torch", torch.__version__,
      "triton", triton.__version__, "numpy", numpy.__version__,
      "transformers", transformers.__version__)'

# 2. The carried wheel folder: downloads, then the two compiled packages.
W="$R/wheels"
PYTHON="$VPY" bash "$ROOT/tools/analysis_tools/prepare_device_wheels.sh" "$W" >/dev/null
if [ "$MMCV_CUDA" = 1 ] && [ ! -e "$W/.mmcv_cuda_sm90" ]; then
  bash "$ROOT/tools/gpu_replica/build_mmcv_cuda.sh" "$VPY" "$R" "$W"
fi
if ! ls "$W"/mmcv-2.1.0-cp312-*.whl >/dev/null 2>&1; then
  echo "[gpu_replica] building mmcv 2.1.0 with CPU ops (about 15 minutes on 2 cores)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "$VPY" -m pip wheel -q \
    --disable-pip-version-check --no-deps --no-build-isolation -w "$W" \
    "$W/mmcv-2.1.0.tar.gz"
fi
if ! ls "$W"/xtcocotools-1.14.3-cp312-*.whl >/dev/null 2>&1; then
  "$VPY" -m pip wheel -q --disable-pip-version-check --no-deps \
    --no-build-isolation -w "$W" "$W/xtcocotools-1.14.3.tar.gz"
fi
echo "[gpu_replica] ready: $R ($(du -sh "$W" | cut -f1) of wheels)"

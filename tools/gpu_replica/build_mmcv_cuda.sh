#!/usr/bin/env bash
# mmcv 2.1.0 with CUDA ops for sm_90, compiled on a machine without a GPU
# against the replica's torch 2.11.0+cu130 (called by build.sh --mmcv-cuda):
#   build_mmcv_cuda.sh VENV_PYTHON REPLICA_DIR WHEEL_DIR
# The CUDA 13.0 toolkit is put together from the registry's nvidia-cuda-*
# packages (nvcc, cccl, runtime headers at 13.0, matching torch's CUDA and the
# GPU machine's nvcc) and torch's own CUDA libraries. The wheel's debug
# sections are stripped (the carried folder must stay within 64 MiB); then
# its extension must import on this CPU machine and hold sm_90 code.
set -euo pipefail
VPY=$1 R=$2 W=$3
CUDA="$R/cuda"
PKGS="$R/cuda_pkgs"
if [ ! -x "$CUDA/bin/nvcc" ]; then
  rm -rf "$CUDA" "$PKGS"
  mkdir -p "$CUDA"
  "$VPY" -m pip install -q --disable-pip-version-check --target "$PKGS" \
    nvidia-cuda-nvcc==13.0.88 nvidia-cuda-cccl==13.0.85 \
    'nvidia-cuda-runtime==13.0.*' 'nvidia-cuda-crt==13.0.*' \
    'nvidia-nvvm==13.0.*'
  # cuobjdump (to check the sm_90 code) has no 13.0 release there
  "$VPY" -m pip install -q --disable-pip-version-check --no-deps \
    --target "$PKGS/cuobjdump" nvidia-cuda-cuobjdump==13.2.51
  TORCH_CUDA=$("$VPY" -c 'import os, nvidia; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')
  mkdir -p "$CUDA/lib64"
  cp -rs "$PKGS"/nvidia/cu13/* "$CUDA"/
  ln -s "$PKGS"/cuobjdump/nvidia/cu13/bin/cuobjdump "$CUDA"/bin/cuobjdump
  cp -rsn "$TORCH_CUDA"/include/* "$CUDA"/include/
  cp -rsn "$TORCH_CUDA"/lib/* "$CUDA"/lib64/
  ln -sf libcudart.so.13 "$CUDA/lib64/libcudart.so"
fi
"$CUDA/bin/nvcc" --version | tail -1
OUT=$(mktemp -d)
echo "[gpu_replica] building mmcv 2.1.0 with CUDA ops for sm_90 (about 40 minutes on 2 cores)"
CUDA_HOME="$CUDA" MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=9.0 \
  MAX_JOBS=${MAX_JOBS:-2} "$VPY" -m pip wheel -q --disable-pip-version-check \
  --no-deps --no-build-isolation --no-cache-dir -w "$OUT" "$W/mmcv-2.1.0.tar.gz"
# Strip the debug sections of the extension inside the wheel.
(cd "$OUT" && mkdir x && cd x && "$VPY" -m zipfile -e ../mmcv-*.whl . \
  && strip --strip-debug mmcv/_ext*.so && rm ../mmcv-*.whl \
  && "$VPY" -m wheel pack . -d .. >/dev/null)
SO_CHECK=$(mktemp -d)
"$VPY" -m pip install -q --disable-pip-version-check --no-index --no-deps \
  --target "$SO_CHECK" "$OUT"/mmcv-*.whl "$W"/mmengine-*.whl \
  "$W"/addict-*.whl "$W"/yapf-*.whl "$W"/termcolor-*.whl "$W"/platformdirs-*.whl
"$CUDA/bin/cuobjdump" --list-elf "$SO_CHECK"/mmcv/_ext*.so | grep -m1 sm_90
PYTHONPATH="$SO_CHECK" "$VPY" -c 'import torch, mmcv.ops
b = torch.tensor([[0., 0., 2., 2.], [0., 0., 2., 1.9]])
keep = mmcv.ops.nms(b, torch.tensor([0.9, 0.8]), 0.5)[1]
assert keep.tolist() == [0], keep
print("[gpu_replica] mmcv CUDA build imports and runs its CPU ops here")'
rm -rf "$SO_CHECK"
mkdir -p "$R/mmcv_cpu"
mv "$W"/mmcv-2.1.0-cp312-*.whl "$R/mmcv_cpu/" 2>/dev/null || true
mv "$OUT"/mmcv-*.whl "$W/"
touch "$W/.mmcv_cuda_sm90"
rm -rf "$OUT"
echo "[gpu_replica] mmcv with CUDA ops: $(du -h "$W"/mmcv-*.whl | cut -f1)"

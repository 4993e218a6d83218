#!/usr/bin/env bash
# Install the pinned stack into the current Python (idempotent: a no-op, in
# the ten seconds it takes to import the stack, when a working stack within
# mmrank's version ranges is already there), and this checkout of mmrank in
# editable mode. Every pin and work-around is explained in README.md.
set -euo pipefail
PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# An environment within mmrank's version ranges is accepted as it is
# (tools/check_deps.py); otherwise the pinned stack below is installed.
check() {
  "$PY" "$ROOT/tools/check_deps.py" 2>/dev/null
}

# mmrank itself must be this checkout (a second clone needs its own install).
mmrank_is_this_checkout() {
  (cd /tmp && "$PY" -c 'import mmrank, os, sys; sys.exit(os.path.dirname(os.path.realpath(mmrank.__file__)) != os.path.realpath(sys.argv[1]))' "$ROOT/mmrank") 2>/dev/null
}

if check; then
  mmrank_is_this_checkout || "$PY" -m pip install --disable-pip-version-check \
    -q --no-build-isolation --no-deps -e "$ROOT"
  exit 0
fi
echo "[install_deps] installing the pinned stack into $("$PY" -c 'import sys; print(sys.prefix)')"
PIP=("$PY" -m pip install --disable-pip-version-check)
CERT=$("$PY" -m pip config get global.cert 2>/dev/null || true)
CERT=${CERT:-/etc/ssl/certs/ca-certificates.crt}

# 1. torch: the registry's regular build. --isolated ignores the local
#    find-links folder whose CPU-only torch breaks torchvision's extension.
if ! "$PY" -c 'import torch, torchvision; assert torch.__version__.split("+")[0] == "2.13.0"' 2>/dev/null \
   || "$PY" -c 'import torch, sys; sys.exit("+cpu" not in torch.__version__)' 2>/dev/null; then
  "${PIP[@]}" --isolated --cert "$CERT" "torch==2.13.0" "torchvision==0.28.0"
fi

# 2. build tools: mmcv's setup.py imports pkg_resources (setuptools<70).
"${PIP[@]}" "setuptools<70" wheel ninja cython "numpy>=2"

# 3. mmcv with its CPU ops, built from source once (~13 min on 2 cores);
#    pip's wheel cache makes re-installs instant.
if ! "$PY" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' 2>/dev/null; then
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "${PIP[@]}" --no-build-isolation "mmcv==2.1.0"
fi

# 4. mmengine and mmdet with their declared dependencies.
"${PIP[@]}" "mmengine==0.10.7" "mmdet==3.3.0" pycocotools terminaltables

# 5. xtcocotools rebuilt from source against the installed numpy 2 (the
#    registry wheel is built for numpy 1.x); mmpose and mmpretrain without
#    their declared dependencies (chumpy cannot be built), then their real ones.
if ! "$PY" -c 'import xtcocotools.coco' 2>/dev/null; then
  "${PIP[@]}" --no-build-isolation --no-binary xtcocotools --force-reinstall --no-deps "xtcocotools==1.14.3"
fi
"${PIP[@]}" --no-deps "mmpose==1.3.2" "mmpretrain==1.2.0" "mlxtend==0.23.4"
"${PIP[@]}" json-tricks munkres scipy opencv-python pillow importlib-metadata mat4py einops modelindex rich pytest

# 6. mmrank itself, editable.
"${PIP[@]}" --no-build-isolation --no-deps -e "$ROOT"

{ check && mmrank_is_this_checkout; } || {
  echo "[install_deps] the stack is still incomplete after installing:" >&2
  "$PY" "$ROOT/tools/check_deps.py" || true; exit 1; }
echo "[install_deps] done"

#!/usr/bin/env bash
# The test suite in the replica of the GPU machine's Python stack (Python
# 3.12, torch 2.11.0, triton 3.6.0, numpy 2.5.2, transformers 5.17.0; built by
# tools/gpu_replica/build.sh, which this runs first), with the OpenMMLab
# packages installed from the carried wheel folder by pip --target, as the
# device check installs them. Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
R=${MMRANK_REPLICA:-$HOME/.cache/mmrank/gpu-replica}
bash "$ROOT/tools/gpu_replica/build.sh"
SITE="$R/site"
STAMP="$SITE/.wheels.sha256"
WANT=$(ls -l "$R"/wheels/*.whl | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  rm -rf "$SITE"
  "$R/venv/bin/python" -m pip install -q --disable-pip-version-check \
    --no-index --no-deps --no-compile --target "$SITE" "$R"/wheels/*.whl
  echo "$WANT" >"$STAMP"
fi
cd "$ROOT"
# python3 is the venv's (tools and tests start python3 and torchrun).
export PATH="$R/venv/bin:$PATH" PYTHONPATH="$SITE:$ROOT"
python3 -m pytest tests -q -p no:cacheprovider "$@"

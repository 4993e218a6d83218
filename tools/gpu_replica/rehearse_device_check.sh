#!/usr/bin/env bash
# Rehearse the GPU check on CPU: tools/analysis_tools/device_check.sh
# --rehearse in the replica of the GPU machine's Python stack, from the wheel
# folder the device check carries (built by tools/gpu_replica/build.sh, which
# this runs first), installed with pip --target into a fresh folder as on the
# device. Logs go to $OUT (or /tmp/device_check).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
R=${MMRANK_REPLICA:-$HOME/.cache/mmrank/gpu-replica}
bash "$ROOT/tools/gpu_replica/build.sh"
SITE=$(mktemp -d /tmp/device_check_site.XXXXXX)
trap 'rm -rf "$SITE"' EXIT
cd "$ROOT"
start=$SECONDS
PATH="$R/venv/bin:$PATH" WHEELS="$R/wheels" SITE="$SITE" \
  bash tools/analysis_tools/device_check.sh --rehearse
echo "[rehearse] wall time $((SECONDS - start)) s; carried folder $(du -sh "$R/wheels" | cut -f1)"

#!/usr/bin/env bash
# The test command: install what is missing (a no-op when installed), then
# run the whole suite on CPU. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
python3 -m pytest tests -q -p no:cacheprovider "$@"

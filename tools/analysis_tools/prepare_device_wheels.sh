#!/usr/bin/env bash
# Download, on a machine that reaches the package registry, what
# device_check.sh installs on a GPU machine that reaches none: the mmcv
# 2.1.0 source (built there against its torch and CUDA) and the wheels of
# mmengine, mmdet and the dependencies its image lacks, for CPython 3.12 on
# manylinux x86_64. No-deps downloads with pinned versions, so the folder
# holds one version of each (about 6 MiB).
#
#   bash tools/analysis_tools/prepare_device_wheels.sh [DIR]   # DIR: .whl
set -euo pipefail
DIR=${1:-.whl}
PY=${PYTHON:-python3}
PIP=("$PY" -m pip --disable-pip-version-check download --no-deps -d "$DIR")
"${PIP[@]}" --no-binary :all: mmcv==2.1.0
# setuptools<70: mmcv's setup.py imports pkg_resources.
"${PIP[@]}" --only-binary :all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 \
  mmengine==0.10.7 mmdet==3.3.0 addict==2.4.0 yapf==0.43.0 \
  platformdirs==4.3.6 termcolor==2.5.0 terminaltables==3.1.10 \
  pycocotools==2.0.8 shapely==2.0.6 setuptools==69.5.1
du -sh "$DIR"

#!/usr/bin/env bash
# Download, on a machine that reaches the package registry, what
# device_check.sh installs on a GPU machine that reaches none: the mmcv
# 2.1.0 source (built there against its torch and CUDA) and the wheels of
# mmengine, mmdet and the dependencies its image lacks, for CPython 3.12 on
# manylinux x86_64. No-deps downloads with pinned versions, so the folder
# holds one version of each (about 11 MiB).
#
#   bash tools/analysis_tools/prepare_device_wheels.sh [DIR]   # DIR: .whl
set -euo pipefail
DIR=${1:-.whl}
PY=${PYTHON:-python3}
PIP=("$PY" -m pip --disable-pip-version-check download --no-deps -d "$DIR")
# Sources built there: mmcv with its CUDA ops; xtcocotools (mmpose's COCO
# API) against the machine's numpy 2. pip runs an sdist's setup.py to read
# its metadata; mmcv's imports pkg_resources, which an isolated build
# environment's setuptools (>= 82) lacks, hence --no-build-isolation (the
# running Python's setuptools must be < 82, as torch >= 2.11 requires).
"${PIP[@]}" --no-build-isolation --no-binary :all: mmcv==2.1.0 xtcocotools==1.14.3
# setuptools<70: mmcv's setup.py imports pkg_resources. mmpose and
# mmpretrain (the Anchor Loss / UniLoss heads' tests) without chumpy.
"${PIP[@]}" --only-binary :all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 \
  mmengine==0.10.7 mmdet==3.3.0 addict==2.4.0 yapf==0.43.0 \
  platformdirs==4.3.6 termcolor==2.5.0 terminaltables==3.1.10 \
  pycocotools==2.0.8 shapely==2.0.6 setuptools==69.5.1 \
  mmpose==1.3.2 mmpretrain==1.2.0 json-tricks==3.17.3 munkres==1.1.4 \
  mat4py==0.6.0 model-index==0.1.11 ordered-set==4.1.0 \
  importlib-metadata==8.5.0 mlxtend==0.23.4
du -sh "$DIR"

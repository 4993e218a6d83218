"""Every shipped CPU config fixes its seed, so a rerun gives the same numbers.

CPU configs are those on the sets that ship with the repository or lie in
``../shared/data``: the digits and BCCD detection configs and everything
under a ``tiny/`` folder.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from .conftest import repo_path

CPU_CONFIGS = sorted(
    p for p in glob.glob(repo_path('configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and (osp.basename(osp.dirname(p)) == 'tiny' or any(
        key in osp.basename(p) for key in ('_digits', '_bccd'))))


def test_cpu_configs_found():
    assert len(CPU_CONFIGS) >= 30


@pytest.mark.parametrize(
    'path', CPU_CONFIGS, ids=lambda p: osp.relpath(p, repo_path('configs')))
def test_cpu_config_fixes_seed(path):
    cfg = Config.fromfile(path)
    assert cfg.get('randomness', {}).get('seed') == 0, path

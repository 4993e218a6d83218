"""The wheel, installed in a fresh venv, trains and tests outside a clone.

A copy of the source (its git-tracked kinds of files only) is built with
``pip wheel --no-deps --no-build-isolation``; the wheel is installed with
``--no-deps`` into a ``venv --system-site-packages`` (torch, mmcv, mmdet...
come from this python). From a folder outside the clone, a user config
inheriting ``mmrank::alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py`` is
trained for one epoch (2 iterations on the tiny digits set) by the
``mmrank-train`` console script and tested by ``mmrank-test``.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.test_tools.test_train_test_tools import data_options

#: What a source distribution holds (the rest of a clone is not needed).
SOURCE = ('setup.py', 'MANIFEST.in', 'README.md', 'LICENSE', 'requirements',
          'mmrank', 'configs', 'tools', 'model-index.yml')
BASE = 'alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py'


def _missing_build_tools() -> str:
    """Why the wheel cannot be built and installed here ('' if it can)."""
    for module in ('pip', 'setuptools', 'wheel', 'venv', 'ensurepip'):
        if importlib.util.find_spec(module) is None:
            return (f'the wheel test needs the {module!r} module in '
                    f'{sys.executable}')
    return ''


def _run(args, cwd, env=None, timeout=600) -> str:
    proc = subprocess.run([str(a) for a in args], cwd=str(cwd), env=env,
                          capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{args}\n{out[-5000:]}'
    return out


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the source."""
    reason = _missing_build_tools()
    if reason:
        pytest.skip(reason)
    src = tmp_path_factory.mktemp('src')
    ignore = shutil.ignore_patterns('__pycache__', '.mim', '*.egg-info')
    for name in SOURCE:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy(path, src / name)
    dist = tmp_path_factory.mktemp('dist')
    _run([sys.executable, '-m', 'pip', 'wheel', '.', '--no-deps',
          '--no-build-isolation', '-q', '-w', dist], cwd=src)
    wheels = list(dist.glob('mmrank-*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_configs_tools_and_scripts(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = {
        str(p.relative_to(REPO_ROOT))
        for top in ('configs', 'tools') for p in (REPO_ROOT / top).rglob('*')
        if p.is_file() and '__pycache__' not in p.parts
    } | {'model-index.yml'}
    assert {f'mmrank/.mim/{name}' for name in tracked} <= names
    entry_points = next(n for n in names if n.endswith('entry_points.txt'))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    for script in ('mmrank-train', 'mmrank-test', 'mmrank-image-demo',
                   'mmrank-eval-lrp', 'mmrank-seed-table'):
        assert f'{script} = mmrank.cli:' in text


def test_user_config_with_package_base_trains_and_tests(
        wheel, tmp_path, tiny_digits):
    venv = tmp_path / 'venv'
    _run([sys.executable, '-m', 'venv', '--system-site-packages', venv],
         cwd=tmp_path)
    bin_dir = venv / 'bin'
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    _run([bin_dir / 'python', '-m', 'pip', 'install', '--no-deps', '-q',
          wheel], cwd=tmp_path, env=env)
    user = tmp_path / 'user'
    user.mkdir()
    # The venv's mmrank, not a clone's (editable) one, is imported.
    where = _run([bin_dir / 'python', '-c',
                  'import mmrank; print(mmrank.__file__)'], user, env)
    assert str(venv) in where, where
    (user / 'my_alrp.py').write_text(
        f"_base_ = 'mmrank::{BASE}'\n"
        'train_cfg = dict(max_epochs=1)\n'
        "default_hooks = dict(checkpoint=dict(interval=1))\n")
    options = ['--cfg-options', *data_options(tiny_digits)]
    log = _run([bin_dir / 'mmrank-train', 'my_alrp.py', '--work-dir', 'work',
                *options], user, env)
    assert 'Epoch(train) [1][2/2]' in log
    assert 'Failed to search registry' not in log
    assert (user / 'work' / 'epoch_1.pth').is_file()
    log = _run([bin_dir / 'mmrank-test', 'my_alrp.py', 'work/epoch_1.pth',
                '--work-dir', 'test', *options], user, env)
    assert 'coco/bbox_mAP' in log and 'lrp/bbox_oLRP' in log

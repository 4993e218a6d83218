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
import site
import subprocess
import sys
import tarfile
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


def _printed(bin_dir: Path, code: str, cwd: Path, env: dict) -> str:
    """The last line ``code`` prints to stdout in the venv (its stderr may
    carry warnings, e.g. Python 3.12's SyntaxWarnings while compiling)."""
    proc = subprocess.run([str(bin_dir / 'python'), '-c', code], cwd=str(cwd),
                          env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


def _copy_source(src: Path) -> None:
    """Copy what a source distribution needs from the clone to ``src``."""
    ignore = shutil.ignore_patterns('__pycache__', '.mim', '*.egg-info')
    for name in SOURCE:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy(path, src / name)


def _build_wheel(src: Path, dist: Path) -> Path:
    _run([sys.executable, '-m', 'pip', 'wheel', '.', '--no-deps',
          '--no-build-isolation', '-q', '-w', dist], cwd=src)
    wheels = list(dist.glob('mmrank-*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the source."""
    reason = _missing_build_tools()
    if reason:
        pytest.skip(reason)
    src = tmp_path_factory.mktemp('src')
    _copy_source(src)
    return _build_wheel(src, tmp_path_factory.mktemp('dist'))


def test_wheel_from_the_sdist_carries_the_same_files(wheel, tmp_path):
    """An sdist holds mmrank/.mim (not the clone's folders); the wheel
    built from it has the same files."""
    src = tmp_path / 'src'
    src.mkdir()
    _copy_source(src)
    _run([sys.executable, 'setup.py', '-q', 'sdist', '-d', tmp_path / 'sd'],
         cwd=src)
    with tarfile.open(next((tmp_path / 'sd').glob('mmrank-*.tar.gz'))) as tar:
        tar.extractall(tmp_path / 'unpacked')
    unpacked = next((tmp_path / 'unpacked').glob('mmrank-*'))
    assert not (unpacked / 'configs').exists()
    from_sdist = _build_wheel(unpacked, tmp_path / 'dist')
    names = [set(zipfile.ZipFile(w).namelist()) for w in (wheel, from_sdist)]
    assert names[0] == names[1]


def test_console_scripts_name_existing_tools(monkeypatch, capsys):
    from mmrank import cli
    from mmrank.utils.package_configs import resources_root
    for script in cli.SCRIPTS.values():
        assert (Path(resources_root()) / 'tools' / script).is_file(), script
    monkeypatch.setattr(sys, 'argv', ['mmrank-plot-training', '--help'])
    with pytest.raises(SystemExit) as info:
        cli.plot_training()
    assert info.value.code == 0
    assert 'usage: plot_training.py' in capsys.readouterr().out


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


@pytest.fixture(scope='module')
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh ``venv --system-site-packages`` with the wheel installed.

    The packages of this python reach it through a ``.pth`` file as well:
    when this python is itself a venv (the GPU-machine replica), the new
    venv's system site is the base interpreter's, and the replica's
    OpenMMLab stack lies on PYTHONPATH, which the tools run without (no
    clone on the path).
    """
    root = tmp_path_factory.mktemp('venv')
    _run([sys.executable, '-m', 'venv', '--system-site-packages', root],
         cwd=root)
    site_dir = _printed(root / 'bin',
                        'import sysconfig; print(sysconfig.get_paths()'
                        '["purelib"])', root, _env())
    Path(site_dir, 'parent_packages.pth').write_text(
        '\n'.join(_parent_package_lines()) + '\n')
    _run([root / 'bin' / 'python', '-m', 'pip', 'install', '--no-deps', '-q',
          wheel], cwd=root, env=_env())
    return root


def _parent_package_lines() -> list:
    """``.pth`` lines giving a venv this python's package folders without
    the clone: its site folders with their own ``.pth`` files (e.g.
    setuptools' distutils shim on Python >= 3.12), then PYTHONPATH."""
    clone = str(REPO_ROOT.resolve())
    lines = [f'import site; site.addsitedir({p!r})'
             for p in site.getsitepackages()]
    lines += [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
              if p and not str(Path(p).resolve()).startswith(clone)]
    return lines


def _env() -> dict:
    """This environment without PYTHONPATH (no clone on the path)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    return env


def _user_config(folder: Path, base: str) -> str:
    """A one-epoch user config inheriting ``base``; returns its name."""
    folder.mkdir(exist_ok=True)
    (folder / 'my_alrp.py').write_text(
        f'_base_ = {base!r}\n'
        'train_cfg = dict(max_epochs=1)\n'
        "default_hooks = dict(checkpoint=dict(interval=1))\n")
    return 'my_alrp.py'


def test_user_config_with_package_base_trains_and_tests(
        venv, tmp_path, tiny_digits):
    bin_dir, env, user = venv / 'bin', _env(), tmp_path / 'user'
    config = _user_config(user, f'mmrank::{BASE}')
    # The venv's mmrank, not a clone's (editable) one, is imported.
    where = _run([bin_dir / 'python', '-c',
                  'import mmrank; print(mmrank.__file__)'], user, env)
    assert str(venv) in where, where
    options = ['--cfg-options', *data_options(tiny_digits)]
    log = _run([bin_dir / 'mmrank-train', config, '--work-dir', 'work',
                *options], user, env)
    assert 'Epoch(train) [1][2/2]' in log
    assert 'Failed to search registry' not in log
    assert (user / 'work' / 'epoch_1.pth').is_file()
    log = _run([bin_dir / 'mmrank-test', config, 'work/epoch_1.pth',
                '--work-dir', 'test', *options], user, env)
    assert 'coco/bbox_mAP' in log and 'lrp/bbox_oLRP' in log


def test_mmdet_train_tool_with_the_installed_config_path(
        venv, tmp_path, tiny_digits):
    """mmdet's tools/train.py cannot read ``mmrank::`` bases; the
    installed file by its path works (what the README says)."""
    bin_dir, env, user = venv / 'bin', _env(), tmp_path / 'user'
    mmdet_train = _printed(
        bin_dir, 'import mmdet, os; print(os.path.join(os.path.dirname('
        'mmdet.__file__), ".mim", "tools", "train.py"))', tmp_path, env)
    config = _user_config(user, f'mmrank::{BASE}')
    proc = subprocess.run(
        [str(bin_dir / 'python'), mmdet_train, config], cwd=str(user),
        env=env, capture_output=True, text=True, timeout=300)
    assert 'does not support to load mmrank config' in proc.stderr
    root = _printed(
        bin_dir, 'from mmrank.utils.package_configs import resources_root; '
        'print(resources_root())', tmp_path, env)
    assert root.startswith(str(venv))
    config = _user_config(user, f'{root}/configs/{BASE}')
    log = _run([bin_dir / 'python', mmdet_train, config, '--work-dir', 'work',
                '--cfg-options', *data_options(tiny_digits)], user, env)
    assert 'Epoch(train) [1][2/2]' in log


def test_mim_train(venv, tmp_path, tiny_digits):
    """``mim train mmrank`` (openmim, when this python has it)."""
    if importlib.util.find_spec('mim') is None:
        pytest.skip('openmim is not installed (pip install openmim)')
    env, user = _env(), tmp_path / 'user'
    env['PATH'] = f'{venv / "bin"}{os.pathsep}{env.get("PATH", "")}'
    config = _user_config(user, f'mmrank::{BASE}')
    log = _run([venv / 'bin' / 'python', '-m', 'mim', 'train', 'mmrank',
                config, '--gpus', '0', '--work-dir', 'work', '--cfg-options',
                *data_options(tiny_digits)], user, env)
    assert 'Training finished successfully' in log

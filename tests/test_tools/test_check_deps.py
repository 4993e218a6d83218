"""tools/check_deps.py: install_deps.sh accepts a stack within the ranges."""
import re
import shutil
import subprocess
import sys

import pytest

from ..conftest import load_tool, repo_path


check_deps = load_tool('check_deps.py')
STACK = dict(mmengine='0.10.7', mmcv='2.1.0', mmdet='3.3.0',
             torch='2.13.0+cu128', torchvision='0.28.0', setuptools='69.5.1')


def problems(**versions):
    lines = [line for line in check_deps.requirements()
             if check_deps.parse_requirement(line)[0] in STACK]
    return check_deps.version_problems(lines, dict(STACK, **versions).get)


def test_parse():
    assert check_deps.parse_requirement('mmcv>=2.0.0,<2.2.0') == (
        'mmcv', [('>=', '2.0.0'), ('<', '2.2.0')])
    assert check_deps.parse_requirement('numpy') == ('numpy', [])
    assert check_deps.release('2.13.0+cu128') == (2, 13, 0)
    assert check_deps.release('2.0.0rc4') == (2, 0, 0)
    assert check_deps.release('1.0') == (1, 0, 0)
    with pytest.raises(ValueError, match='unsupported requirement'):
        check_deps.parse_requirement('mmcv~=2.0')


@pytest.mark.parametrize('versions', [
    {}, dict(mmcv='2.0.1', mmdet='3.1.0'), dict(mmengine='0.10.0'),
    dict(mmdet='3.0.0', mmcv='2.0.0'), dict(torch='2.6.0')
])
def test_environments_within_the_ranges_are_accepted(versions):
    assert problems(**versions) == []


@pytest.mark.parametrize('versions,name', [
    (dict(mmcv='2.2.0'), 'mmcv'), (dict(mmcv='1.7.2'), 'mmcv'),
    (dict(mmdet='3.4.0'), 'mmdet'), (dict(mmdet='2.28.2'), 'mmdet'),
    (dict(mmengine='1.0.0'), 'mmengine'), (dict(mmengine='0.9.1'), 'mmengine'),
    (dict(torch='2.5.1'), 'torch'), (dict(mmcv=None), 'mmcv'),
    (dict(setuptools='84.2.1'), 'setuptools'),
    (dict(setuptools=None), 'setuptools'),
])
def test_environments_outside_are_refused(versions, name):
    found = problems(**versions)
    assert len(found) == 1 and found[0].startswith(f'{name}: '), found


def test_the_pinned_install_lies_within_the_ranges():
    with open(repo_path('tools', 'install_deps.sh')) as f:
        script = f.read()
    pins = dict(re.findall(r'"(mmengine|mmcv|mmdet|torch)==([0-9.]+)"',
                           script))
    assert set(pins) == {'mmengine', 'mmcv', 'mmdet', 'torch'}
    assert problems(**pins) == []


def script_check(root) -> int:
    """Run install_deps.sh's own check() against the checkout ``root``."""
    script = f'{root}/tools/install_deps.sh'
    code = (f'PY={sys.executable}; ROOT={root}; '
            f'eval "$(sed -n "/^check() {{/,/^}}/p" {script})"; check')
    return subprocess.run(['bash', '-c', code], timeout=300).returncode


def test_install_script_check_accepts_this_stack_and_refuses_others(tmp_path):
    assert script_check(repo_path()) == 0  # the stack installed here
    for part in ('tools', 'requirements'):
        shutil.copytree(repo_path(part), tmp_path / part)
    runtime = tmp_path / 'requirements' / 'runtime.txt'
    runtime.write_text(runtime.read_text().replace(
        'mmcv>=2.0.0,<2.2.0', 'mmcv>=2.2.0'))
    assert script_check(tmp_path) == 1


def test_a_setuptools_without_pkg_resources_is_refused_with_the_fix():
    found = problems(setuptools='82.0.0')
    assert found == ["setuptools: 82.0.0 installed, need setuptools<82 "
                     "(pip install 'setuptools<82')"]


def test_a_missing_pkg_resources_is_named_with_the_fix():
    """As in a fresh venv whose setuptools has no pkg_resources."""
    code = ("import sys; sys.modules['pkg_resources'] = None; "
            f"sys.path.insert(0, {repo_path('tools')!r}); import check_deps; "
            "print(check_deps.import_problems())")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "import pkg_resources: ModuleNotFoundError" in result.stdout
    assert "pip install 'setuptools<82'" in result.stdout


def test_equivalent_distributions_satisfy_a_requirement(monkeypatch):
    # The GPU machine ships opencv-python-headless; model-index provides
    # the modelindex module mmpretrain imports.
    present = {'opencv-python-headless': '4.10.0', 'model-index': '0.1.11'}

    def version(name):
        if name not in present:
            raise check_deps.metadata.PackageNotFoundError(name)
        return present[name]

    monkeypatch.setattr(check_deps.metadata, 'version', version)
    assert check_deps.installed_version('opencv-python') == '4.10.0'
    assert check_deps.installed_version('modelindex') == '0.1.11'
    assert check_deps.installed_version('mmcv') is None
    assert check_deps.version_problems(
        ['opencv-python', 'modelindex>=0.1'],
        check_deps.installed_version) == []

"""Fixtures shared by the test-suite."""
import importlib.util
import os
import os.path as osp
from pathlib import Path
from types import ModuleType

import pytest
import torch

if not torch.cuda.is_available():
    # Without a GPU the Triton kernels (mmrank.core.ranking.triton_passes) are
    # tested on CPU tensors in Triton's interpreter, which triton selects
    # when it is first imported: set here, before any test module imports
    # it (mmengine and torchvision bring it in).
    os.environ.setdefault('TRITON_INTERPRET', '1')

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'


def shared_data(*parts: str) -> Path:
    """Path under ``../shared/data``; skips the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f'real data not found at {path} (the ../shared/data '
                    'folder beside the repository is absent)')
    return path


@pytest.fixture(params=['cpu', 'cuda'])
def device(request) -> str:
    """Run a test on the CPU and on CUDA; the CUDA run is skipped, with the
    reason, where ``torch.cuda.is_available()`` is False."""
    if request.param == 'cuda' and not torch.cuda.is_available():
        pytest.skip('CUDA is not available (torch.cuda.is_available() is '
                    'False): the cuda variant runs on a GPU machine')
    return request.param


@pytest.fixture(scope='session')
def tiny_digits(tmp_path_factory) -> Path:
    """A 16 + 8 canvas digits detection set, generated once per session."""
    from mmrank.datasets import generate_digits_detection
    root = tmp_path_factory.mktemp('digits_det')
    generate_digits_detection(str(root), num_train=16, num_val=8, seed=3)
    return root


def repo_path(*parts: str) -> str:
    return osp.join(str(REPO_ROOT), *parts)


def load_tool(*parts: str) -> ModuleType:
    """Import a script under ``tools/`` (not a package) as a module."""
    path = repo_path('tools', *parts)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(parts[-1])[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def no_default_scope():
    """Run every test without an mmengine default scope, and leave none.

    A Runner (or ``init_default_scope``) sets a process-wide default scope;
    left behind by one test, or by a module fixture that trains, it makes a
    later ``mmdet`` or ``mmpose`` registry lookup search mmpretrain's.
    """
    from mmengine.registry import DefaultScope
    DefaultScope._instance_dict.clear()
    yield
    DefaultScope._instance_dict.clear()

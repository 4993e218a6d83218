"""mmrank: ranking-based and metric-driven losses for OpenMMLab 3.x.

``import mmrank`` (or ``custom_imports=dict(imports=['mmrank'])`` in a
config) registers every mmrank module into the registries of mmdet, mmpose
and mmpretrain that stock configs use, and lets torch >= 2.6 load mmengine
checkpoints (see :mod:`mmrank.utils.compat`).
"""
from .utils import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']

"""mmrank: ranking-based and metric-driven losses for OpenMMLab 3.x.

``import mmrank`` (or ``custom_imports=dict(imports=['mmrank'])`` in a
config) registers every mmrank module into the registries of mmdet, mmpose
and mmpretrain that stock configs use, and lets mmengine load its own
checkpoints weights-only under torch >= 2.6, without allowing anything that
could run code (see :mod:`mmrank.utils.checkpoint`). Beside a transformers
that mmpretrain 1.2.0's multimodal models cannot use, mmpretrain is loaded
without them (see :mod:`mmrank.utils.host_compat`). Without
mmengine installed, only the torch-only :mod:`mmrank.core` is usable, e.g.
to benchmark the loss kernels on a machine with torch alone.
"""
from importlib.util import find_spec

from .version import __version__

if find_spec('mmengine') is not None:
    from .utils import (explain_multimodal_placeholders,
                        guard_mmpretrain_multimodal, install_checkpoint_loader)

    install_checkpoint_loader()
    guard_mmpretrain_multimodal()

    from . import datasets, engine, evaluation, models  # noqa: F401

    explain_multimodal_placeholders()

__all__ = ['__version__']

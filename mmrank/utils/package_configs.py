"""mmrank's configs and tools as an installed package ships them.

``pip install`` puts them under ``mmrank/.mim/`` (``configs/``, ``tools/``,
``model-index.yml``), where OpenMMLab packages keep them for ``mim`` and
for ``pkg::`` config bases. In a clone installed in editable mode they are
links to the clone's folders; in a clone that is not installed at all,
the clone's own folders are used.

A user config may then inherit an mmrank config by package name::

    _base_ = 'mmrank::alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py'

mmengine 0.10.7 accepts a ``pkg::`` prefix only for the packages of its
``MODULE2PACKAGE`` table, and marks every module the base config defines
with the scope ``pkg``. :func:`read_config` (used by mmrank's tools) adds
``mmrank`` to that table and removes the ``mmrank`` scope again: mmrank's
modules live in the registries of mmdet, mmpose and mmpretrain, which the
config's ``default_scope`` selects.
"""
import os.path as osp
from typing import Any

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

PACKAGE = 'mmrank'
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def resources_root() -> str:
    """The folder holding ``configs/``, ``tools/`` and ``model-index.yml``.

    ``mmrank/.mim`` when the package carries them (installed), else the
    clone ``mmrank/`` sits in.

    Raises:
        FileNotFoundError: When neither has a ``tools`` folder.
    """
    for root in (osp.join(PACKAGE_DIR, '.mim'), osp.dirname(PACKAGE_DIR)):
        if osp.isdir(osp.join(root, 'tools')):
            return root
    raise FileNotFoundError(
        f'mmrank at {PACKAGE_DIR} carries no .mim/tools and is not in a '
        'clone: reinstall it with `pip install .` (or `pip install -e .`) '
        'from the mmrank repository')


def enable_package_configs() -> None:
    """Let mmengine resolve ``mmrank::`` config bases (see the module doc).

    mmengine looks the package up with ``get_installed_path('mmrank')``
    and reads ``<it>/.mim/configs/<path>``.
    """
    MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)


def _drop_package_scope(node: Any) -> None:
    """Remove ``_scope_='mmrank'`` from every dict below ``node``."""
    if isinstance(node, dict):
        if node.get('_scope_') == PACKAGE:
            node.pop('_scope_')
        for value in node.values():
            _drop_package_scope(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_package_scope(value)


def read_config(path: str) -> Config:
    """``Config.fromfile`` that also accepts ``mmrank::`` bases.

    Args:
        path: The config file.

    Returns:
        The config; modules inherited from an ``mmrank::`` base are built
        by the registries of the config's ``default_scope``.
    """
    enable_package_configs()
    cfg = Config.fromfile(path)
    _drop_package_scope(cfg._cfg_dict)
    return cfg

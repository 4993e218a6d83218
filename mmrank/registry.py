"""Registration of mmrank modules into the OpenMMLab registries.

Stock configs set ``default_scope`` to ``'mmdet'``, ``'mmpose'`` or
``'mmpretrain'``, so mmrank registers each module into the registry of the
package that hosts it (e.g. ``mmdet.registry.MODELS``) rather than into a
scope of its own. A host package that is not installed is not an error at
import time: the module's name is then registered into mmengine's root
registry as a builder that raises an ``ImportError`` naming the package to
install, so ``import mmrank`` works with mmdet alone.
"""
import importlib
from typing import Callable, Dict, Optional, TypeVar

from mmengine import registry as mmengine_registry

T = TypeVar('T')

#: pip requirement to suggest for each host package.
HOST_REQUIREMENTS: Dict[str, str] = {
    'mmdet': 'mmdet==3.3.0',
    'mmpose': 'mmpose==1.3.2',
    'mmpretrain': 'mmpretrain==1.2.0',
}


def host_available(host: str) -> bool:
    """Whether the OpenMMLab package ``host`` can be imported."""
    try:
        importlib.import_module(host)
    except ImportError:
        return False
    return True


def host_registry(host: str, registry: str = 'MODELS') -> Optional[object]:
    """Return ``<host>.registry.<registry>``, or None if ``host`` is missing.

    Args:
        host: Name of the OpenMMLab package, e.g. ``'mmpose'``.
        registry: Name of the registry inside ``<host>.registry``.
    """
    try:
        module = importlib.import_module(f'{host}.registry')
    except ImportError:
        return None
    return getattr(module, registry)


def register_missing(name: str, host: str, registry: str = 'MODELS') -> None:
    """Register ``name`` as a builder that explains which package is missing.

    Args:
        name: The type name users write in configs.
        host: The package that hosts the module.
        registry: Registry name, as in mmengine (``'MODELS'``, ``'HOOKS'``...).
    """
    requirement = HOST_REQUIREMENTS.get(host, host)

    def missing(*args, **kwargs):
        raise ImportError(
            f"'{name}' is an mmrank module for {host}, which is not "
            f"installed: pip install '{requirement}' (see mmrank's README).")

    root = getattr(mmengine_registry, registry, None)
    if root is None:  # a registry of the host's own (e.g. KEYPOINT_CODECS):
        return  # nothing outside the host looks names up there
    if name not in root.module_dict:
        root.register_module(name=name, module=missing)


def register(host: str, registry: str = 'MODELS') -> Callable[[T], T]:
    """Class decorator registering a module into its host's registry.

    Args:
        host: The package whose registry receives the module (``'mmdet'``,
            ``'mmpose'`` or ``'mmpretrain'``).
        registry: Registry name inside ``<host>.registry``.

    Returns:
        The decorator, which returns the class unchanged.
    """

    def decorator(cls: T) -> T:
        target = host_registry(host, registry)
        if target is None:
            register_missing(cls.__name__, host, registry)
        else:
            target.register_module(module=cls)
        return cls

    return decorator

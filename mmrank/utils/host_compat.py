"""Import mmpretrain 1.2.0 beside a current transformers.

mmpretrain imports its multimodal models (BLIP, BLIP-2, OFA, ...) whenever
``transformers>=4.28.0`` and pycocotools are installed. Those models import
``apply_chunking_to_forward`` and other names from
``transformers.modeling_utils``, which transformers 4.56 stopped
re-exporting; BLIP's language model catches the ``ImportError`` and then
subclasses ``None``, so ``import mmpretrain`` fails with ``TypeError:
NoneType takes no arguments``. mmpretrain 1.2.0 is its last release, and
mmrank imports it to register its classification modules, so detection and
pose users would fail too.

:func:`guard_mmpretrain_multimodal` therefore makes mmpretrain, when it is
imported after ``import mmrank`` and the installed transformers is one its
multimodal models cannot use, take the branch it takes without transformers:
it registers placeholders for those models instead of importing them. Its
classification models and everything mmrank uses are unaffected; building a
multimodal model raises an ``ImportError`` that says why and what to install.
Nothing is changed when mmpretrain or transformers is absent, when the
installed versions work together, or when mmpretrain was imported before
mmrank.
"""
import importlib.abc
import importlib.machinery
import importlib.metadata as metadata
import re
import sys
from types import ModuleType
from typing import Optional, Sequence, Tuple

#: The module whose ``WITH_MULTIMODAL`` decides the import.
DEPENDENCY_MODULE = 'mmpretrain.utils.dependency'
#: First transformers without the names mmpretrain's multimodal models import.
FIRST_INCOMPATIBLE_TRANSFORMERS = (4, 56)
#: Last mmpretrain whose multimodal models import them (its last release).
LAST_AFFECTED_MMPRETRAIN = (1, 2)


def _release(version: str) -> Tuple[int, ...]:
    """'4.56.0.dev0' -> (4, 56, 0)."""
    return tuple(int(part) for part in re.findall(r'\d+', version)[:3])


def _installed(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def multimodal_incompatible(mmpretrain: Optional[str],
                            transformers: Optional[str]) -> bool:
    """Whether mmpretrain ``mmpretrain`` cannot import its multimodal models
    beside transformers ``transformers`` (versions; None when absent)."""
    if mmpretrain is None or transformers is None:
        return False
    return (_release(mmpretrain)[:2] <= LAST_AFFECTED_MMPRETRAIN
            and _release(transformers)[:2] >= FIRST_INCOMPATIBLE_TRANSFORMERS)


class _WithoutMultimodal(importlib.machinery.SourceFileLoader):
    """Executes ``mmpretrain.utils.dependency``, then turns its
    ``WITH_MULTIMODAL`` off before mmpretrain's models read it."""

    def exec_module(self, module: ModuleType) -> None:
        super().exec_module(module)
        module.WITH_MULTIMODAL = False


class _DependencyFinder(importlib.abc.MetaPathFinder):
    """Finds ``mmpretrain.utils.dependency`` with :class:`_WithoutMultimodal`
    and then leaves ``sys.meta_path``."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[ModuleType] = None):
        if fullname != DEPENDENCY_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith(
                '.py'):
            return spec
        spec.loader = _WithoutMultimodal(fullname, spec.origin)
        return spec


def guard_mmpretrain_multimodal() -> bool:
    """Let a later ``import mmpretrain`` succeed beside a transformers its
    multimodal models cannot use (see the module docstring).

    Returns:
        Whether the guard was installed.
    """
    if DEPENDENCY_MODULE in sys.modules or any(
            isinstance(f, _DependencyFinder) for f in sys.meta_path):
        return False
    if not multimodal_incompatible(
            _installed('mmpretrain'), _installed('transformers')):
        return False
    sys.meta_path.insert(0, _DependencyFinder())
    return True


def explain_multimodal_placeholders() -> None:
    """Make mmpretrain's multimodal placeholders, when the guard put them in
    place, say why the model is missing and what to install."""
    dependency = sys.modules.get(DEPENDENCY_MODULE)
    if dependency is None or not isinstance(
            getattr(dependency, '__loader__', None), _WithoutMultimodal):
        return
    from mmpretrain.registry import MODELS
    transformers = _installed('transformers')
    for name, module in list(MODELS.module_dict.items()):
        if 'register_multimodal_placeholder' not in getattr(
                module, '__qualname__', ''):
            continue
        MODELS.register_module(
            name=name, module=_missing_model(name, transformers), force=True)


def _missing_model(name: str, transformers: str):

    def missing(*args, **kwargs):
        raise ImportError(
            f"mmpretrain's multimodal model {name!r} cannot be built: "
            f'mmpretrain {_installed("mmpretrain")} imports names that '
            f'transformers 4.56 removed (installed: {transformers}), so '
            'mmrank loaded mmpretrain without its multimodal models. Use '
            "them in an environment with 'transformers>=4.28,<4.56'.")

    return missing

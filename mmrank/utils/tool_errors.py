"""Errors of mmrank's command-line tools that say what to do.

:func:`explain_tool_errors` wraps a tool's work and turns two bare errors
into messages with the fix:

- an unknown type name (mmengine's ``KeyError: 'aLRPLos is not in the
  mmdet::model registry'``) gets the closest registered names, searched in
  that registry, its parents (which the lookup also searches) and the other
  packages' registries of the same kind (as ``scope.Name``);
- a download that fails while loading weights (a bare ``URLError``, e.g. a
  stock config's ImageNet backbone offline) names the file and how to train
  without it;
- a missing ``pkg_resources`` (mmengine 0.10.7 imports it to resolve the
  ``mmdet::``/``mmpose::``/``mmpretrain::`` bases every mmrank config
  inherits; setuptools 82 removed it) names the setuptools to install.
"""
import difflib
import re
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional
from urllib.error import URLError

from mmengine import registry as mmengine_registry
from mmengine.registry import DefaultScope, Registry
from mmengine.runner.checkpoint import CheckpointLoader

_UNKNOWN_TYPE = re.compile(
    r"([\w.\-]+) is not in the (?:(\w+)::)?([\w ]+?) registry\.")


class UnknownTypeError(KeyError):
    """An unknown type name, with the closest registered names."""

    def __str__(self) -> str:  # no repr quotes around the message
        return str(self.args[0])


class WeightsDownloadError(ConnectionError):
    """Weights that could not be downloaded."""


#: What to do when ``pkg_resources`` cannot be imported.
PKG_RESOURCES_FIX = (
    "mmengine 0.10.7 resolves base configs such as 'mmdet::...' (which every "
    'mmrank config inherits) with pkg_resources, which setuptools 82 removed '
    "(Python >= 3.12 venvs start without setuptools): pip install "
    "'setuptools<82'")


def _root_registry(name: str) -> Optional[Registry]:
    """mmengine's root registry called ``name`` (e.g. ``'model'``)."""
    for value in vars(mmengine_registry).values():
        if isinstance(value, Registry) and value.name == name \
                and value.parent is None:
            return value
    return None


def _find(registry: Registry, scope: str) -> Optional[Registry]:
    """The registry of ``scope`` among ``registry`` and its descendants."""
    if registry.scope == scope:
        return registry
    for child in registry.children.values():
        found = _find(child, scope)
        if found is not None:
            return found
    return None


def _reachable_names(root: Registry, scope: str) -> Dict[str, str]:
    """Names a lookup in ``scope`` accepts -> the bare type name.

    The registry of ``scope`` and its parents are searched by bare name;
    every other registry of the tree by ``<its scope>.<name>``.
    """
    target = _find(root, scope) or root
    direct = set()
    node: Optional[Registry] = target
    while node is not None:
        direct.add(id(node))
        node = node.parent
    names: Dict[str, str] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        pending.extend(node.children.values())
        for key in node.module_dict:
            spelled = key if id(node) in direct else f'{node.scope}.{key}'
            names.setdefault(spelled, key)
    return names


def closest_type_names(type_name: str, registry_name: str,
                       scope: Optional[str] = None, n: int = 3) -> List[str]:
    """Registered names closest to ``type_name`` (case-insensitive).

    Args:
        type_name: The name that was not found.
        registry_name: mmengine's name of the registry (``'model'``...).
        scope: Scope the lookup ran in; defaults to the current default
            scope.
        n: How many names to return at most.
    """
    root = _root_registry(registry_name)
    if root is None:
        return []
    if scope is None:
        current = DefaultScope.get_current_instance()
        scope = current.scope_name if current is not None else root.scope
    names = _reachable_names(root, scope)
    by_lower: Dict[str, List[str]] = {}
    for spelled, bare in sorted(names.items(), key=lambda kv: len(kv[0])):
        by_lower.setdefault(bare.lower(), []).append(spelled)
    bare_query = type_name.split('.')[-1].lower()
    matches = difflib.get_close_matches(
        bare_query, list(by_lower), n=n, cutoff=0.6)
    return [by_lower[match][0] for match in matches]


def unknown_type_hint(message: str) -> Optional[str]:
    """The "did you mean" sentence for mmengine's unknown-type message."""
    found = _UNKNOWN_TYPE.search(message)
    if found is None:
        return None
    type_name, scope, registry_name = found.groups()
    names = closest_type_names(type_name, registry_name, scope)
    if not names:
        return None
    quoted = [repr(name) for name in names]
    choices = ' or '.join([', '.join(quoted[:-1]), quoted[-1]]) \
        if len(quoted) > 1 else quoted[0]
    where = f'{scope}::{registry_name}' if scope else registry_name
    return (f"Unknown type '{type_name}' ({where} registry): did you mean "
            f'{choices}?')


@contextmanager
def _explain_download_errors() -> Iterator[None]:
    """Make a failing download of weights name the file and the fix."""
    original = CheckpointLoader.__dict__['load_checkpoint']

    def load_checkpoint(cls, filename, map_location=None, logger='current'):
        try:
            return original.__func__(cls, filename, map_location, logger)
        except URLError as err:
            raise WeightsDownloadError(
                f'could not download the weights {filename} ({err.reason}). '
                'Offline, a stock config that initialises its backbone from '
                "ImageNet weights (init_cfg=dict(type='Pretrained', ...)) "
                'trains from scratch with --cfg-options '
                'model.backbone.init_cfg=None; or download the file on a '
                'connected machine and give its local path instead.'
            ) from err

    CheckpointLoader.load_checkpoint = classmethod(load_checkpoint)
    try:
        yield
    finally:
        CheckpointLoader.load_checkpoint = original


@contextmanager
def explain_tool_errors() -> Iterator[None]:
    """Run a tool's work with the clearer errors of this module."""
    with _explain_download_errors():
        try:
            yield
        except KeyError as err:
            message = str(err.args[0]) if err.args else ''
            hint = unknown_type_hint(message)
            if hint is None:
                raise
            raise UnknownTypeError(f'{hint}\n({message})') from err
        except ModuleNotFoundError as err:
            if err.name != 'pkg_resources':
                raise
            raise ModuleNotFoundError(
                f'No module named pkg_resources. {PKG_RESOURCES_FIX}',
                name='pkg_resources') from err

"""The layers of mmrank (README, "Tests and layout") and their imports.

Every ``import`` and ``from ... import`` of every module under ``mmrank/`` is
read with ``ast``, those inside functions included, and resolved to the
mmrank module it names (``from pkg import name`` names the submodule
``pkg.name`` if there is one, else the package ``pkg``). The tests check
that ``mmrank.core`` imports no OpenMMLab package, that each subpackage
imports only the subpackages below it, and that no module reaches itself
through its imports.
"""
import ast
import os.path as osp
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from .conftest import REPO_ROOT

#: What each subpackage of mmrank (first name after ``mmrank.``) may import
#: besides itself; ``''`` is ``mmrank/__init__.py``. Bottom to top: core
#: (torch-only math); registry, utils, version (mmengine glue); datasets,
#: evaluation, models (independent of each other); engine (hooks); apis
#: (deployment). testing holds references for tests and benchmarks and
#: is imported by no mmrank module. cli (the console scripts) runs the
#: tools and imports only utils.
BASE = {'registry', 'utils', 'version', 'core'}
ALLOWED: Dict[str, Set[str]] = {
    'core': set(),
    'registry': {'core'},
    'utils': {'core'},
    'version': {'core'},
    'datasets': BASE,
    'evaluation': BASE,
    'models': BASE,
    'engine': BASE | {'datasets', 'evaluation', 'models'},
    'apis': BASE | {'datasets', 'evaluation', 'models', 'engine'},
    'testing': {'core'},
    'cli': {'utils'},
    '': BASE | {'datasets', 'evaluation', 'models', 'engine', 'apis'},
}
#: Packages mmrank.core must not import (it is torch-only).
OPENMMLAB = {'mmcv', 'mmdet', 'mmengine', 'mmpose', 'mmpretrain'}
#: Import edges left out of the cycle test, each with its reason (none:
#: models.losses and models.utils meet only in models.ranking_protocol).
KNOWN_CYCLE_EDGES: List[Tuple[str, str]] = []

PACKAGE = Path(REPO_ROOT) / 'mmrank'


def module_files() -> Dict[str, Path]:
    """Dotted name -> file of every module under ``mmrank/``."""
    modules = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = path.relative_to(REPO_ROOT).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        modules['.'.join(parts)] = path
    return modules


MODULES = module_files()


def imported_names(name: str, path: Path) -> Set[str]:
    """Every dotted name imported by the module (absolute form)."""
    is_package = path.name == '__init__.py'
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ''
            if node.level:
                base = name.split('.')
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                module = '.'.join(base + ([module] if module else []))
            names.add(module)
            names.update(f'{module}.{alias.name}' for alias in node.names)
    return names


def mmrank_module(name: str) -> str:
    """The mmrank module a dotted name refers to (its longest prefix)."""
    while name not in MODULES and '.' in name:
        name = name.rsplit('.', 1)[0]
    return name if name in MODULES else ''


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the mmrank modules it imports."""
    graph = {}
    for name, path in MODULES.items():
        targets = {mmrank_module(n) for n in imported_names(name, path)}
        graph[name] = targets - {'', name}
    return graph


GRAPH = import_graph()


def layer(module: str) -> str:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ''


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module
    (Tarjan), each sorted."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_subpackage_has_a_layer():
    assert {layer(m) for m in MODULES} <= set(ALLOWED), \
        'add the new subpackage to ALLOWED (and to the README layout)'


def test_core_imports_no_openmmlab_package():
    offending = {
        name: sorted(n for n in imported_names(name, path)
                     if n.split('.')[0] in OPENMMLAB)
        for name, path in MODULES.items() if layer(name) == 'core'
    }
    assert not {k: v for k, v in offending.items() if v}


@pytest.mark.parametrize('package', sorted(ALLOWED))
def test_imports_only_lower_layers(package):
    wrong = sorted((source, target) for source, targets in GRAPH.items()
                   if layer(source) == package for target in targets
                   if layer(target) not in ALLOWED[package] | {package})
    assert not wrong, f'mmrank.{package} may import only ' \
        f'{sorted(ALLOWED[package])}, found {wrong}'


def test_no_import_cycle():
    graph = {k: set(v) for k, v in GRAPH.items()}
    for source, target in KNOWN_CYCLE_EDGES:
        assert target in graph[source], \
            f'{source} -> {target} is gone: remove it from KNOWN_CYCLE_EDGES'
        graph[source].discard(target)
    assert cycles(graph) == []


def test_cycle_detection_sees_lazy_and_relative_imports(tmp_path):
    # The parser itself: a relative import inside a function is an edge.
    path = tmp_path / 'engine.py'
    path.write_text('def f():\n    from ..triton_passes import g\n')
    assert 'mmrank.core.triton_passes.g' in imported_names(
        'mmrank.core.ranking.engine', path)
    assert cycles({'a': {'b'}, 'b': {'a'}, 'c': set()}) == [['a', 'b']]
    assert osp.isfile(MODULES['mmrank.core.ranking.engine'])

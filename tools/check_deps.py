"""Check that the current Python has a working stack mmrank supports.

``tools/install_deps.sh`` runs this first and installs its pinned stack only
when it fails, so an existing OpenMMLab environment whose versions lie within
mmrank's ranges (``requirements/*.txt``, plus torch here) is left as it is::

    python tools/check_deps.py          # exit 0, or 1 listing the problems

Beyond the versions, the stack must import: torchvision (a CPU-only torch
wheel breaks its extension), mmcv's compiled ops, the three hosts,
xtcocotools, and ``pkg_resources`` (mmcv's setup and mmengine's ``mmdet::``
config lookup import it; setuptools 82 removed it).
"""
import importlib
import importlib.metadata as metadata
import os.path as osp
import re
import sys
from typing import Callable, Dict, List, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REQUIREMENT_FILES = ('runtime.txt', 'optional.txt', 'tests.txt')
#: Not in requirements/ (pip must not replace a user's torch build); the
#: floor is the torch whose weights-only loading mmrank's loader builds on.
EXTRA_REQUIREMENTS = ('torch>=2.6.0', 'torchvision')
IMPORTS = ('torchvision', 'mmcv.ops', 'mmdet', 'mmpose', 'mmpretrain',
           'xtcocotools.coco', 'pkg_resources')
#: Why pkg_resources is needed and what to install.
PKG_RESOURCES_FIX = ("mmengine 0.10.7 resolves 'mmdet::' base configs with "
                     "it; setuptools 82 removed it: pip install "
                     "'setuptools<82'")
_REQUIREMENT = re.compile(r'^([A-Za-z0-9_.\-]+)\s*(.*)$')
_CLAUSE = re.compile(r'^(==|>=|<=|<|>|!=)\s*([0-9][0-9.]*)$')
_COMPARE: Dict[str, Callable[[tuple, tuple], bool]] = {
    '==': lambda a, b: a == b, '!=': lambda a, b: a != b,
    '>=': lambda a, b: a >= b, '<=': lambda a, b: a <= b,
    '>': lambda a, b: a > b, '<': lambda a, b: a < b,
}


def release(version: str) -> Tuple[int, ...]:
    """The numeric release of ``version`` ('2.13.0+cu128' -> (2, 13, 0)),
    padded to three parts; a pre-release counts as its release."""
    parts = re.match(r'[0-9]+(?:\.[0-9]+)*', version)
    if parts is None:
        raise ValueError(f'unsupported version {version!r}')
    numbers = tuple(int(p) for p in parts.group(0).split('.'))
    return numbers + (0, ) * (3 - len(numbers))


def parse_requirement(line: str) -> Tuple[str, List[Tuple[str, str]]]:
    """'mmcv>=2.0.0,<2.2.0' -> ('mmcv', [('>=', '2.0.0'), ('<', '2.2.0')])."""
    name, spec = _REQUIREMENT.match(line.strip()).groups()
    clauses = []
    for clause in filter(None, (c.strip() for c in spec.split(','))):
        found = _CLAUSE.match(clause)
        if found is None:
            raise ValueError(f'unsupported requirement clause {clause!r} in '
                             f'{line!r}')
        clauses.append(found.groups())
    return name, clauses


def requirements(root: str = ROOT) -> List[str]:
    """The requirement lines of ``requirements/`` and EXTRA_REQUIREMENTS."""
    lines = list(EXTRA_REQUIREMENTS)
    for fname in REQUIREMENT_FILES:
        path = osp.join(root, 'requirements', fname)
        with open(path, encoding='utf-8') as f:
            lines += [line.split('#')[0].strip() for line in f]
    return [line for line in lines if line]


def version_problems(lines: List[str],
                     installed: Callable[[str], Optional[str]]) -> List[str]:
    """What of ``lines`` the versions given by ``installed`` violate.

    Args:
        lines: Requirement lines.
        installed: Version of a distribution, or None when missing.
    """
    problems = []
    for line in lines:
        name, clauses = parse_requirement(line)
        version = installed(name)
        if version is None:
            problems.append(f'{name}: not installed (need {line})')
        elif not all(_COMPARE[op](release(version), release(bound))
                     for op, bound in clauses):
            problems.append(f'{name}: {version} installed, need {line} '
                            f"(pip install '{line}')")
    return problems


#: Distributions that provide the same modules as a required one (opencv's
#: builds; model-index is the name the modelindex module ships under too).
ALTERNATIVES: Dict[str, Tuple[str, ...]] = {
    'opencv-python': ('opencv-python-headless', 'opencv-contrib-python',
                      'opencv-contrib-python-headless'),
    'modelindex': ('model-index', ),
}


def installed_version(name: str) -> Optional[str]:
    """Installed version of distribution ``name`` (or of one that provides
    the same modules, ALTERNATIVES), or None."""
    for candidate in (name, ) + ALTERNATIVES.get(name, ()):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None


def import_problems() -> List[str]:
    """Modules of IMPORTS that fail to import."""
    problems = []
    for module in IMPORTS:
        try:
            importlib.import_module(module)
        except Exception as err:  # noqa: BLE001 (any failure disqualifies)
            fix = PKG_RESOURCES_FIX if module == 'pkg_resources' else ''
            problems.append(f'import {module}: {type(err).__name__}: {err}'
                            + (f' ({fix})' if fix else ''))
    return problems


def main() -> int:
    problems = version_problems(requirements(), installed_version)
    if not problems:  # importing a stack of wrong versions proves nothing
        problems = import_problems()
    for problem in problems:
        print(f'[check_deps] {problem}', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())

"""Weights-only loading of mmengine and mmdet checkpoints (torch >= 2.6).

torch 2.6 made ``torch.load`` default to ``weights_only=True``: the file is
read by an unpickler that builds tensors, containers and an allow-list of
types, and calls nothing else, so a downloaded ``.pth`` cannot run code.
mmengine 0.10.7's checkpoints fail that check (mmengine#1655): besides
tensors they hold numpy arrays and scalars (the message hub's logged values)
and ``HistoryBuffer`` objects, whose pickled state names the four default
statistics methods through ``builtins.getattr`` (pickle protocol 2 writes
``HistoryBuffer.mean`` as ``getattr(HistoryBuffer, 'mean')``).

``import mmrank`` replaces mmengine's loader of local files (the one behind
``load_from``, ``--resume``, ``init_cfg=dict(type='Pretrained')`` and
``tools/test.py CKPT``) by :func:`load_from_local`, which still loads
weights-only, with :data:`SAFE_GLOBALS` allowed for that one call only
(``torch.serialization.safe_globals``; torch's process-wide allow-list and
every other ``torch.load`` are left as they are). ``builtins.getattr`` is
never allowed: its name is bound to :func:`history_buffer_method`, which
returns only the four methods above. A checkpoint that needs anything else
is refused with :class:`UntrustedCheckpointError`, unless the user trusts
checkpoints (``--trust-checkpoint`` of mmrank's tools, or the environment
variable ``MMRANK_TRUST_CHECKPOINTS=1``): it is then fully unpickled, with
a warning in the log.
"""
import logging
import os
import os.path as osp
import pickle
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader

try:  # numpy >= 2
    from numpy._core import multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray

#: Environment variable that lets mmrank fully unpickle local checkpoints.
TRUST_ENV = 'MMRANK_TRUST_CHECKPOINTS'
_TRUE = ('1', 'true', 'yes', 'on')

#: The statistics methods that ``HistoryBuffer.__getstate__`` pickles.
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint that cannot be loaded without running its pickle."""


def history_buffer_method(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while a checkpoint is unpickled.

    Resolves only ``getattr(HistoryBuffer, m)`` for the default statistics
    methods ``m`` (functions that unpickling stores, never calls).

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'the checkpoint asks for getattr({obj!r}, {name!r}); mmrank allows '
        'only HistoryBuffer.' + '/'.join(HISTORY_BUFFER_METHODS))


def _numpy_globals() -> List[Tuple[Any, str]]:
    """numpy arrays, scalars and dtypes, under numpy 1.x and 2.x names."""
    entries = [(np.ndarray, 'numpy.ndarray'), (np.dtype, 'numpy.dtype')]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries += [(multiarray._reconstruct, f'{module}._reconstruct'),
                    (multiarray.scalar, f'{module}.scalar')]
    # numpy >= 1.25 pickles a dtype as numpy.dtype(...) and builds it as an
    # instance of its class (numpy.dtypes.Float64DType...): booleans,
    # integers, floats and complex numbers.
    for char in '?bBhHiIlLqQefdgFDG':
        cls = type(np.dtype(char))
        entries.append((cls, f'numpy.dtypes.{cls.__name__}'))
    return entries


#: What mmrank lets the weights-only unpickler build, besides torch's own
#: (tensors, ``collections.OrderedDict``/``Counter``, ``set``, ``bytes``...).
SAFE_GLOBALS: List[Tuple[Any, str]] = [
    (bytes, 'builtins.bytes'),  # protocol 2 writes b'' as bytes()
    (HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
    (history_buffer_method, 'builtins.getattr'),
    *_numpy_globals(),
]


def checkpoints_trusted() -> bool:
    """Whether the user opted in to fully unpickling local checkpoints."""
    return os.environ.get(TRUST_ENV, '').strip().lower() in _TRUE


def trust_checkpoints() -> None:
    """Opt in for this process and its children (``--trust-checkpoint``)."""
    os.environ[TRUST_ENV] = '1'


def unsafe_globals(filename: str) -> List[str]:
    """The globals of ``filename`` that :data:`SAFE_GLOBALS` lacks (torch
    lists them for its zip format only: empty for a legacy file)."""
    with torch.serialization.safe_globals(SAFE_GLOBALS):
        try:
            return torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
        except ValueError:  # not a zip checkpoint (torch < 1.6 format)
            return []


def torch_reason(message: str) -> str:
    """The cause in torch's weights-only error (what it refused)."""
    _, found, cause = message.partition('WeightsUnpickler error:')
    if found:
        return ' '.join(cause.split('Check the documentation')[0].split())
    return message.strip().split('\n')[0]


def load_from_local(
        filename: str,
        map_location: Optional[Union[str, torch.device, Callable]] = None
) -> Any:
    """Load a local checkpoint weights-only, with :data:`SAFE_GLOBALS`.

    Named as mmengine's loader, whose log line reads ``Loads checkpoint by
    local backend``.

    Args:
        filename: Path of the checkpoint (``~`` is expanded).
        map_location: As in :func:`torch.load`.

    Raises:
        FileNotFoundError: If the file does not exist.
        UntrustedCheckpointError: If the file needs full unpickling and
            checkpoints are not trusted (see :data:`TRUST_ENV`).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = torch_reason(str(err))
        names = ', '.join(unsafe_globals(filename)) or 'see the reason'
        if not checkpoints_trusted():
            raise UntrustedCheckpointError(
                f'{filename} was not loaded: it holds objects outside '
                f"mmrank's checkpoint allow-list ({names}), and unpickling "
                'them can run arbitrary code. If you trust this file, pass '
                '--trust-checkpoint to tools/train.py, tools/test.py or '
                f'tools/image_demo.py, or set {TRUST_ENV}=1. (torch: '
                f'{reason})') from None
    print_log(
        f'{filename}: fully unpickled because {TRUST_ENV}=1 '
        f'(--trust-checkpoint); it holds {names}', logger='current',
        level=logging.WARNING)
    return torch.load(filename, map_location=map_location, weights_only=False)


def install_checkpoint_loader() -> None:
    """Make mmengine read local checkpoints with :func:`load_from_local`."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)

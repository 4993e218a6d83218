"""Compatibility of mmengine 0.10.7 with torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``. mmengine
0.10.7 calls ``torch.load`` without the argument, and its own checkpoints
cannot be read weights-only: the message hub pickles ``HistoryBuffer``
objects whose statistics methods are stored through ``builtins.getattr``,
a global that must never be allow-listed. So ``--resume`` and ``load_from``
fail (mmengine#1655, fixed upstream after 0.10.7 by loading with
``weights_only=False``).

mmrank replaces only mmengine's loader of local checkpoint files with one
that passes ``weights_only=False`` (the behaviour of torch < 2.6 and of
mmengine's fix); every other ``torch.load`` in the process keeps torch's
default. As before torch 2.6, load only checkpoints you trust.
"""
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def load_from_local(filename: str,
                    map_location: Optional[Union[str, torch.device]] = None
                    ) -> dict:
    """Load a local checkpoint file written by mmengine.

    Args:
        filename: Path of the checkpoint (``~`` is expanded).
        map_location: As in :func:`torch.load`.

    Raises:
        FileNotFoundError: If the file does not exist.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def allow_mmengine_checkpoints() -> None:
    """Make mmengine's checkpoint loader read local mmengine checkpoints."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)

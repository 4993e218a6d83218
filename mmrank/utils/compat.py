"""Compatibility of mmengine 0.10.7 with torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``, which refuses
the Python objects mmengine stores in its checkpoints (the message hub's
``HistoryBuffer`` with its numpy arrays), so ``--resume`` and ``load_from``
fail (mmengine#1655, fixed upstream after 0.10.7). Rather than turning the
weights-only check off, the few types mmengine writes are added to torch's
allow-list; every other pickled object is still refused.
"""
from typing import List

import numpy as np
import torch


def mmengine_checkpoint_globals() -> List[object]:
    """The non-tensor types found in checkpoints written by mmengine."""
    from mmengine.logging import HistoryBuffer
    multiarray = np._core.multiarray if hasattr(np, '_core') \
        else np.core.multiarray
    dtypes = [type(np.dtype(t)) for t in (np.float64, np.float32, np.int64,
                                           np.int32, np.bool_)]
    return [HistoryBuffer, multiarray._reconstruct, multiarray.scalar,
            np.ndarray, np.dtype, *dtypes]


def allow_mmengine_checkpoints() -> None:
    """Allow weights-only ``torch.load`` to read mmengine checkpoints."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:  # torch < 2.4 loads everything anyway
        add_safe_globals(mmengine_checkpoint_globals())

"""The choice of the backend that runs the passes over the negatives."""
from typing import Dict, Type, Union

import torch

from .negatives import NegativePasses, TorchPasses
from .triton_passes import TritonPasses, available, enable_hint

#: Values of ``impl`` accepted by :func:`logit_pass_impl`.
IMPLS = ('auto', 'torch', 'triton')
#: The backend of each resolved ``impl``.
BACKENDS: Dict[str, Type[NegativePasses]] = dict(
    torch=TorchPasses, triton=TritonPasses)


def logit_pass_impl(impl: str, device: Union[str, torch.device]) -> str:
    """Resolve ``impl`` to ``'torch'`` or ``'triton'`` for ``device``.

    ``'auto'`` selects the torch path; ``'triton'`` selects the fused
    kernels of :mod:`.triton_passes`.

    Raises:
        ValueError: If ``impl`` is not one of :data:`IMPLS`, or is
            ``'triton'`` where the kernels cannot run.
    """
    if impl not in IMPLS:
        raise ValueError(f'impl must be one of {IMPLS}, got {impl!r}')
    if impl == 'triton' and not available(device):
        raise ValueError(f'impl="triton" cannot run on device '
                         f'{torch.device(device)}: {enable_hint()}, or use '
                         f'impl="torch"')
    return 'triton' if impl == 'triton' else 'torch'


def negative_passes(impl: str,
                    device: Union[str, torch.device]) -> Type[NegativePasses]:
    """The :class:`~.negatives.NegativePasses` that ``impl`` selects on
    ``device`` (:func:`logit_pass_impl`)."""
    return BACKENDS[logit_pass_impl(impl, device)]

"""Reductions shared by the losses."""
from typing import Optional

from torch import Tensor


def reduce_loss(loss: Tensor, reduction: str,
                avg_factor: Optional[float]) -> Tensor:
    """Reduce per-sample losses as mmengine-style losses do.

    Args:
        loss: Per-sample (or per-element) losses, flattened.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor: If given with ``'mean'``, the sum is divided by it.

    Returns:
        The reduced loss; zero for an empty batch.
    """
    if reduction == 'none':
        return loss
    if reduction == 'sum' or loss.numel() == 0:
        return loss.sum()  # an empty batch has zero loss, not NaN
    if avg_factor is None:
        return loss.mean()
    if avg_factor <= 0:
        raise ValueError(f'avg_factor must be > 0, got {avg_factor}')
    return loss.sum() / avg_factor


def zero_loss(tensor: Tensor) -> Tensor:
    """A zero scalar in ``tensor``'s graph, so its gradient is zero.

    Summing one element only: a half-precision sum of all could overflow
    to inf, and ``inf * 0`` is NaN.
    """
    return tensor[:1].sum() * 0

"""Training diagnostics of ranking-based detectors (aLRP paper, Sec. 5).

Torch-only helpers:

* :func:`rank_correlation`: Pearson correlation coefficient between the
  ranks of the classification scores and the ranks of the IoUs of the
  positives (Spearman's ρ; paper Tables 2 and 5). High ρ means that
  well-localised positives are also ranked higher.
* :func:`gradient_ratio`: summed gradient magnitude of the negatives over
  that of the positives (paper Fig. 4). Theorem 2 makes it exactly 1 for
  aLRP and AP Loss.
"""
from typing import Optional

import torch
from torch import Tensor


def average_ranks(values: Tensor) -> Tensor:
    """1-based ranks of ``values`` in ascending order, ties averaged.

    Args:
        values: 1-D tensor.

    Returns:
        float64 tensor of the same length.
    """
    if values.dim() != 1:
        raise ValueError(
            f'values must be 1-D, got shape {tuple(values.shape)}')
    sorted_values, order = torch.sort(values)
    _, inverse, counts = torch.unique_consecutive(
        sorted_values, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    mean_rank = ends - (counts.double() - 1) / 2
    ranks = ends.new_empty(values.shape)
    ranks[order] = mean_rank[inverse]
    return ranks


def rank_correlation(scores: Tensor, ious: Tensor) -> Optional[float]:
    """Pearson correlation between the ranks of ``scores`` and ``ious``.

    Args:
        scores: Classification scores (or logits) of the positives, 1-D.
        ious: IoU of each positive's predicted box with its ground truth.

    Returns:
        ρ in [-1, 1], or None when it is undefined (fewer than two
        positives, or all scores or all IoUs equal).
    """
    if scores.shape != ious.shape:
        raise ValueError(f'scores {tuple(scores.shape)} and ious '
                         f'{tuple(ious.shape)} must have the same shape')
    if scores.numel() < 2:
        return None
    x = average_ranks(scores.detach().flatten())
    y = average_ranks(ious.detach().flatten())
    x, y = x - x.mean(), y - y.mean()
    norm = torch.sqrt((x * x).sum() * (y * y).sum())
    if norm == 0:
        return None
    return float((x * y).sum() / norm)


def gradient_ratio(grad: Tensor, targets: Tensor) -> Optional[float]:
    """Σ|∂L/∂s_j| over negatives divided by Σ|∂L/∂s_i| over positives.

    Args:
        grad: Gradient of the loss w.r.t. the flattened logits.
        targets: Same shape; 1 positive, 0 negative, -1 ignored.

    Returns:
        The ratio, or None when the positives have no gradient.
    """
    if grad.shape != targets.shape:
        raise ValueError(f'grad {tuple(grad.shape)} and targets '
                         f'{tuple(targets.shape)} must have the same shape')
    magnitude = grad.detach().abs().double()
    positive = magnitude[targets == 1].sum()
    if positive == 0:
        return None
    return float(magnitude[targets == 0].sum() / positive)

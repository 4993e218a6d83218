"""UniLoss entry points for the three tasks (input checks, empty batches)."""
from typing import Optional

import torch
from torch import Tensor

from ..checks import check_finite
from .anchors import AnchorConfig
from .framework import uniloss
from .tasks import AccuracyMetric, AveragePrecisionMetric, PCKhMetric


def _zero(tensor: Tensor) -> Tensor:
    """A zero loss attached to ``tensor``'s graph with zero gradient."""
    return tensor.reshape(-1)[:0].sum()


def _check_labels(labels: Tensor, num: int, name: str = 'labels') -> None:
    if not isinstance(labels, Tensor) or labels.dtype.is_floating_point:
        raise TypeError(f'{name} must be an integer or bool tensor')
    if labels.shape != (num, ):
        raise ValueError(f'{name} must have shape ({num},), got '
                         f'{tuple(labels.shape)}')


def uniloss_accuracy(scores: Tensor,
                     labels: Tensor,
                     num_compared: Optional[int] = None,
                     cfg: Optional[AnchorConfig] = None) -> Tensor:
    """UniLoss for multi-class accuracy (Sec. 4.1).

    Args:
        scores: ``(n, C)`` class scores, ``C >= 2``.
        labels: ``(n,)`` target class indices.
        num_compared: Compare each target only with its ``num_compared``
            highest-scoring other classes (None: all ``C - 1``).
        cfg: Anchor settings (defaults: 16 good, 16 nearby, 16 random).

    Returns:
        Scalar ``1 - g~``; zero for an empty batch.
    """
    if scores.dim() != 2 or scores.shape[1] < 2:
        raise ValueError('scores must be (n, C) with C >= 2, got shape '
                         f'{tuple(scores.shape)}')
    _check_labels(labels, scores.shape[0])
    if scores.shape[0] == 0:
        return _zero(scores)
    check_finite(scores, 'scores')
    if labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise ValueError(f'labels must lie in [0, {scores.shape[1] - 1}]')
    metric = AccuracyMetric(scores, labels.long(), num_compared)
    return uniloss(metric, cfg or AnchorConfig())


def uniloss_average_precision(scores: Tensor,
                              labels: Tensor,
                              cfg: Optional[AnchorConfig] = None) -> Tensor:
    """UniLoss for binary average precision (Sec. 4.2).

    Args:
        scores: ``(n,)`` scores, larger meaning more likely positive.
        labels: ``(n,)`` 1 (or True) for positives, 0 for negatives.
        cfg: Anchor settings.

    Returns:
        Scalar ``1 - g~``. A batch without positives has no AP and one
        without negatives has AP 1 whatever the scores: both give a zero
        loss with zero gradient.
    """
    if scores.dim() != 1:
        raise ValueError('scores must be (n,), got shape '
                         f'{tuple(scores.shape)}')
    _check_labels(labels, scores.shape[0])
    if labels.numel() and (labels.min() < 0 or labels.max() > 1):
        raise ValueError('labels must be 0 or 1')
    positive = labels.bool()
    if not positive.any() or positive.all():
        return _zero(scores)
    check_finite(scores, 'scores')
    return uniloss(AveragePrecisionMetric(scores, positive), cfg
                   or AnchorConfig())


def uniloss_pckh(heatmaps: Tensor,
                 positive: Tensor,
                 heatmap_valid: Optional[Tensor] = None,
                 pixel_valid: Optional[Tensor] = None,
                 cfg: Optional[AnchorConfig] = None) -> Tensor:
    """UniLoss for PCKh on heatmaps (Sec. 4.3).

    Args:
        heatmaps: ``(B, K, H, W)`` predicted heatmaps.
        positive: ``(B, K, H, W)`` bool, pixels within the PCKh radius of
            the ground-truth joint.
        heatmap_valid: Optional ``(B, K)`` bool; invalid heatmaps (e.g.
            invisible joints) are left out.
        pixel_valid: Optional bool mask broadcastable to ``heatmaps``;
            masked pixels are neither positive nor negative.
        cfg: Anchor settings.

    Returns:
        Scalar ``1 - g~``; zero (with zero gradient) when no heatmap has
        both positive and negative pixels.
    """
    if heatmaps.dim() != 4:
        raise ValueError('heatmaps must be (B, K, H, W), got shape '
                         f'{tuple(heatmaps.shape)}')
    if positive.shape != heatmaps.shape or positive.dtype != torch.bool:
        raise ValueError('positive must be a bool tensor of shape '
                         f'{tuple(heatmaps.shape)}')
    check_finite(heatmaps, 'heatmaps')
    num_maps = heatmaps.shape[0] * heatmaps.shape[1]
    flat_positive = positive.reshape(num_maps, -1)
    if heatmap_valid is not None:
        if heatmap_valid.shape != heatmaps.shape[:2]:
            raise ValueError('heatmap_valid must have shape '
                             f'{tuple(heatmaps.shape[:2])}')
        flat_positive = flat_positive & heatmap_valid.reshape(-1, 1).bool()
    flat_valid = None
    if pixel_valid is not None:
        flat_valid = pixel_valid.bool().expand_as(heatmaps).reshape(
            num_maps, -1)
    metric = PCKhMetric(
        heatmaps.reshape(num_maps, -1), flat_positive, flat_valid)
    if metric.num_heatmaps == 0:
        return _zero(heatmaps)
    return uniloss(metric, cfg or AnchorConfig())

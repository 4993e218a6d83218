"""UniLoss as mmpretrain and mmpose loss modules.

Thin wrappers around the torch-only core (:mod:`mmrank.core.uniloss`):

* :class:`UniLossAccuracy` (mmpretrain ``MODELS``): multi-class accuracy, a
  drop-in for ``CrossEntropyLoss`` in ``LinearClsHead`` (same call
  signature as mmpretrain 1.2's ``ClsHead._get_loss`` uses).
* :class:`UniLossBinaryAP` (mmpretrain ``MODELS``): average precision of a
  binary (e.g. one-against-the-rest) classifier, with the same signature.
* :class:`UniLossPCKh` (mmpose ``MODELS``): PCKh on heatmaps, with the
  signature of mmpose's ``KeypointMSELoss``
  ``(output, target, target_weights, mask)``.

UniLoss returns ``1 - g~`` for the whole mini-batch: it has no per-sample
terms, so per-sample weights and ``avg_factor`` do not apply.

Reference:
    Liu, Wang and Deng, "UniLoss: Unified Surrogate Loss by Adaptive
    Interpolation", ECCV 2020.
"""
import math
from typing import Optional

from torch import Tensor, nn

from mmrank.core.labels import hard_labels
from mmrank.core.uniloss import (AnchorConfig, uniloss_accuracy,
                                 uniloss_average_precision, uniloss_pckh)
from mmrank.registry import register
from .loss_signatures import ClsLossSignature, HeatmapLossSignature


class _UniLossBase(nn.Module):
    """Anchor settings and ``loss_weight`` shared by the wrappers.

    Args:
        num_good: Good anchors (bits of the ground truth flipped).
        num_nearby: Nearby anchors (bits of the current configuration
            flipped).
        num_random: Uniformly random ("bad") anchors.
        scale: Comparisons are relaxed as ``sigmoid(scale * c)``.
        loss_weight: Multiplier of the loss.
    """

    def __init__(self,
                 num_good: int = 16,
                 num_nearby: int = 16,
                 num_random: int = 16,
                 scale: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.anchor_cfg = AnchorConfig(
            num_good=num_good,
            num_nearby=num_nearby,
            num_random=num_random,
            scale=scale)
        self.loss_weight = loss_weight

    def extra_repr(self) -> str:
        return f'{self.anchor_cfg}, loss_weight={self.loss_weight}'


class _ClsUniLoss(_UniLossBase, ClsLossSignature):
    """mmpretrain's classification-loss call signature around a batch loss.

    Subclasses implement :meth:`batch_loss`.

    Args:
        squash_scores: Compare ``sigmoid(s)`` instead of the raw scores
            ``s``, as the authors' classification code does (the binaries,
            hence the metric, are the same; the comparisons lie in
            ``(-1, 1)``). Off by default: with logits of tens, as an
            untrained MNIST MLP gives, ``sigmoid(s)`` saturates and the
            loss has no gradient, while raw differences keep some.
        **kwargs: Anchor settings and ``loss_weight``.
    """

    def __init__(self, squash_scores: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.squash_scores = squash_scores

    def squash(self, scores: Tensor) -> Tensor:
        """``sigmoid(scores)`` if ``squash_scores``, else ``scores``."""
        return scores.sigmoid() if self.squash_scores else scores

    def batch_loss(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """``1 - g~`` of the batch."""
        raise NotImplementedError

    def cls_loss(self, cls_score: Tensor, label: Tensor,
                 weight: Optional[Tensor], avg_factor: Optional[float],
                 reduction_override: Optional[str]) -> Tensor:
        """``loss_weight * (1 - g~)``. ``weight`` must be None (the loss
        has no per-sample terms); ``avg_factor`` and ``reduction_override``
        are ignored (the loss is already a batch average)."""
        if weight is not None:
            raise ValueError(f'{type(self).__name__} does not take '
                             'per-sample weight: the loss is one batch-level '
                             'term')
        return self.loss_weight * self.batch_loss(cls_score, label)


@register('mmpretrain')
class UniLossAccuracy(_ClsUniLoss):
    """UniLoss for multi-class accuracy (Sec. 4.1).

    Args:
        num_compared: Compare each target only with its ``num_compared``
            highest-scoring other classes (20 on CIFAR-100 in the paper);
            None compares all.
        **kwargs: ``squash_scores``, anchor settings and ``loss_weight``
            (see :class:`_ClsUniLoss`).
    """

    def __init__(self, num_compared: Optional[int] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_compared = num_compared

    def batch_loss(self, cls_score: Tensor, label: Tensor) -> Tensor:
        labels = hard_labels(label, cls_score.shape[1])
        return uniloss_accuracy(
            self.squash(cls_score), labels, self.num_compared,
            self.anchor_cfg)


@register('mmpretrain')
class UniLossBinaryAP(_ClsUniLoss):
    """UniLoss for the average precision of a binary classifier (Sec. 4.2).

    The head may output one score per sample (``num_classes=1``) or two
    class scores (``num_classes=2``, as for a cross-entropy baseline); the
    ranking score is then ``s_1 - s_0``. Class 1 is the positive class and
    labels are ``(N,)`` 0/1 or one-hot ``(N, 2)``. A batch without
    positives (or without negatives) gives a zero loss with zero gradient.
    """

    def batch_loss(self, cls_score: Tensor, label: Tensor) -> Tensor:
        if cls_score.dim() != 2 or cls_score.shape[1] not in (1, 2):
            raise ValueError('cls_score must be (N, 1) or (N, 2), got shape '
                             f'{tuple(cls_score.shape)}')
        labels = hard_labels(label, 2) if label.dim() == 2 else label
        if cls_score.shape[1] == 2:
            scores = cls_score[:, 1] - cls_score[:, 0]
        else:
            scores = cls_score[:, 0]
        return uniloss_average_precision(
            self.squash(scores), labels.long(), self.anchor_cfg)


def gaussian_threshold(radius: float, sigma: float) -> float:
    """Value of a unit-peak Gaussian target of ``sigma`` at ``radius``."""
    return math.exp(-radius**2 / (2 * sigma**2))


@register('mmpose')
class UniLossPCKh(_UniLossBase, HeatmapLossSignature):
    """UniLoss for PCKh on heatmaps (Sec. 4.3), mmpose heatmap signature.

    mmpose's heatmap losses see the target heatmaps, not the joints, so the
    positive pixels (those within ``radius`` heatmap pixels of the joint)
    are read off the target: for a unit-peak Gaussian target of ``sigma``
    (mmpose's ``MSRAHeatmap`` and ``UDPHeatmap`` codecs), a pixel is within
    ``radius`` of the Gaussian's centre iff its target value is at least
    ``exp(-radius^2 / (2 sigma^2))``. ``radius`` is fixed per config (PCKh@0.5
    uses half the head size, which varies per person and is not passed to
    losses). Heatmaps whose target weight is 0 are left out of the metric;
    non-zero target weights are not used otherwise.

    Args:
        sigma: Sigma of the codec's Gaussian targets, in heatmap pixels.
        radius: PCKh radius in heatmap pixels (must not exceed the
            Gaussian's support: ``3 * sigma`` for ``MSRAHeatmap``).
        use_target_weight: Leave out heatmaps whose ``target_weights`` is 0.
        **kwargs: Anchor settings and ``loss_weight``.
    """

    def __init__(self,
                 sigma: float = 2.0,
                 radius: float = 3.0,
                 use_target_weight: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if sigma <= 0 or radius <= 0:
            raise ValueError('sigma and radius must be positive, got '
                             f'sigma={sigma}, radius={radius}')
        self.sigma = sigma
        self.radius = radius
        self.use_target_weight = use_target_weight
        # a relative tolerance keeps pixels exactly at the radius positive
        self.threshold = gaussian_threshold(radius, sigma) * (1 - 1e-4)

    def heatmap_loss(self, output: Tensor, target: Tensor,
                     target_weights: Optional[Tensor],
                     mask: Optional[Tensor]) -> Tensor:
        """``loss_weight * (1 - g~)`` of Gaussian ``target`` heatmaps;
        masked pixels are neither positive nor negative."""
        if target.shape != output.shape:
            raise ValueError(f'target shape {tuple(target.shape)} differs '
                             f'from output shape {tuple(output.shape)}')
        valid = None
        if self.use_target_weight and target_weights is not None:
            valid = target_weights.reshape(output.shape[:2]) > 0
        pixel_valid = None if mask is None else mask.bool()
        positive = target >= self.threshold
        return self.loss_weight * uniloss_pckh(output, positive, valid,
                                               pixel_valid, self.anchor_cfg)


__all__ = ['UniLossAccuracy', 'UniLossBinaryAP', 'UniLossPCKh', 'hard_labels']

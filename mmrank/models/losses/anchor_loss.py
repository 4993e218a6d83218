"""Anchor Loss as mmpretrain and mmpose loss modules.

Both wrap the torch-only core (:mod:`mmrank.core.anchor_loss`):

* :class:`AnchorLoss` (mmpretrain ``MODELS``) is a drop-in for mmpretrain's
  ``CrossEntropyLoss`` in ``LinearClsHead``. With ``warmup_epochs > 0`` it
  computes softmax cross entropy for the first epochs, as the paper does on
  CIFAR; :class:`~mmrank.engine.hooks.LossWarmupHook` tells it the epoch.
* :class:`AnchorHeatmapLoss` (mmpose ``MODELS``) follows mmpose's heatmap
  loss signature ``(output, target, target_weights, mask)`` and is used in
  ``HeatmapHead`` / ``CPMHead`` in place of ``KeypointMSELoss``; the head's
  outputs are the logits of the sigmoid heatmaps.

Reference:
    Ryou, Jeong and Perona, "Anchor Loss: Modulating Loss Scale based on
    Prediction Difficulty", ICCV 2019.
"""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from mmrank.core.anchor_loss import (anchor_heatmap_loss, anchor_loss,
                                     check_cls_options, check_gamma_margin)
from mmrank.core.labels import labels_to_onehot
from mmrank.core.reduction import reduce_loss
from mmrank.registry import register
from .loss_signatures import ClsLossSignature, HeatmapLossSignature


@register('mmpretrain')
class AnchorLoss(ClsLossSignature):
    """Classification Anchor Loss (eq. 2), optionally after a CE warm-up.

    Args:
        gamma: Focusing parameter (0.5 on CIFAR and ImageNet in the paper).
        margin: ``delta`` of the dynamic anchor ``q* = q_t - delta``.
        variant: ``'background'`` (eq. 2), ``'target'`` or ``'both'``
            (supplementary material (i)-(iii)).
        anchor: Static ``q*`` in ``[0, 1]`` instead of the dynamic anchor
            (Table 3 ablation); None for the dynamic anchor.
        warmup_epochs: Number of initial epochs trained with softmax cross
            entropy (5 on CIFAR in the paper). Needs ``LossWarmupHook`` in
            ``custom_hooks``, which sets the epoch before each epoch.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: Multiplier of the loss.
    """

    def __init__(self,
                 gamma: float = 0.5,
                 margin: float = 0.05,
                 variant: str = 'background',
                 anchor: Optional[float] = None,
                 warmup_epochs: int = 0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        check_cls_options(gamma, margin, variant, anchor, reduction)
        if not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ValueError('warmup_epochs must be an int >= 0, got '
                             f'{warmup_epochs!r}')
        self.gamma, self.margin = gamma, margin
        self.variant, self.anchor = variant, anchor
        self.reduction = reduction
        self.warmup_epochs = warmup_epochs
        self.loss_weight = loss_weight
        self.epoch: Optional[int] = None

    def set_epoch(self, epoch: int) -> None:
        """Record the current (0-based) training epoch.

        Called by :class:`~mmrank.engine.hooks.LossWarmupHook` before every
        training epoch, from ``runner.epoch``, so that a resumed run picks up
        the right phase.
        """
        self.epoch = epoch

    @property
    def in_warmup(self) -> bool:
        """Whether the current epoch trains with softmax cross entropy."""
        if self.warmup_epochs == 0:
            return False
        if self.epoch is None:
            raise RuntimeError(
                f'AnchorLoss(warmup_epochs={self.warmup_epochs}) does not '
                "know the epoch: add dict(type='LossWarmupHook') to "
                'custom_hooks')
        return self.epoch < self.warmup_epochs

    def cls_loss(self, cls_score: Tensor, label: Tensor,
                 weight: Optional[Tensor], avg_factor: Optional[float],
                 reduction_override: Optional[str]) -> Tensor:
        """The weighted loss of logits ``cls_score``: softmax cross entropy
        during the warm-up, Anchor Loss after it."""
        reduction = reduction_override or self.reduction
        if self.in_warmup:
            labels = labels_to_onehot(label, cls_score.shape[1]).float()
            loss = F.cross_entropy(
                cls_score, labels.argmax(1), reduction='none')
            if weight is not None:
                loss = loss * weight
            loss = reduce_loss(loss, reduction, avg_factor)
        else:
            loss = anchor_loss(
                cls_score,
                label,
                gamma=self.gamma,
                margin=self.margin,
                variant=self.variant,
                anchor=self.anchor,
                weight=weight,
                reduction=reduction,
                avg_factor=avg_factor)
        return self.loss_weight * loss


@register('mmpose')
class AnchorHeatmapLoss(HeatmapLossSignature):
    """Anchor Loss for keypoint heatmaps (eqs. 3-5), mmpose signature.

    The head's output are logits; the loss applies the sigmoid. The loss is
    the mean over all pixels of all heatmaps, as mmpose's
    ``KeypointMSELoss``.

    Args:
        gamma: Focusing parameter (2 for pose in the paper).
        use_target_weight: Use the keypoint weights passed as
            ``target_weights`` (zero weight removes a keypoint).
        loss_weight: Multiplier of the loss.
    """

    def __init__(self,
                 gamma: float = 2.0,
                 use_target_weight: bool = False,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        check_gamma_margin(gamma, 0.)
        self.gamma = gamma
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def heatmap_loss(self, output: Tensor, target: Tensor,
                     target_weights: Optional[Tensor],
                     mask: Optional[Tensor]) -> Tensor:
        """The weighted loss of heatmap logits ``output`` against targets
        in ``[0, 1]``."""
        if not self.use_target_weight:
            target_weights = None
        return self.loss_weight * anchor_heatmap_loss(
            output, target, self.gamma, target_weights, mask)

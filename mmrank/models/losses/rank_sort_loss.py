"""Rank & Sort Loss as an mmdet loss module (:mod:`mmrank.core.ranking`).

Reference:
    Oksuz, Cam, Akbas, Kalkan, "Rank & Sort Loss for Object Detection and
    Instance Segmentation", ICCV 2021.
"""
from typing import Optional

import torch
from torch import Tensor

from mmrank.core.balancing import score_weights, value_balance
from mmrank.core.ranking import rank_sort_loss
from mmrank.registry import register
from ..ranking_protocol import (PositiveBoxes, PositiveInput,
                                RankingLossOutput)
from .ranking_loss_base import RankingLoss
from .ranking_losses import aligned_overlaps


def score_weighted_mean(errors: Tensor, positives: PositiveBoxes) -> Tensor:
    """Mean of per-positive ``errors`` weighted by :func:`score_weights`; 0
    without positives."""
    weights, total = score_weights(positives.logits)
    return (errors * weights).sum() / total


@register('mmdet')
class RankSortLoss(RankingLoss):
    """Rank & Sort (RS) Loss with its GIoU box loss, value-balanced.

    Each positive's classification target is the IoU of its decoded
    prediction with its ground truth (detached); a positive whose IoU is 0
    counts as a negative, as in the authors' code (their positives are
    ``targets > 0``). Returns, all times ``loss_weight``:

    * ``loss_rank``, ``loss_sort``: L_rank and L_sort (eqs. 7-8);
    * ``loss_bbox``: the GIoU loss of the positives weighted by their
      largest class score and averaged over those weights, multiplied by
      ``(L_rank + L_sort) / L_box`` (detached), recomputed every iteration
      (the paper's tuning-free balancing, Sec. 4; no hook);
    * ``box_weight`` (logged, not summed): that multiplier.

    Args:
        delta: Half width of the linear part of the smoothed step
            function H (0.5 in the paper).
        **kwargs: ``loss_weight`` (0.2 for the RPN), ``use_sigmoid`` and
            ``impl``, as :class:`RankingLoss`.
    """

    positive_input = PositiveInput.QUALITY
    trains_localisation = True

    def __init__(self, delta: float = 0.5, **kwargs) -> None:
        super().__init__(delta, **kwargs)

    def compute(self, logits: Tensor, targets: Tensor,
                positives: Optional[PositiveBoxes]) -> RankingLossOutput:
        """Weighted L_rank, L_sort and the balanced box loss."""
        quality_targets = targets.to(torch.float32)
        quality_targets[targets == 1] = aligned_overlaps(
            positives.pred.detach(), positives.target, 'iou').float()
        loss_rank, loss_sort = rank_sort_loss(
            logits, quality_targets, delta=self.delta, impl=self.impl)
        giou = aligned_overlaps(positives.pred, positives.target, 'giou')
        loss_box = score_weighted_mean(1 - giou, positives)
        box_weight = value_balance(loss_rank + loss_sort, loss_box)
        weight = self.loss_weight
        return RankingLossOutput(
            dict(
                loss_rank=weight * loss_rank,
                loss_sort=weight * loss_sort,
                loss_bbox=weight * box_weight * loss_box,
                box_weight=box_weight))

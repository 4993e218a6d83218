"""aLRP Loss and AP Loss as mmdet loss modules (:mod:`mmrank.core.ranking`).

References:
    Oksuz et al., "A Ranking-based, Balanced Loss Function Unifying
    Classification and Localisation in Object Detection", NeurIPS 2020.
    Chen et al., "Towards Accurate One-Stage Object Detection with AP-Loss",
    CVPR 2019.
"""
from typing import Dict, Optional

import torch
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor

from mmrank.core.ranking import alrp_loss, ap_loss
from mmrank.registry import register
from ..ranking_protocol import (PositiveBoxes, PositiveInput,
                                RankingLossOutput)
from .ranking_loss_base import RankingLoss

#: Range of ``1 - overlap`` for each supported overlap, used to normalise
#: the localisation error to [0, 1] before dividing by ``1 - tau``.
LOC_ERROR_RANGES: Dict[str, float] = {'iou': 1.0, 'giou': 2.0}


def aligned_overlaps(pred_boxes: Tensor, target_boxes: Tensor,
                     mode: str) -> Tensor:
    """IoU or GIoU of aligned boxes, with a shape check naming both."""
    if pred_boxes.shape != target_boxes.shape:
        raise ValueError(
            f'pred_boxes {tuple(pred_boxes.shape)} and target_boxes '
            f'{tuple(target_boxes.shape)} must have the same shape')
    return bbox_overlaps(pred_boxes, target_boxes, mode=mode, is_aligned=True)


@register('mmdet')
class aLRPLoss(RankingLoss):  # noqa: N801
    """Average Localisation-Recall-Precision (aLRP) Loss.

    Returns ``loss_cls`` = L_cls (eq. 9, error-driven gradients of eqs.
    12-14) and ``loss_bbox`` = w_r · L_loc (the hard-order form of eq. 11),
    both times ``loss_weight``. The self-balancing weight w_r (Sec. 4.2) is
    the buffer ``loc_weight``, saved in checkpoints and updated by
    :class:`~mmrank.engine.hooks.SelfBalancingHook` from the balance terms
    (L_cls, L_loc); without the hook it stays constant (the paper's
    Table 3).

    Args:
        delta: Half width of the linear part of the smoothed step
            function H.
        loss_weight: Weight of both components (0.2 for the RPN).
        use_sigmoid: Must be True.
        loc_error: Overlap giving the localisation error: ``'giou'`` or
            ``'iou'``.
        tau: IoU threshold of the positives (0.5 for one-stage and RoI heads,
            0.7 for the RPN). The localisation error is
            ``(1 - overlap) / (range * (1 - tau))`` with range 2 for GIoU and
            1 for IoU (Sec. 4.1), i.e. 1 - GIoU for tau = 0.5.
        loc_weight: Initial w_r (50 in the paper).
        impl: As :class:`RankingLoss`.
    """

    positive_input = PositiveInput.LOC_ERROR
    trains_localisation = True
    self_balancing = True
    balance_term_names = ('L_cls', 'L_loc')
    balanced_weight_name = 'loc_weight'

    def __init__(self,
                 delta: float = 1.0,
                 loss_weight: float = 1.0,
                 use_sigmoid: bool = True,
                 loc_error: str = 'giou',
                 tau: float = 0.5,
                 loc_weight: float = 50.0,
                 impl: str = 'auto') -> None:
        super().__init__(delta, loss_weight, use_sigmoid, impl)
        if loc_error not in LOC_ERROR_RANGES:
            raise ValueError(f'loc_error must be one of '
                             f'{sorted(LOC_ERROR_RANGES)}, got {loc_error!r}')
        if not 0 <= tau < 1:
            raise ValueError(f'tau must be in [0, 1), got {tau}')
        if not loc_weight > 0:
            raise ValueError(f'loc_weight must be positive, got {loc_weight}')
        self.loc_error = loc_error
        self.tau = float(tau)
        self.register_buffer('loc_weight', torch.tensor(float(loc_weight)))

    def localisation_errors(self, pred_boxes: Tensor,
                            target_boxes: Tensor) -> Tensor:
        """Localisation error E_loc of each positive.

        Args:
            pred_boxes: Decoded predicted boxes (P, 4), x1y1x2y2.
            target_boxes: Their ground-truth boxes (P, 4).

        Returns:
            E_loc of shape (P,), differentiable w.r.t. ``pred_boxes``.
        """
        overlap = aligned_overlaps(pred_boxes, target_boxes, self.loc_error)
        scale = LOC_ERROR_RANGES[self.loc_error] * (1 - self.tau)
        return (1 - overlap) / scale

    def compute(self, logits: Tensor, targets: Tensor,
                positives: Optional[PositiveBoxes]) -> RankingLossOutput:
        """Weighted L_cls and w_r · L_loc, balance terms (L_cls, L_loc)."""
        loc_errors = self.localisation_errors(positives.pred, positives.target)
        loss_cls, loss_loc = alrp_loss(
            logits, targets, loc_errors, delta=self.delta, impl=self.impl)
        return RankingLossOutput(
            dict(
                loss_cls=self.loss_weight * loss_cls,
                loss_bbox=self.loss_weight * self.loc_weight * loss_loc),
            torch.stack([loss_cls.detach(),
                         loss_loc.detach()]).float())

    def balance_weight(self) -> float:
        """The current w_r."""
        return float(self.loc_weight)

    def apply_balance(self, sums: Tensor) -> None:
        """w_r = mean(L_cls + L_loc) / mean(L_loc) (Sec. 4.2); kept when
        the period saw no L_loc > 0 (e.g. no positives)."""
        loss_cls, loss_loc = (float(v) for v in sums)
        if loss_loc > 0:
            self.loc_weight.fill_((loss_cls + loss_loc) / loss_loc)

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, loc_error={self.loc_error!r}, '
                f'tau={self.tau}')


@register('mmdet')
class APLoss(RankingLoss):
    """Average Precision Loss (Chen et al.), the aLRP paper's baseline.

    Trains the classifier only (``loss_cls`` = ``loss_weight`` × (1 −
    interpolated AP)); the head trains the boxes with its ``loss_bbox``.

    Args:
        delta: Half width of the linear part of the smoothed step
            function H.
        loss_weight: Weight of the loss.
        use_sigmoid: Must be True.
        impl: As :class:`RankingLoss`.
    """

    def compute(self, logits: Tensor, targets: Tensor,
                positives: Optional[PositiveBoxes]) -> RankingLossOutput:
        return RankingLossOutput(
            dict(loss_cls=self.loss_weight *
                 ap_loss(logits, targets, delta=self.delta, impl=self.impl)))

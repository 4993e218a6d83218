"""aLRP Loss and AP Loss as mmdet loss modules.

Both wrap the torch-only ranking core (:mod:`mmrank.core.ranking`). They are
batch-wide losses: a head flattens the logits of all images, priors and
classes of a batch into one vector with one target per entry (1 positive,
0 negative, -1 ignored) and calls the loss once.

References:
    Oksuz et al., "A Ranking-based, Balanced Loss Function Unifying
    Classification and Localisation in Object Detection", NeurIPS 2020.
    Chen et al., "Towards Accurate One-Stage Object Detection with AP-Loss",
    CVPR 2019.
"""
from typing import Dict, Tuple

import torch
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor, nn

from mmrank.core.ranking import alrp_loss, ap_loss
from mmrank.registry import register

#: Range of ``1 - overlap`` for each supported overlap, used to normalise
#: the localisation error to [0, 1] before dividing by ``1 - tau``.
LOC_ERROR_RANGES: Dict[str, float] = {'iou': 1.0, 'giou': 2.0}


class _RankingLossBase(nn.Module):
    """Options shared by the ranking losses.

    Dense heads read ``use_sigmoid`` to size their classifier (one logit per
    class, no background logit). The RoI box head of mmdet reads
    ``custom_cls_channels`` / ``get_cls_channels`` / ``get_activation``: the
    classifier has ``num_classes`` sigmoid outputs and ``get_activation``
    appends a zero background column, because ``multiclass_nms`` drops the
    last score column.

    Args:
        delta: Width of the smoothed step function H (paper's δ).
        loss_weight: Weight of the returned loss(es).
        use_sigmoid: Must be True: ranking losses rank per-class logits.
    """

    custom_cls_channels = True
    custom_activation = True

    def __init__(self,
                 delta: float = 1.0,
                 loss_weight: float = 1.0,
                 use_sigmoid: bool = True) -> None:
        super().__init__()
        if not delta > 0:
            raise ValueError(f'delta must be positive, got {delta}')
        if not use_sigmoid:
            raise ValueError(
                f'{type(self).__name__} ranks one sigmoid logit per class: '
                'use_sigmoid must be True')
        self.delta = float(delta)
        self.loss_weight = float(loss_weight)
        self.use_sigmoid = True

    def get_cls_channels(self, num_classes: int) -> int:
        """Number of classifier outputs: one logit per class."""
        return num_classes

    def get_activation(self, cls_score: Tensor) -> Tensor:
        """Sigmoid scores with a zero background column appended.

        Args:
            cls_score: Logits of shape (N, num_classes).

        Returns:
            Scores of shape (N, num_classes + 1).
        """
        scores = cls_score.sigmoid()
        return torch.cat([scores, scores.new_zeros(scores.size(0), 1)], dim=1)

    def get_accuracy(self, cls_score: Tensor, labels: Tensor) -> dict:
        """Accuracy (%) of the sigmoid classifier over all samples.

        A sample is predicted as its highest-scoring class when that score
        exceeds 0.5 (logit > 0), else as background (``num_classes``).

        Args:
            cls_score: Logits of shape (N, num_classes).
            labels: Labels in [0, num_classes], ``num_classes`` = background.
        """
        if cls_score.size(0) == 0:
            return dict(acc=cls_score.new_tensor(0.))
        max_logit, pred = cls_score.detach().max(dim=1)
        pred[max_logit <= 0] = cls_score.size(1)
        return dict(acc=(pred == labels).float().mean() * 100)

    def extra_repr(self) -> str:
        return f'delta={self.delta}, loss_weight={self.loss_weight}'


@register('mmdet')
class aLRPLoss(_RankingLossBase):  # noqa: N801
    """Average Localisation-Recall-Precision (aLRP) Loss.

    Returns the classification component L_cls (eq. 9, error-driven
    gradients of eqs. 12-14) and the localisation component L_loc (the
    hard-order form of eq. 11); the head multiplies L_loc by the
    self-balancing weight (Sec. 4.2). Both are multiplied by ``loss_weight``.

    Args:
        delta: Width of the smoothed step function H.
        loss_weight: Weight of both components (0.2 for the RPN).
        use_sigmoid: Must be True.
        loc_error: Overlap giving the localisation error: ``'giou'`` or
            ``'iou'``.
        tau: IoU threshold of the positives (0.5 for one-stage and RoI heads,
            0.7 for the RPN). The localisation error is
            ``(1 - overlap) / (range * (1 - tau))`` with range 2 for GIoU and
            1 for IoU (Sec. 4.1), i.e. 1 - GIoU for tau = 0.5.
    """

    def __init__(self,
                 delta: float = 1.0,
                 loss_weight: float = 1.0,
                 use_sigmoid: bool = True,
                 loc_error: str = 'giou',
                 tau: float = 0.5) -> None:
        super().__init__(delta, loss_weight, use_sigmoid)
        if loc_error not in LOC_ERROR_RANGES:
            raise ValueError(f'loc_error must be one of '
                             f'{sorted(LOC_ERROR_RANGES)}, got {loc_error!r}')
        if not 0 <= tau < 1:
            raise ValueError(f'tau must be in [0, 1), got {tau}')
        self.loc_error = loc_error
        self.tau = float(tau)

    def localisation_errors(self, pred_boxes: Tensor,
                            target_boxes: Tensor) -> Tensor:
        """Localisation error E_loc of each positive.

        Args:
            pred_boxes: Decoded predicted boxes (P, 4), x1y1x2y2.
            target_boxes: Their ground-truth boxes (P, 4).

        Returns:
            E_loc of shape (P,), differentiable w.r.t. ``pred_boxes``.
        """
        if pred_boxes.shape != target_boxes.shape:
            raise ValueError(
                f'pred_boxes {tuple(pred_boxes.shape)} and target_boxes '
                f'{tuple(target_boxes.shape)} must have the same shape')
        overlap = bbox_overlaps(
            pred_boxes, target_boxes, mode=self.loc_error, is_aligned=True)
        scale = LOC_ERROR_RANGES[self.loc_error] * (1 - self.tau)
        return (1 - overlap) / scale

    def forward(self, logits: Tensor, targets: Tensor,
                loc_errors: Tensor) -> Tuple[Tensor, Tensor]:
        """Compute the weighted (L_cls, L_loc).

        Args:
            logits: Flattened logits of the whole batch, 1-D.
            targets: Same shape; 1 positive, 0 negative, -1 ignored.
            loc_errors: E_loc of each positive, in the order of
                ``logits[targets == 1]``.

        Returns:
            ``loss_weight * L_cls`` and ``loss_weight * L_loc``.
        """
        loss_cls, loss_loc = alrp_loss(
            logits, targets, loc_errors, delta=self.delta)
        return self.loss_weight * loss_cls, self.loss_weight * loss_loc


@register('mmdet')
class APLoss(_RankingLossBase):
    """Average Precision Loss (Chen et al.), the aLRP paper's baseline.

    Args:
        delta: Width of the smoothed step function H.
        loss_weight: Weight of the loss.
        use_sigmoid: Must be True.
    """

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """Compute ``loss_weight`` × (1 − interpolated AP).

        Args:
            logits: Flattened logits of the whole batch, 1-D.
            targets: Same shape; 1 positive, 0 negative, -1 ignored.
        """
        return self.loss_weight * ap_loss(logits, targets, delta=self.delta)

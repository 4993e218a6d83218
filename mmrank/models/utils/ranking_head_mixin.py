"""Shared machinery of the heads trained with aLRP Loss or AP Loss.

A ranking loss is computed once per training step over all images, priors
and classes of the batch jointly (a ranking loss per image or per level is a
different loss). Every head therefore flattens its predictions and targets
into one matrix of logits (num_priors_in_batch, num_classes), finds the
positives, decodes their boxes, and hands everything to
:meth:`RankingHeadMixin.ranking_loss`.
"""
from typing import Dict, List, Optional

import torch
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from mmrank.models.losses.ranking_losses import APLoss, aLRPLoss
from .ranking_analysis import gradient_ratio, rank_correlation


def flatten_levels(level_outputs: List[Tensor], channels: int,
                   image_major: bool = True) -> Tensor:
    """Flatten multi-level dense outputs into rows of ``channels`` values.

    Args:
        level_outputs: One (B, A * channels, H, W) tensor per level.
        channels: Values per prior (num_classes, or the box encoding size).
        image_major: True orders rows image by image (levels inside), as
            mmdet's anchor targets; False orders them level by level
            (images inside), as ``FoveaHead.get_targets``.

    Returns:
        Tensor of shape (B * sum_l A * H_l * W_l, channels).
    """
    rows = [
        out.permute(0, 2, 3, 1).reshape(out.size(0), -1, channels)
        for out in level_outputs
    ]
    if image_major:
        return torch.cat(rows, dim=1).reshape(-1, channels)
    return torch.cat([r.reshape(-1, channels) for r in rows])


def positive_indices(labels: Tensor, label_weights: Optional[Tensor],
                     num_classes: int) -> Tensor:
    """Ascending indices of the positive priors.

    Ascending order matches the order of ``logits[targets == 1]`` for the
    row-major flattened (num_priors, num_classes) logits, which is the order
    in which the ranking core expects the localisation errors.

    Args:
        labels: Label of each prior; ``num_classes`` is background.
        label_weights: Weight of each prior; 0 marks an ignored prior.
            None means no prior is ignored.
        num_classes: Number of foreground classes.
    """
    positive = (labels >= 0) & (labels < num_classes)
    if label_weights is not None:
        positive &= label_weights > 0
    return positive.nonzero(as_tuple=False).view(-1)


def ranking_targets(labels: Tensor, label_weights: Optional[Tensor],
                    num_classes: int) -> Tensor:
    """One-hot ranking targets of shape (num_priors, num_classes).

    1 for the class of a positive prior, 0 for every other class of it and
    for all classes of a background prior, -1 for all classes of an ignored
    prior (``label_weights == 0``).
    """
    targets = labels.new_zeros(labels.size(0), num_classes, dtype=torch.int8)
    pos_inds = positive_indices(labels, label_weights, num_classes)
    targets[pos_inds, labels[pos_inds]] = 1
    if label_weights is not None:
        targets[label_weights <= 0] = -1
    return targets


class RankingHeadMixin:
    """Ranking loss, self-balancing weight and diagnostics for a head.

    Mixed into an mmdet head (listed first among the bases) whose
    ``loss_cls`` is an :class:`aLRPLoss` or an :class:`APLoss`.

    With aLRP Loss the head keeps the self-balancing weight w_r of the
    localisation component (paper Sec. 4.2) as the buffer ``loc_weight``, so
    it is saved in checkpoints; :class:`~mmrank.engine.hooks.
    SelfBalancingHook` updates it from ``sb_components``, the detached
    (L_cls, L_loc) of the last step. Without the hook the weight stays
    constant (the paper's Table 3).

    Setting ``analysis_requested`` makes the next :meth:`ranking_loss` record
    in ``ranking_stats`` the rank correlation of the positives' scores and
    IoUs, and, once the backward pass reaches the logits, the ratio of the
    negatives' to the positives' gradient magnitudes.

    Args:
        loc_weight: Initial w_r multiplying L_loc (aLRP Loss only).
        *args, **kwargs: Arguments of the mmdet head.
    """

    def __init__(self, *args, loc_weight: float = 50.0, **kwargs) -> None:
        # Dense heads size their classifier from ``loss_cls['use_sigmoid']``
        # (default False: a background logit); ranking losses are sigmoid.
        if isinstance(kwargs.get('loss_cls'), dict):
            kwargs['loss_cls'] = dict(kwargs['loss_cls'])
            kwargs['loss_cls'].setdefault('use_sigmoid', True)
        super().__init__(*args, **kwargs)
        if not isinstance(self.loss_cls, (aLRPLoss, APLoss)):
            raise TypeError(
                f'{type(self).__name__} needs loss_cls of type aLRPLoss or '
                f'APLoss, got {type(self.loss_cls).__name__}')
        if not loc_weight > 0:
            raise ValueError(f'loc_weight must be positive, got {loc_weight}')
        if self.self_balanced:
            self.register_buffer('loc_weight',
                                 torch.tensor(float(loc_weight)))
        self.sb_components: Optional[Tensor] = None
        self.analysis_requested = False
        self.ranking_stats: Dict[str, float] = {}

    @property
    def self_balanced(self) -> bool:
        """Whether L_loc is balanced by w_r (True for aLRP Loss)."""
        return isinstance(self.loss_cls, aLRPLoss)

    def ranking_loss(self, cls_scores: Tensor, labels: Tensor,
                     label_weights: Optional[Tensor], pos_inds: Tensor,
                     pos_pred_boxes: Tensor,
                     pos_target_boxes: Tensor) -> Dict[str, Tensor]:
        """Batch-wide ranking loss.

        Args:
            cls_scores: Logits (num_priors, num_classes) of the whole batch.
            labels: Label of each prior; ``num_classes`` is background.
            label_weights: 0 marks ignored priors; None ignores none.
            pos_inds: Ascending indices of the positives
                (:func:`positive_indices`).
            pos_pred_boxes: Decoded predicted boxes of the positives (P, 4).
            pos_target_boxes: Their ground-truth boxes (P, 4).

        Returns:
            ``loss_cls`` and, for aLRP Loss, ``loss_bbox`` = w_r · L_loc.
        """
        if not pos_pred_boxes.size(0) == pos_target_boxes.size(0) == \
                pos_inds.numel():
            raise ValueError(
                f'{pos_inds.numel()} positives but pos_pred_boxes '
                f'{tuple(pos_pred_boxes.shape)} and pos_target_boxes '
                f'{tuple(pos_target_boxes.shape)}')
        num_classes = cls_scores.size(1)
        targets = ranking_targets(labels, label_weights, num_classes)
        logits, flat_targets = cls_scores.reshape(-1), targets.reshape(-1)
        if self.analysis_requested:
            self._analyse(logits, flat_targets, cls_scores[pos_inds,
                                                           labels[pos_inds]],
                          pos_pred_boxes, pos_target_boxes)
        if not self.self_balanced:
            return dict(loss_cls=self.loss_cls(logits, flat_targets))
        loc_errors = self.loss_cls.localisation_errors(pos_pred_boxes,
                                                       pos_target_boxes)
        loss_cls, loss_loc = self.loss_cls(logits, flat_targets, loc_errors)
        self.sb_components = torch.stack(
            [loss_cls.detach(), loss_loc.detach()]).float()
        return dict(loss_cls=loss_cls, loss_bbox=self.loc_weight * loss_loc)

    def coder_ranking_loss(self, cls_scores: Tensor, labels: Tensor,
                           label_weights: Optional[Tensor], pos_inds: Tensor,
                           pos_priors: Tensor, pos_bbox_preds: Tensor,
                           pos_bbox_targets: Tensor) -> Dict[str, Tensor]:
        """:meth:`ranking_loss` for heads that regress through ``bbox_coder``.

        With AP Loss the box branch is trained by the head's stock
        ``loss_bbox`` on the positives (e.g. Smooth L1 on the deltas),
        averaged over the number of positives.

        Args:
            cls_scores, labels, label_weights, pos_inds: As
                :meth:`ranking_loss`.
            pos_priors: Anchors / proposals of the positives (P, 4).
            pos_bbox_preds: Their predicted deltas (P, encode_size).
            pos_bbox_targets: Their targets: deltas, or boxes when
                ``reg_decoded_bbox`` is set.
        """
        pred_boxes = get_box_tensor(
            self.bbox_coder.decode(pos_priors, pos_bbox_preds))
        if self.reg_decoded_bbox:
            target_boxes = pos_bbox_targets
        else:
            target_boxes = get_box_tensor(
                self.bbox_coder.decode(pos_priors, pos_bbox_targets))
        losses = self.ranking_loss(cls_scores, labels, label_weights,
                                   pos_inds, pred_boxes, target_boxes)
        if not self.self_balanced:
            pred = pred_boxes if self.reg_decoded_bbox else pos_bbox_preds
            losses['loss_bbox'] = self.loss_bbox(
                pred, pos_bbox_targets, avg_factor=max(pos_inds.numel(), 1))
        return losses

    def _analyse(self, logits: Tensor, targets: Tensor, pos_scores: Tensor,
                 pos_pred_boxes: Tensor, pos_target_boxes: Tensor) -> None:
        """Record ρ now and the gradient ratio during the backward pass."""
        self.analysis_requested = False
        self.ranking_stats = {}
        ious = bbox_overlaps(
            pos_pred_boxes.detach(), pos_target_boxes, is_aligned=True)
        rho = rank_correlation(pos_scores, ious)
        if rho is not None:
            self.ranking_stats['rank_corr'] = rho

        def record_ratio(grad: Tensor) -> None:
            ratio = gradient_ratio(grad, targets)
            if ratio is not None:
                self.ranking_stats['grad_ratio'] = ratio

        if logits.requires_grad:
            logits.register_hook(record_ratio)


def ranking_heads(model: nn.Module,
                  self_balanced_only: bool = False
                  ) -> Dict[str, RankingHeadMixin]:
    """Heads of ``model`` (unwrapped from DDP etc.) using a ranking loss.

    Args:
        model: The runner's model, possibly wrapped.
        self_balanced_only: Keep only the heads with aLRP Loss.

    Returns:
        Module name (e.g. ``'rpn_head'``, ``'roi_head.bbox_head'``) to head,
        in module order, which is the same on every rank.
    """
    if is_model_wrapper(model):
        model = model.module
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, RankingHeadMixin) and (
            module.self_balanced or not self_balanced_only)
    }

"""Shared machinery of the heads trained with a ranking loss.

A ranking loss is computed once per training step over all images, priors
and classes of the batch jointly (a ranking loss per image or per level is a
different loss). Every head therefore flattens its predictions and targets
into one matrix of logits (num_priors_in_batch, num_classes), finds the
positives, decodes their boxes, and hands everything to
:meth:`RankingHeadMixin.ranking_loss`.
"""
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from ..ranking_protocol import (PositiveBoxes, RankingHeadProtocol,
                                RankingLossProtocol, registered_names,
                                stock_head_message)
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
                    pos_inds: Tensor, num_classes: int) -> Tensor:
    """One-hot ranking targets of shape (num_priors, num_classes).

    1 for the class of a positive prior, 0 for every other class of it and
    for all classes of a background prior, -1 for all classes of an ignored
    prior (``label_weights == 0``).

    Args:
        labels, label_weights, num_classes: As :func:`positive_indices`.
        pos_inds: The positives, as :func:`positive_indices` returns them.
    """
    targets = labels.new_zeros(labels.size(0), num_classes, dtype=torch.int8)
    targets[pos_inds, labels[pos_inds]] = 1
    if label_weights is not None:
        targets[label_weights <= 0] = -1
    return targets


class RankingHeadMixin(RankingHeadProtocol):
    """Batch-wide ranking loss, balancing and diagnostics for a head.

    Mixed into an mmdet head (listed first among the bases) whose
    ``loss_cls`` is a ranking loss
    (:class:`~mmrank.models.ranking_protocol.RankingLossProtocol`). The head
    gathers the batch and calls :meth:`ranking_loss`; everything that
    depends on the loss comes from the loss's declarations (what it needs
    per positive, whether it trains the boxes, whether it self-balances).

    Hooks talk to the head through methods: :meth:`pop_balance_terms`,
    :meth:`apply_balance` and :meth:`balance_weight`
    (:class:`~mmrank.engine.hooks.SelfBalancingHook`), and
    :meth:`request_analysis` / :meth:`pop_analysis`
    (:class:`~mmrank.engine.hooks.RankingAnalysisHook`): a requested
    analysis records, at the next :meth:`ranking_loss`, the rank
    correlation of the positives' scores and IoUs and, once the backward
    pass reaches the logits, the ratio of the negatives' to the positives'
    gradient magnitudes.

    Args:
        *args, **kwargs: Arguments of the mmdet head.
    """

    def __init__(self, *args, **kwargs) -> None:
        # Dense heads size their classifier from ``loss_cls['use_sigmoid']``
        # (default False: a background logit); ranking losses are sigmoid.
        if isinstance(kwargs.get('loss_cls'), dict):
            kwargs['loss_cls'] = dict(kwargs['loss_cls'])
            kwargs['loss_cls'].setdefault('use_sigmoid', True)
        super().__init__(*args, **kwargs)
        if not isinstance(self.loss_cls, RankingLossProtocol):
            raise TypeError(
                f'{type(self).__name__} needs a ranking loss as loss_cls '
                f'(one of {registered_names(RankingLossProtocol)}), got '
                f'{type(self.loss_cls).__name__}; for a stock loss use the '
                'stock mmdet head')
        self._balance_terms: Optional[Tensor] = None
        self._analysis_requested = False
        self._analysis: Dict[str, float] = {}

    @property
    def self_balancing(self) -> bool:
        """Whether SelfBalancingHook balances this head's loss."""
        return self.loss_cls.self_balancing

    @property
    def balance_term_names(self) -> Tuple[str, ...]:
        """Names of the loss's balance terms (:meth:`pop_balance_terms`)."""
        return self.loss_cls.balance_term_names

    @property
    def balanced_weight_name(self) -> Optional[str]:
        """Name of the weight the loss balances, as it is logged."""
        return self.loss_cls.balanced_weight_name

    def ranking_loss(
        self,
        cls_scores: Tensor,
        labels: Tensor,
        label_weights: Optional[Tensor],
        pos_inds: Tensor,
        pos_pred_boxes: Tensor,
        pos_target_boxes: Tensor,
        stock_box_loss: Optional[Callable[[], Tensor]] = None
    ) -> Dict[str, Tensor]:
        """Batch-wide ranking loss.

        Args:
            cls_scores: Logits (num_priors, num_classes) of the whole batch.
            labels: Label of each prior; ``num_classes`` is background.
            label_weights: 0 marks ignored priors; None ignores none.
            pos_inds: Ascending indices of the positives
                (:func:`positive_indices`).
            pos_pred_boxes: Decoded predicted boxes of the positives (P, 4).
            pos_target_boxes: Their ground-truth boxes (P, 4).
            stock_box_loss: The head's own box loss of the positives, used
                as ``loss_bbox`` when the ranking loss does not train the
                localisation (AP Loss + Smooth L1).

        Returns:
            The ranking loss's components (``loss_cls`` and ``loss_bbox``
            for aLRP Loss; ``loss_rank``, ``loss_sort``, ``loss_bbox`` and
            ``box_weight`` for RS Loss).
        """
        if not pos_pred_boxes.size(0) == pos_target_boxes.size(0) == \
                pos_inds.numel():
            raise ValueError(
                f'{pos_inds.numel()} positives but pos_pred_boxes '
                f'{tuple(pos_pred_boxes.shape)} and pos_target_boxes '
                f'{tuple(pos_target_boxes.shape)}')
        num_classes = cls_scores.size(1)
        self.check_class_labels(
            labels if label_weights is None else labels[label_weights > 0],
            background=True)
        targets = ranking_targets(labels, label_weights, pos_inds,
                                  num_classes)
        logits, flat_targets = cls_scores.reshape(-1), targets.reshape(-1)
        if self._analysis_requested:
            self._analyse(logits, flat_targets, cls_scores[pos_inds,
                                                           labels[pos_inds]],
                          pos_pred_boxes, pos_target_boxes)
        output = self.loss_cls(
            logits, flat_targets,
            PositiveBoxes(pos_pred_boxes, pos_target_boxes,
                          cls_scores[pos_inds]))
        self._balance_terms = output.balance_terms
        losses = dict(output.losses)
        if not self.loss_cls.trains_localisation:
            if stock_box_loss is None:
                raise ValueError(
                    f'{type(self.loss_cls).__name__} does not train the '
                    f'boxes and {type(self).__name__} passed no box loss')
            losses['loss_bbox'] = stock_box_loss()
        return losses

    def check_class_labels(self, labels: Tensor,
                           background: bool = False) -> None:
        """Stop on a class label the classifier has no logit for.

        Stock mmdet heads stop there too (``Class values must be smaller
        than num_classes``). Unchecked, a ranking head would silently train
        such objects as background: a ground-truth label equal to
        ``num_classes`` is the background label, and every label outside
        ``[0, num_classes)`` is left out of the positives.

        Args:
            labels: Labels of ground-truth objects, or of the priors that
                are not ignored; leave out the ignored ones (they stay
                ignored).
            background: Whether ``num_classes`` (background) is allowed,
                as it is for the priors' labels.

        Raises:
            ValueError: Naming the head, the label, ``num_classes`` and the
                fix.
        """
        top = self.num_classes + int(background)
        bad = (labels < 0) | (labels >= top)
        if not bool(bad.any()):
            return
        label = int(labels[bad][0])
        if label < 0:
            raise ValueError(
                f'{type(self).__name__} got class label {label}: class '
                f'values must be in [0, num_classes={self.num_classes}). '
                'Check the annotations (a negative label is no class; '
                'objects to leave out of training belong in the ignored '
                'instances)')
        raise ValueError(
            f'{type(self).__name__} got class label {label} but has '
            f'num_classes={self.num_classes}: class values must be smaller '
            'than num_classes, else those objects would be trained as '
            'background. Set num_classes of this head in the config (e.g. '
            'model.bbox_head.num_classes, or '
            'model.roi_head.bbox_head.num_classes) to the number of classes '
            f'of the dataset (at least {int(labels.max()) + 1} here), and '
            'check the dataset\'s metainfo classes')

    def coder_ranking_loss(self, cls_scores: Tensor, labels: Tensor,
                           label_weights: Optional[Tensor], pos_inds: Tensor,
                           pos_priors: Tensor, pos_bbox_preds: Tensor,
                           pos_bbox_targets: Tensor) -> Dict[str, Tensor]:
        """:meth:`ranking_loss` for heads that regress through ``bbox_coder``.

        The stock box loss (for losses that do not train the boxes) is the
        head's ``loss_bbox`` on the positives (e.g. Smooth L1 on the
        deltas), averaged over the number of positives.

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
        pred = pred_boxes if self.reg_decoded_bbox else pos_bbox_preds
        return self.ranking_loss(
            cls_scores, labels, label_weights, pos_inds, pred_boxes,
            target_boxes, lambda: self.loss_bbox(
                pred, pos_bbox_targets, avg_factor=max(pos_inds.numel(), 1)))

    def pop_balance_terms(self) -> Optional[Tensor]:
        """The balance terms of the last :meth:`ranking_loss` (once)."""
        terms, self._balance_terms = self._balance_terms, None
        return terms

    def apply_balance(self, sums: Tensor) -> None:
        """Let the loss update its balancing weight from the summed balance
        terms of a period."""
        self.loss_cls.apply_balance(sums)

    def balance_weight(self) -> Optional[float]:
        """The loss's current balancing weight (e.g. aLRP's w_r)."""
        return self.loss_cls.balance_weight()

    def request_analysis(self) -> None:
        """Analyse the next :meth:`ranking_loss` (see the class doc)."""
        self._analysis_requested = True
        self._analysis = {}

    def pop_analysis(self) -> Dict[str, float]:
        """What the last requested analysis recorded (once)."""
        stats, self._analysis = self._analysis, {}
        return stats

    def _analyse(self, logits: Tensor, targets: Tensor, pos_scores: Tensor,
                 pos_pred_boxes: Tensor, pos_target_boxes: Tensor) -> None:
        """Record ρ now and the gradient ratio during the backward pass."""
        self._analysis_requested = False
        stats = self._analysis
        ious = bbox_overlaps(
            pos_pred_boxes.detach(), pos_target_boxes, is_aligned=True)
        rho = rank_correlation(pos_scores, ious)
        if rho is not None:
            stats['rank_corr'] = rho

        def record_ratio(grad: Tensor) -> None:
            ratio = gradient_ratio(grad, targets)
            if ratio is not None:
                stats['grad_ratio'] = ratio

        if logits.requires_grad:
            logits.register_hook(record_ratio)


def check_ranking_losses_in_ranking_heads(model: nn.Module) -> None:
    """Stop when a ranking loss sits in a head that is not a ranking head.

    Such a model fails at its first loss computation anyway; this check
    gives the same message (naming the ranking heads) before training, so
    that it comes first whatever hooks are configured.

    Args:
        model: The (unwrapped) model.

    Raises:
        TypeError: Naming the loss, the head holding it and the ranking
            heads to use instead.
    """
    for name, module in model.named_modules():
        if not isinstance(module, RankingLossProtocol):
            continue
        head_name = name.rpartition('.')[0]
        head = model.get_submodule(head_name)
        if not isinstance(head, RankingHeadMixin):
            raise TypeError(
                stock_head_message(
                    type(module).__name__,
                    f' (found in {type(head).__name__} '
                    f'{head_name or "model"}.{name.rpartition(".")[2]})'))


def ranking_heads(model: nn.Module,
                  self_balancing_only: bool = False
                  ) -> Dict[str, RankingHeadMixin]:
    """Heads of ``model`` (unwrapped from DDP etc.) using a ranking loss.

    Args:
        model: The runner's model, possibly wrapped.
        self_balancing_only: Keep only the heads whose loss self-balances.

    Returns:
        Module name (e.g. ``'rpn_head'``, ``'roi_head.bbox_head'``) to head,
        in module order, which is the same on every rank.

    Raises:
        TypeError: When a ranking loss sits in a stock head
            (:func:`check_ranking_losses_in_ranking_heads`).
    """
    if is_model_wrapper(model):
        model = model.module
    check_ranking_losses_in_ranking_heads(model)
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, RankingHeadMixin) and (
            module.self_balancing or not self_balancing_only)
    }

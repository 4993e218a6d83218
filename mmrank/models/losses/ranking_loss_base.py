"""The protocol between ranking losses and the heads that train them.

A ranking loss is batch-wide: a head flattens the logits of all images,
priors and classes of a batch into one vector with one target per entry
(1 positive, 0 negative, -1 ignored) and calls the loss once. Each loss
declares what it needs per positive (:class:`PositiveInput`), whether it
trains the localisation itself, and whether it is balanced by
:class:`~mmrank.engine.hooks.SelfBalancingHook`; it returns its named,
already weighted loss components and the detached terms of its balancing
rule (:class:`RankingLossOutput`). Heads and hooks rely on nothing else.
"""
from enum import Enum
from typing import Dict, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn

from mmrank.core.ranking.backends import IMPLS


class PositiveInput(str, Enum):
    """What a ranking loss needs for each positive, besides its logit."""
    NONE = 'none'  #: nothing: the head trains the boxes with its loss_bbox
    LOC_ERROR = 'loc_error'  #: a localisation error (e.g. 1 - GIoU)
    QUALITY = 'quality'  #: a quality target (e.g. the IoU) as its label


class PositiveBoxes(NamedTuple):
    """The positives of a batch, in the order of ``logits[targets == 1]``.

    Attributes:
        pred: Decoded predicted boxes (P, 4), x1y1x2y2, with gradient.
        target: Their ground-truth boxes (P, 4).
        logits: The class logits of each positive's prior (P, C).
    """
    pred: Tensor
    target: Tensor
    logits: Tensor


class RankingLossOutput(NamedTuple):
    """What a ranking loss returns to its head.

    Attributes:
        losses: Named loss components, already weighted (keys with
            ``loss`` are summed by mmdet; others are only logged).
        balance_terms: Detached, unweighted terms of the loss's balancing
            rule for :class:`SelfBalancingHook`, or None.
    """
    losses: Dict[str, Tensor]
    balance_terms: Optional[Tensor] = None


def _ranking_head_names() -> str:
    """The registered ranking heads, for error messages."""
    from mmdet.registry import MODELS

    from mmrank.models.utils import RankingHeadMixin
    return ', '.join(
        sorted(name for name, cls in MODELS.module_dict.items()
               if isinstance(cls, type) and issubclass(cls, RankingHeadMixin)))


def stock_head_message(loss_name: str, detail: str = '') -> str:
    """Why a ranking loss cannot train in a stock mmdet head, and the fix.

    Args:
        loss_name: The ranking loss's class name.
        detail: What was found, e.g. ``' (in RetinaHead bbox_head)'``.

    Returns:
        The message naming the ranking heads to use instead.
    """
    return (f'{loss_name} is a batch-wide ranking loss: it takes the '
            'flattened logits of the whole batch, not the per-level, '
            f'per-sample arguments of a stock mmdet head{detail}. Train it '
            'with a ranking head, i.e. set the head type to one of '
            f'{_ranking_head_names()} (e.g. '
            "model.bbox_head.type='RankingRetinaHead').")


class RankingLoss(nn.Module):
    """Base class of the ranking losses.

    Dense heads read ``use_sigmoid`` to size their classifier (one logit per
    class, no background logit). The RoI box head of mmdet reads
    ``custom_cls_channels`` / ``get_cls_channels`` / ``get_activation``: the
    classifier has ``num_classes`` sigmoid outputs and ``get_activation``
    appends a zero background column, because ``multiclass_nms`` drops the
    last score column.

    Subclasses set the class attributes and implement :meth:`compute`.

    Args:
        delta: Width of the smoothed step function H (paper's δ).
        loss_weight: Weight of every returned component.
        use_sigmoid: Must be True: ranking losses rank per-class logits.
        impl: How the passes over the negatives run: ``'auto'`` (the torch
            path until a GPU benchmark shows the fused kernels faster),
            ``'torch'``, or ``'triton'`` (fused kernels, CUDA).
    """

    custom_cls_channels = True
    custom_activation = True
    #: What the loss needs per positive.
    positive_input: PositiveInput = PositiveInput.NONE
    #: Whether the loss trains the localisation (else the head's loss_bbox).
    trains_localisation = False
    #: Whether SelfBalancingHook balances it (:meth:`apply_balance`).
    self_balancing = False
    #: Names of the balance terms, for messages.
    balance_term_names: Tuple[str, ...] = ()

    def __init__(self,
                 delta: float = 1.0,
                 loss_weight: float = 1.0,
                 use_sigmoid: bool = True,
                 impl: str = 'auto') -> None:
        super().__init__()
        if impl not in IMPLS:
            raise ValueError(f'impl must be one of {IMPLS}, got {impl!r}')
        self.impl = impl
        if not delta > 0:
            raise ValueError(f'delta must be positive, got {delta}')
        if not use_sigmoid:
            raise ValueError(
                f'{type(self).__name__} ranks one sigmoid logit per class: '
                'use_sigmoid must be True')
        self.delta = float(delta)
        self.loss_weight = float(loss_weight)
        self.use_sigmoid = True

    def forward(self, logits: Tensor, targets: Tensor,
                positives: Optional[PositiveBoxes] = None, *args,
                **kwargs) -> RankingLossOutput:
        """Compute the weighted loss components of one batch.

        Args:
            logits: Flattened logits of the whole batch, 1-D.
            targets: Same shape; 1 positive, 0 negative, -1 ignored.
            positives: The positives' boxes and logits; needed unless
                ``positive_input`` is ``NONE``.

        Raises:
            TypeError: When called like a per-sample mmdet loss (a stock
                head), naming the ranking heads to use instead.
        """
        if args or kwargs or logits.dim() != 1 or not (
                positives is None or isinstance(positives, PositiveBoxes)):
            extra = ', '.join(sorted(kwargs))
            raise TypeError(
                stock_head_message(type(self).__name__,
                                   f' (got {extra})' if extra else ''))
        if positives is None and self.positive_input != PositiveInput.NONE:
            raise ValueError(
                f'{type(self).__name__} needs the positives\' boxes: pass '
                'positives=PositiveBoxes(pred, target, logits)')
        return self.compute(logits, targets, positives)

    def compute(self, logits: Tensor, targets: Tensor,
                positives: Optional[PositiveBoxes]) -> RankingLossOutput:
        """The loss of one batch (arguments as :meth:`forward`)."""
        raise NotImplementedError

    def balance_weight(self) -> Optional[float]:
        """The current balancing weight, if the loss has one."""
        return None

    def apply_balance(self, sums: Tensor) -> None:
        """Update the balancing weight from the summed balance terms of a
        period (self-balancing losses only)."""
        raise TypeError(f'{type(self).__name__} is not self-balancing')

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

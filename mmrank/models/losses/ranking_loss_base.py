"""Base class of the ranking losses.

The protocol it implements is :mod:`mmrank.models.ranking_protocol`.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from mmrank.core.ranking.backends import IMPLS
from ..ranking_protocol import (PositiveBoxes, PositiveInput,
                                RankingLossOutput, RankingLossProtocol,
                                stock_head_message)

__all__ = [
    'PositiveBoxes', 'PositiveInput', 'RankingLoss', 'RankingLossOutput'
]


class RankingLoss(RankingLossProtocol, nn.Module):
    """Base class of the ranking losses.

    Dense heads read ``use_sigmoid`` to size their classifier (one logit per
    class, no background logit). The RoI box head of mmdet reads
    ``custom_cls_channels`` / ``get_cls_channels`` / ``get_activation``: the
    classifier has ``num_classes`` sigmoid outputs and ``get_activation``
    appends a zero background column, because ``multiclass_nms`` drops the
    last score column.

    Subclasses set the class attributes and implement :meth:`compute`.

    Args:
        delta: Half width of the linear part of the smoothed step
            function H (paper's δ).
        loss_weight: Weight of every returned component.
        use_sigmoid: Must be True: ranking losses rank per-class logits.
        impl: How the passes over the negatives run: ``'auto'`` (the torch
            path), ``'torch'``, or ``'triton'`` (fused kernels, CUDA).
    """

    custom_cls_channels = True
    custom_activation = True

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

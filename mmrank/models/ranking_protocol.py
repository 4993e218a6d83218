"""The protocol between ranking losses and the heads that train them.

A ranking loss is batch-wide: a head flattens the logits of all images,
priors and classes of a batch into one vector with one target per entry
(1 positive, 0 negative, -1 ignored) and calls the loss once. Each loss
declares what it needs per positive (:class:`PositiveInput`), whether it
trains the localisation itself, and whether it is balanced by
:class:`~mmrank.engine.hooks.SelfBalancingHook` (then also the names of its
balance terms and of the weight it balances); it returns its named,
already weighted loss components and the detached terms of its balancing
rule (:class:`RankingLossOutput`), and says which of its components
balance a mask loss (:meth:`RankingLossProtocol.mask_balance_value`).

Losses derive from :class:`RankingLossProtocol`, heads from
:class:`RankingHeadProtocol`; each side knows the other only through this
module.
"""
from enum import Enum
from typing import Dict, NamedTuple, Optional, Tuple

from torch import Tensor


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


class RankingLossProtocol:
    """What heads and hooks may ask of a ranking loss."""

    #: What the loss needs per positive.
    positive_input: PositiveInput = PositiveInput.NONE
    #: Whether the loss trains the localisation (else the head's loss_bbox).
    trains_localisation = False
    #: Whether SelfBalancingHook balances it (:meth:`apply_balance`).
    self_balancing = False
    #: Names of the balance terms, for messages.
    balance_term_names: Tuple[str, ...] = ()
    #: Name of the weight the loss balances, the key it is logged under.
    balanced_weight_name: Optional[str] = None

    def balance_weight(self) -> Optional[float]:
        """The current balancing weight, if the loss has one."""
        return None

    def apply_balance(self, sums: Tensor) -> None:
        """Update the balancing weight from the summed balance terms of a
        period (self-balancing losses only)."""
        raise TypeError(f'{type(self).__name__} is not self-balancing')

    def mask_balance_value(self, losses: Dict[str, Tensor]) -> Tensor:
        """The value that balances a mask loss trained beside this loss.

        Args:
            losses: The components this loss returned (plus the head's
                ``loss_bbox``).

        Returns:
            The sum of the classification components: every summed
            component (key with ``loss``) except ``loss_bbox``.
        """
        return sum(value for key, value in losses.items()
                   if 'loss' in key and key != 'loss_bbox')


class RankingHeadProtocol:
    """Marks a head that trains a :class:`RankingLossProtocol` loss."""


def registered_names(base: type) -> str:
    """The classes registered in mmdet's ``MODELS`` that derive from
    ``base``, comma-separated, for error messages."""
    from mmdet.registry import MODELS
    return ', '.join(
        sorted(name for name, cls in MODELS.module_dict.items()
               if isinstance(cls, type) and issubclass(cls, base)))


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
            f'{registered_names(RankingHeadProtocol)} (e.g. '
            "model.bbox_head.type='RankingRetinaHead').")

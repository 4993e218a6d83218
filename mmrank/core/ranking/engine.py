"""The ranking engine shared by the ranking losses (aLRP, AP, Rank & Sort).

Notation: ``s`` are the logits of one training step flattened over images,
anchors and classes; ``P`` the positives, ``N`` the negatives (entries with
target ``-1`` take no part); ``x_ij = s_j - s_i`` and the smoothed step
``H(x) = clamp(x / (2 delta) + 1/2, 0, 1)``, ``delta`` the half width of its
linear part. Every loss needs, for each positive ``i``, sums of the form
``sum_k w_k H(q - p_k)`` over the positives (:mod:`.steps`) and ``N_FP(i) =
sum_{j in N} H(x_ij)`` over the negatives (:mod:`.negatives`, by the backend
chosen in :mod:`.backends`).

Algorithm: no ``P x N`` or ``P x P`` matrix is formed. The positives are
sorted once; negatives below ``min_i s_i - delta`` reach no positive and
are dropped first. Time is O((P + N) log P) and extra memory O(P + N); sums
are accumulated in float64 on logits centred at the median positive.
"""
from typing import NamedTuple, Tuple, Type

import torch
from torch import Tensor

from ..checks import check_finite
from .negatives import NegativePasses, TorchPasses
from .steps import search_windows, step_sums


class Ranking(NamedTuple):
    """Ranking statistics of one batch; positives in ascending score order.

    Attributes:
        pos_index: Positions in ``logits`` of the positives, in the order of
            ``logits[targets > 0]``, shape (P,).
        order: Permutation sorting ``logits[targets > 0]`` ascending.
        scores: Sorted centred positive logits (float64), shape (P,).
        pos_targets: Their targets (float64): 1, or a quality in (0, 1].
        above: ``sum_{k in P} H(x_ik)`` of the sorted positives, ``k = i``
            included with ``H(0) = 1/2`` (float64).
        num_fp: ``N_FP(i)`` of the sorted positives (float64).
        pos_lo, pos_hi: Bounds of the linear part of ``H(x_ik)`` of the
            sorted positives among themselves (:func:`.steps.windows`),
            shape (P,).
        delta: Half width of the linear part of ``H``.
        negatives: The backend's passes over the negatives of the batch.
    """
    pos_index: Tensor
    order: Tensor
    scores: Tensor
    pos_targets: Tensor
    above: Tensor
    num_fp: Tensor
    pos_lo: Tensor
    pos_hi: Tensor
    delta: float
    negatives: NegativePasses

    @property
    def num_pos(self) -> int:
        return self.scores.numel()

    @property
    def alrp_rank(self) -> Tensor:
        """``rank(i) = 1 + sum_{k != i} H(x_ik) + N_FP(i)`` of aLRP and AP
        Loss (the positive itself counted once)."""
        return self.above + 0.5 + self.num_fp

    def sorted_values(self, values: Tensor) -> Tensor:
        """Per-positive ``values`` (order of ``logits[targets > 0]``) as
        float64 in ascending score order."""
        return values.detach().to(torch.float64)[self.order]

    def pos_step_sums(self, weights: Tensor) -> Tensor:
        """``sum_k w_k H(x_ik)`` for each sorted positive ``i`` (``k = i``
        included), ``weights`` in sorted order (float64)."""
        return weights.sum() - step_sums(self.scores, weights, self.scores,
                                         self.pos_lo, self.pos_hi, self.delta)

    def unsort(self, values: Tensor) -> Tensor:
        """Sorted per-positive ``values`` back in the order of
        ``logits[targets > 0]``."""
        return torch.empty_like(values).scatter_(0, self.order, values)

    def tie_bounds(self) -> Tuple[Tensor, Tensor]:
        """For each sorted positive, the first and one past the last sorted
        position holding its score (its group of tied positives)."""
        return (torch.searchsorted(self.scores, self.scores),
                torch.searchsorted(self.scores, self.scores, right=True))


def check_inputs(logits: Tensor,
                 targets: Tensor,
                 delta: float,
                 per_positive: Tuple[Tuple[str, Tensor], ...] = (),
                 continuous: bool = False) -> Tensor:
    """Raise TypeError/ValueError naming the argument for bad inputs.

    Args:
        logits: 1-D float scores.
        targets: Same shape: 1 (or a quality in (0, 1] when
            ``continuous``) positive, 0 negative, -1 ignored.
        delta: Half width of the linear part of ``H``.
        per_positive: ``(name, tensor)`` pairs of one float value per
            positive (e.g. ``loc_errors``).
        continuous: Whether positive targets may lie anywhere in (0, 1].

    Returns:
        Tensor: Positions of the positives, ``nonzero(targets > 0)``.
    """
    for name, value in (('logits', logits), ('targets', targets),
                        *per_positive):
        if not isinstance(value, Tensor):
            raise TypeError(f'{name} must be a torch.Tensor, '
                            f'got {type(value).__name__}')
    if not logits.is_floating_point():
        raise TypeError(f'logits must be a floating point tensor, '
                        f'got {logits.dtype}')
    if logits.dim() != 1:
        raise ValueError(f'logits must be 1-D, got shape '
                         f'{tuple(logits.shape)}')
    if targets.shape != logits.shape:
        raise ValueError(f'targets must have the shape of logits '
                         f'{tuple(logits.shape)}, got {tuple(targets.shape)}')
    if not delta > 0 or delta == float('inf'):
        raise ValueError(f'delta must be a positive finite number, '
                         f'got {delta}')
    check_finite(logits, 'logits')
    _check_targets(targets, continuous)
    pos_index = torch.nonzero(targets > 0).squeeze(1)
    for name, value in per_positive:
        _check_per_positive(value, name, pos_index.numel())
    return pos_index


def _allowed_targets(targets: Tensor, continuous: bool) -> Tensor:
    """Mask of the valid targets: -1, 0, and 1 or a quality in (0, 1]."""
    allowed = (targets == -1) | (targets == 0)
    return allowed | (((targets > 0) & (targets <= 1))
                      if continuous else targets == 1)


def _check_targets(targets: Tensor, continuous: bool) -> None:
    """Targets must be 1, 0 or -1, or a quality in (0, 1] if continuous.

    NaN and infinite values fail the range test (NaN propagates through
    ``aminmax``); integer targets inside [-1, 1] need no further test.
    """
    if targets.numel() == 0 or targets.dtype == torch.bool:
        return
    low, high = torch.aminmax(targets)
    valid = bool((low >= -1) & (high <= 1))
    if valid and targets.is_floating_point():
        valid = bool(_allowed_targets(targets, continuous).all())
    if not valid:
        bad = targets[~_allowed_targets(targets, continuous)][0]
        expected = ('a quality in (0, 1] (positive)'
                    if continuous else '1 (positive)')
        raise ValueError(f'targets of shape {tuple(targets.shape)} must '
                         f'only hold {expected}, 0 (negative) or -1 '
                         f'(ignored), found {bad.item()}')


def _check_per_positive(values: Tensor, name: str, num_pos: int) -> None:
    """One finite float value per positive."""
    if values.shape != (num_pos, ):
        raise ValueError(f'{name} must be 1-D with one entry per positive, '
                         f'shape ({num_pos},), got {tuple(values.shape)}')
    if not values.is_floating_point():
        raise TypeError(f'{name} must be a floating point tensor, '
                        f'got {values.dtype}')
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f'{name} contain NaN or infinite values')


def rank_positives(
        logits: Tensor,
        targets: Tensor,
        pos_index: Tensor,
        delta: float,
        passes: Type[NegativePasses] = TorchPasses) -> Ranking:
    """Sort the positives; compute their step sums, ``N_FP`` and windows.

    Args:
        logits: 1-D scores of the batch.
        targets: Same shape; positives ``> 0``, negatives ``== 0``.
        pos_index: ``nonzero(targets > 0)`` (from :func:`check_inputs`).
        delta: Half width of the linear part of ``H``.
        passes: The backend of the passes over the negatives
            (:func:`.backends.negative_passes`).
    """
    sorted_logits, order = torch.sort(
        logits.index_select(0, pos_index).to(torch.float64))
    centre = sorted_logits[sorted_logits.numel() // 2]
    scores = sorted_logits - centre
    # Negatives below min_i s_i - delta have H(x_ij) = 0 for every i. The
    # margin makes the test in the input dtype inclusive despite rounding;
    # the few extra negatives it admits contribute exactly nothing.
    bound = sorted_logits[0] - delta
    bound = (bound - (bound.abs() + 1) / 64).to(logits.dtype)
    negatives = passes(scores, logits, targets, centre, bound, delta)
    pos_lo, pos_hi = search_windows(scores, scores, delta)
    # sum_k H(s_k - s_i) = sum_k (1 - H(s_i - s_k)).
    above = scores.numel() - step_sums(scores, torch.ones_like(scores),
                                       scores, pos_lo, pos_hi, delta)
    pos_targets = targets.index_select(0, pos_index)[order].to(torch.float64)
    return Ranking(pos_index, order, scores, pos_targets, above,
                   negatives.false_positive_counts(), pos_lo, pos_hi, delta,
                   negatives)


def share(update: Tensor, mass: Tensor, active: Tensor) -> Tensor:
    """``update / mass`` where ``active``, else 0 (no division by 0)."""
    safe = torch.where(active, mass, torch.ones_like(mass))
    return torch.where(active, update / safe, torch.zeros_like(update))

"""The ranking engine shared by the ranking losses (aLRP, AP, Rank & Sort).

Notation: ``s`` are the logits of one training step flattened over images,
anchors and classes; ``P`` the positives, ``N`` the negatives (entries with
target ``-1`` take no part); ``x_ij = s_j - s_i`` and the smoothed step
``H(x) = clamp(x / (2 delta) + 1/2, 0, 1)``. Every loss needs, for each
positive ``i``, sums of the form ``sum_k w_k H(q - p_k)`` over the positives
and ``N_FP(i) = sum_{j in N} H(x_ij)`` over the negatives.

Algorithm: no ``P x N`` or ``P x P`` matrix is formed. The positives are
sorted once. ``sum_k w_k H(q - p_k)`` is the weight of the points below a
window of width ``2 delta`` around ``q`` plus a linear function of ``q`` over
the window, read from prefix sums of ``w`` and ``w * p`` at the window
bounds (:func:`step_sums`). The bounds come from a uniform lookup grid,
exact because the cell index is a monotone function of the value, with a
binary search only for the queries whose cell holds a window bound
(:func:`windows`). The sums over the unsorted negatives use difference
arrays over the sorted positives (:func:`false_positive_counts`). Negatives
below ``min_i s_i - delta`` reach no positive and are dropped first. Time is
O((P + N) log P) and extra memory O(P + N); sums are accumulated in float64
on logits centred at the median positive.
"""
from typing import NamedTuple, Tuple

import torch
from torch import Tensor

from ..checks import check_finite

#: Cells of the lookup grid of :func:`windows` per positive, and at most.
CELLS_PER_POSITIVE = 64
MAX_CELLS = 1 << 22
#: Fewest queries for which :func:`windows` uses the grid (CPU only).
GRID_MIN_QUERIES = 1 << 16


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
        neg_index: Positions of the negatives that reach a positive, (R,).
        neg_scores: Their centred logits (float64), shape (R,).
        lo: For each of them, the number of positives ``i`` with
            ``s_i < s_j - delta`` (``H(x_ij) = 1``), shape (R,).
        hi: The number of positives with ``s_i <= s_j + delta``; those in
            ``[lo, hi)`` have ``H(x_ij)`` on its linear part.
        pos_lo, pos_hi: The same windows of the sorted positives among
            themselves (``H(x_ik)``), shape (P,).
        delta: Half width of the linear part of ``H``.
        impl: ``'torch'``, or ``'triton'``: the passes over the negatives
            are fused kernels (:mod:`mmrank.core.triton_ranking`) that read
            ``logits`` and ``targets`` directly, and ``neg_index``,
            ``neg_scores``, ``lo``, ``hi`` are empty.
        logits, targets: The inputs (read by the Triton passes).
        centre: The float64 value subtracted from the logits (0-d).
        bound: Negatives with ``logit <= bound`` reach no positive (0-d, in
            the dtype of ``logits``).
    """
    pos_index: Tensor
    order: Tensor
    scores: Tensor
    pos_targets: Tensor
    above: Tensor
    num_fp: Tensor
    neg_index: Tensor
    neg_scores: Tensor
    lo: Tensor
    hi: Tensor
    pos_lo: Tensor
    pos_hi: Tensor
    delta: float
    impl: str
    logits: Tensor
    targets: Tensor
    centre: Tensor
    bound: Tensor

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


def exclusive_cumsum(values: Tensor) -> Tensor:
    """Prefix sums with a leading zero: ``out[k] = values[:k].sum()``."""
    return torch.cat([values.new_zeros(1), values.cumsum(0)])


def search_windows(points: Tensor, queries: Tensor,
                   delta: float) -> Tuple[Tensor, Tensor]:
    """:func:`windows` by binary search, for few queries."""
    lo = torch.searchsorted(points + delta, queries, out_int32=True)
    hi = torch.searchsorted(
        points - delta, queries, right=True, out_int32=True)
    return lo, hi


def windows(points: Tensor, queries: Tensor,
            delta: float) -> Tuple[Tensor, Tensor]:
    """Bounds of the linear part of ``H(q - points_k)`` in sorted ``points``.

    Returns ``lo = #{k: points_k + delta < q}`` (the points below the
    window, ``H = 1``) and ``hi = #{k: points_k - delta <= q}`` (int32).

    ``torch.searchsorted`` is slow per query on CPU, so the queries are
    first placed in a uniform grid over ``[points_0 - delta, points_-1 +
    delta]``. The cell index is a monotone function of the value, so a
    bound in a lower (higher) cell than ``q`` is below (above) ``q``; the
    counts are exact per-cell tables unless ``q``'s cell holds a bound, and
    only those queries are searched. On other devices (parallel binary
    search) and for few queries the search is used directly.
    """
    if queries.device.type != 'cpu' or queries.numel() < GRID_MIN_QUERIES:
        return search_windows(points, queries, delta)
    lower, upper = points + delta, points - delta
    num_cells = min(CELLS_PER_POSITIVE * points.numel(), MAX_CELLS)
    start = upper[0]
    # span >= 2 delta > 0; cells 1..num_cells, 0 below, num_cells + 1 above.
    scale = num_cells / (lower[-1] - start)
    offset = start * scale - 1

    def cell(values: Tensor) -> Tensor:
        index = values * scale
        return index.sub_(offset).floor_().clamp_(0, num_cells + 1).long()

    all_cells = torch.arange(num_cells + 3, device=points.device)
    lo_table = torch.searchsorted(cell(lower), all_cells, out_int32=True)
    hi_table = torch.searchsorted(cell(upper), all_cells, out_int32=True)
    ambiguous_table = (lo_table[1:] > lo_table[:-1]) | (
        hi_table[1:] > hi_table[:-1])
    cells = cell(queries)
    lo, hi = lo_table.index_select(0, cells), hi_table.index_select(0, cells)
    search = torch.nonzero(ambiguous_table.index_select(0, cells)).squeeze(1)
    if search.numel() > 0:
        found = search_windows(points, queries.index_select(0, search),
                               delta)
        lo.index_copy_(0, search, found[0])
        hi.index_copy_(0, search, found[1])
    return lo, hi


def step_tables(points: Tensor, weights: Tensor, delta: float) -> Tensor:
    """Rows ``A``, ``B``, ``C`` (P + 1 each) with ``sum_k w_k H(q -
    points_k) = A[lo] + B[hi] + q (C[hi] - C[lo])`` (:func:`step_sums`).

    With ``cw``, ``cws`` the prefix sums of ``w`` and ``w * points``, the
    points below the window add ``cw[lo]`` and those in it
    ``(q / (2 delta) + 1/2) (cw[hi] - cw[lo]) - (cws[hi] - cws[lo]) /
    (2 delta)``.
    """
    cum_w = exclusive_cumsum(weights)
    cum_ws = exclusive_cumsum(weights * points) / (2 * delta)
    return torch.stack(
        [0.5 * cum_w + cum_ws, 0.5 * cum_w - cum_ws, cum_w / (2 * delta)])


def step_sums(points: Tensor, weights: Tensor, queries: Tensor, lo: Tensor,
              hi: Tensor, delta: float) -> Tensor:
    """``sum_k w_k H(q - points_k)`` for every query ``q``, from
    :func:`step_tables`.

    Args:
        points: Sorted points (float64), shape (P,).
        weights: Their weights ``w_k`` (float64), shape (P,).
        queries: Query values ``q`` (float64), any length.
        lo, hi: Windows of the queries from :func:`windows`.
        delta: Half width of the linear part of ``H``.

    Returns:
        Tensor: One float64 sum per query.
    """
    below, above, slope = step_tables(points, weights, delta)
    sums = below.index_select(0, lo) + above.index_select(0, hi)
    return sums.addcmul_(
        queries, slope.index_select(0, hi) - slope.index_select(0, lo))


def false_positive_counts(scores: Tensor, neg_scores: Tensor, lo: Tensor,
                          hi: Tensor, delta: float) -> Tensor:
    """``N_FP(i) = sum_j H(s_j - s_i)`` for every sorted positive.

    Negative ``j`` adds 1 to the positives below its window ``[lo_j, hi_j)``
    and ``(s_j - s_i) / (2 delta) + 1/2`` to those inside it; difference
    arrays over the positive index (sums at ``lo`` and ``hi`` followed by
    cumulative sums) add these ranges up.
    """
    size = scores.numel() + 1

    def covered(values: Tensor) -> Tuple[Tensor, Tensor]:
        """Sums of ``values`` over the windows covering each positive, and
        over the windows starting at or before it."""
        starts = scores.new_zeros(size).index_add_(0, lo, values).cumsum(0)
        ends = scores.new_zeros(size).index_add_(0, hi, values).cumsum(0)
        return (starts - ends)[:-1], starts[:-1]

    inside, started = covered(neg_scores.new_ones(1).expand_as(neg_scores))
    inside_sum, _ = covered(neg_scores)
    above = neg_scores.numel() - started
    counts = above + (inside_sum - inside * scores) / (2 * delta)
    return counts.add_(0.5 * inside).clamp_(min=0)


def rank_positives(logits: Tensor,
                   targets: Tensor,
                   pos_index: Tensor,
                   delta: float,
                   impl: str = 'torch') -> Ranking:
    """Sort the positives; compute their step sums, ``N_FP`` and windows.

    Args:
        logits: 1-D scores of the batch.
        targets: Same shape; positives ``> 0``, negatives ``== 0``.
        pos_index: ``nonzero(targets > 0)`` (from :func:`check_inputs`).
        delta: Half width of the linear part of ``H``.
        impl: ``'torch'`` or ``'triton'`` (see :class:`Ranking`).
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
    if impl == 'triton':
        from ..triton_ranking import false_positive_counts as fused_counts
        num_fp = fused_counts(scores, logits, targets, centre, bound, delta)
        neg_scores = scores.new_zeros(0)
        neg_index = lo = hi = pos_index.new_zeros(0, dtype=torch.int32)
    else:
        relevant = (logits > bound) & (targets == 0)
        neg_index = torch.nonzero(relevant).squeeze(1)
        neg_scores = logits.index_select(0, neg_index).to(
            torch.float64).sub_(centre)
        lo, hi = windows(scores, neg_scores, delta)
        num_fp = false_positive_counts(scores, neg_scores, lo, hi, delta)
    pos_lo, pos_hi = search_windows(scores, scores, delta)
    # sum_k H(s_k - s_i) = sum_k (1 - H(s_i - s_k)).
    above = scores.numel() - step_sums(scores, torch.ones_like(scores),
                                       scores, pos_lo, pos_hi, delta)
    pos_targets = targets.index_select(0, pos_index)[order].to(torch.float64)
    return Ranking(pos_index, order, scores, pos_targets, above, num_fp,
                   neg_index, neg_scores, lo, hi, pos_lo, pos_hi, delta,
                   impl, logits, targets, centre, bound)


def share(update: Tensor, mass: Tensor, active: Tensor) -> Tensor:
    """``update / mass`` where ``active``, else 0 (no division by 0)."""
    safe = torch.where(active, mass, torch.ones_like(mass))
    return torch.where(active, update / safe, torch.zeros_like(update))


def negative_gradient(ranking: Ranking, shares: Tensor,
                      out: Tensor) -> None:
    """Write the negatives' gradient ``sum_i c_i H(x_ij)`` into ``out``.

    Args:
        ranking: Statistics from :func:`rank_positives`.
        shares: ``c_i`` of the sorted positives: the weight with which
            positive ``i`` passes its update to negative ``j`` in proportion
            to ``H(x_ij)`` (aLRP eqs. 12-14), float64.
        out: Float32/float64 tensor of the shape of the logits; the
            relevant negatives' entries are written, the others kept.
    """
    if ranking.impl == 'triton':
        from ..triton_ranking import negative_gradient as fused_gradient
        fused_gradient(ranking.scores, shares, ranking.logits,
                       ranking.targets, ranking.centre, ranking.bound,
                       ranking.delta, out)
        return
    out.index_copy_(
        0, ranking.neg_index,
        step_sums(ranking.scores, shares, ranking.neg_scores, ranking.lo,
                  ranking.hi, ranking.delta).to(out.dtype))

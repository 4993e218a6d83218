"""The smoothed step function of the ranking losses over sorted points.

``H(x) = clamp(x / (2 delta) + 1/2, 0, 1)``, ``delta`` the half width of its
linear part. For sorted points ``p`` and queries ``q``, sums of the form
``sum_k w_k H(q - p_k)`` are the weight of the points below a window of
width ``2 delta`` around ``q`` plus a linear function of ``q`` over the
window, read from prefix sums of ``w`` and ``w * p`` at the window bounds
(:func:`step_tables`, :func:`step_sums`). The bounds come from a uniform
lookup grid, exact because the cell index is a monotone function of the
value, with a binary search only for the queries whose cell holds a window
bound (:func:`windows`). :func:`false_positive_counts` adds windows up with
difference arrays. Plain torch, imports nothing of mmrank.
"""
from typing import Tuple

import torch
from torch import Tensor

#: Cells of the lookup grid of :func:`windows` per positive, and at most.
CELLS_PER_POSITIVE = 64
MAX_CELLS = 1 << 22
#: Fewest queries for which :func:`windows` uses the grid (CPU only).
GRID_MIN_QUERIES = 1 << 16


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

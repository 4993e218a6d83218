"""Step sums restricted by a second order: ``sum_{k: key_k in prefix}``.

Rank & Sort Loss needs, for each positive ``i``, sums such as
``sum_{k in P, y_k >= y_i} w_k H(s_k - s_i)``: a window over the scores
crossed with a prefix of the positives in quality order. The prefix
``[0, e)`` of the quality order splits into at most ``log2 P + 1`` aligned
dyadic blocks (one per set bit of ``e``). For each block size the points
are sorted by (block, score) once, so that a block's points form one run of
a sorted array with prefix sums of ``w`` and ``w * p``, and the window of a
query is found in its block by binary search in that array. Time
O(P log^2 P) with O(log P) vectorised passes; memory O(P).
"""
from typing import Tuple

import torch
from torch import Tensor

from .steps import exclusive_cumsum, search_windows


def ordered_step_sums(points: Tensor, weights: Tensor, keys: Tensor,
                      queries: Tensor, prefix: Tensor, delta: float,
                      upper: bool) -> Tensor:
    """``sum_{k: keys_k < prefix_q} w_k H(+-(p_k - q))`` for every query.

    Args:
        points: Points ``p_k`` in ascending order (float64), shape (P,).
        weights: Their weights ``w_k`` (float64), shape (P,).
        keys: Position of each point in the second order, a permutation of
            ``0..P-1`` (int64), shape (P,).
        queries: Query values ``q`` (float64), shape (Q,).
        prefix: Per query, the number ``e_q`` of leading positions of the
            second order that take part (int64), shape (Q,).
        delta: Half width of the linear part of ``H``.
        upper: True sums ``H(p_k - q)`` (points above ``q`` count fully),
            False sums ``H(q - p_k)`` (points below ``q`` count fully).

    Returns:
        Tensor: One float64 sum per query; exactly 0 where no point of the
        prefix reaches the query's window.
    """
    num = points.numel()
    # Points below lo have p + delta < q, those at or above hi p - delta > q.
    lo, hi = (w.long() for w in search_windows(points, queries, delta))
    position = torch.arange(num, device=points.device)
    total = queries.new_zeros(queries.shape)
    level = 0
    while (1 << level) <= num:
        selected = torch.nonzero((prefix >> level) & 1).squeeze(1)
        if selected.numel() > 0:
            # Block b of this level holds the positions [b 2^l, (b+1) 2^l)
            # of the second order; a query's block is (e >> l) - 1.
            sort_keys, order = torch.sort((keys >> level) * num + position)
            cum_w = exclusive_cumsum(weights[order])
            cum_wp = exclusive_cumsum((weights * points)[order])
            base = ((prefix[selected] >> level) - 1) * num
            start, a, b, end = (torch.searchsorted(sort_keys, base + bound)
                                for bound in (0, lo[selected], hi[selected],
                                              num))
            total.index_add_(
                0, selected,
                _block_sums(cum_w, cum_wp, (start, a, b, end),
                            queries[selected], delta, upper))
        level += 1
    return total


def _block_sums(cum_w: Tensor, cum_wp: Tensor, bounds: Tuple[Tensor, ...],
                queries: Tensor, delta: float, upper: bool) -> Tensor:
    """Sums of one block: full weight outside the window on the counted
    side, and the linear part of ``H`` inside ``[a, b)``."""
    start, a, b, end = bounds
    inside_w = cum_w[b] - cum_w[a]
    inside_wp = (cum_wp[b] - cum_wp[a]) / (2 * delta)
    if upper:  # H(p - q) = (p - q) / (2 delta) + 1/2 inside the window
        full = cum_w[end] - cum_w[b]
        return full + inside_wp + (0.5 - queries / (2 * delta)) * inside_w
    full = cum_w[a] - cum_w[start]
    return full - inside_wp + (0.5 + queries / (2 * delta)) * inside_w

"""Generic UniLoss machinery (Liu, Wang and Deng, ECCV 2020).

A mini-batch metric is re-expressed as ``e = g(h(f(s)))`` (Sec. 3.1): ``f``
maps the scores ``s`` to ``l`` comparisons (score differences), ``h`` maps
each comparison to a binary (its sign) and ``g`` maps the binary
configuration to the metric. UniLoss replaces ``h`` by a sigmoid (Sec. 3.2)
and ``g`` by inverse-distance-weighted (IDW) interpolation over ``t`` anchor
configurations whose metric values are known (Sec. 3.3, Eq. 4):

.. math::

    \\tilde g(u) = \\frac{\\sum_i g(a_i) / d(u, a_i)}{\\sum_i 1 / d(u, a_i)}

and the loss is ``1 - g~``.

Every comparison matrix here has shape ``(rows, cols)`` (images x compared
classes, positives x negatives, positive pixels x pixels) with an optional
validity mask; invalid entries are held at 0 in the relaxation and in every
anchor, so they never contribute to a distance. The matrix is visited in
blocks of rows of about :data:`.metric.BLOCK_ELEMENTS` entries, which a
metric computes from its scores when asked (the PCKh metric never holds its
``l ~ 10^7`` comparisons: the forward and the backward pass each compute
them again block by block), so memory is ``O(block + t)``; the backward pass
of a block hands its gradient back to the metric, which maps it onto the
scores. Anchors are never materialised as a ``t x l`` matrix:

* an anchor that differs from a base configuration (the ground truth or the
  current binarised configuration) in the bits ``F`` has
  ``||u - a||^2 = ||u - base||^2 + sum_{b in F} (1 - 2 base_b)(1 - 2 u_b)``,
  which is ``((u_b - (1 - base_b))^2 - (u_b - base_b)^2)`` summed over ``F``,
  so it costs ``O(|F|)``;
* uniformly random anchors are drawn as packed words, one word holding the
  bits of up to 16 anchors for a comparison, block by block (drawn again
  from the same seed, in the same order, in the backward pass), and
  ``||u - a_i||^2 = sum u^2 + sum_b a_ib (1 - 2 u_b)`` is reduced through a
  histogram of the words weighted by ``1 - 2 u`` (the gradient is gathered
  back from a table with one entry per word value), so the cost is ``O(l)``
  per plane of 16 anchors; their metric values come from per-row /
  per-column counts of the packed bits, or, for metrics that only ask
  whether a row is all ones, from a bitwise AND over a prefix of each row
  (a full row is checked only when its prefix is all ones).

The squared distances to the two base configurations are sums over ``l``
computed without cancellation (``||u - G||^2 = sum_valid (1 - u)^2`` for the
ground truth ``G``, every valid comparison won, and
``||u - B||^2 = sum min(u, 1 - u)^2`` for the current configuration ``B``),
with ``1 - u = sigmoid(-scale c)`` evaluated directly so that saturated
comparisons keep their precision in float32.

The gradient flows through the relaxed binaries only (anchors and their
values are constants) and is the exact gradient of ``-g~``: autograd from
the squared distances on, one hand-written backward from the distances to
the comparisons (``d||u - a||^2 / du = 2 (u - a)``) and the metric's map
from comparisons to scores, checked against a dense ``t x l``
implementation and finite differences in the tests.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from .anchors import AnchorConfig, FlipAnchors, flip_sq_dists, idw_interpolate
from .bits import bit_sums, bit_table_dot, seeded_generator, word_planes
from .metric import ComparisonMetric, Configuration, RandomCounts


def _relax(comparisons: Tensor, scale: float) -> Tuple[Tensor, Tensor]:
    """``u = sigmoid(scale c)`` and ``1 - u = sigmoid(-scale c)``, both
    evaluated directly (accurate near 0 and near 1)."""
    scaled = comparisons if scale == 1 else comparisons * scale
    return torch.sigmoid(scaled), torch.sigmoid(-scaled)


class _PlaneSums:
    """Reductions of one plane of random anchors, summed over the blocks."""

    def __init__(self, num_bits: int) -> None:
        self.num_bits = num_bits
        self.hist: Optional[Tensor] = None
        self.row_stats: List[Tensor] = []
        self.col_counts: Optional[Tensor] = None

    def add(self, words: Tensor, weights: Tensor,
            counts: RandomCounts) -> None:
        """Add one block: its words weighted by ``1 - 2 u`` and its
        per-row / per-column statistics."""
        hist = torch.bincount(
            words.reshape(-1), weights=weights, minlength=2**self.num_bits)
        self.hist = hist if self.hist is None else self.hist + hist
        self.row_stats.append(counts.row_stats)
        if counts.col_counts is not None:
            self.col_counts = counts.col_counts if self.col_counts is None \
                else self.col_counts + counts.col_counts

    def dots(self) -> Tensor:
        """``T_i = sum_b a_ib (1 - 2 u_b)`` of the plane's anchors."""
        return bit_sums(self.hist, self.num_bits)

    def values(self, metric: ComparisonMetric) -> Tensor:
        """``g(a_i)`` of the plane's anchors."""
        return metric.random_values(
            RandomCounts(torch.cat(self.row_stats, 1), self.col_counts))


def _forward_sums(metric: ComparisonMetric, num_random: int, seed: int,
                  scale: float) -> Tuple[Tensor, Tensor, Tensor, Tensor,
                                         Tensor]:
    """One pass over the blocks: the base distances and random anchors.

    Returns:
        ``sum (1 - u)^2`` over all entries (invalid ones count 1 each),
        ``||u - B||^2``, ``sum u^2``, and ``T_i = sum_b a_ib (1 - 2 u_b)``
        and ``g(a_i)`` of the random anchors.
    """
    planes = [_PlaneSums(num_bits) for _, num_bits in word_planes(num_random)]
    generator = seeded_generator(metric.device, seed)
    sq_rest = sq_margin = sq_u = metric.inputs.new_zeros(())
    for rows in metric.row_blocks():
        u, rest = _relax(metric.block(rows), scale)
        flat_rest = rest.reshape(-1)
        sq_rest = sq_rest + flat_rest.dot(flat_rest)
        margin = torch.minimum(u, rest).reshape(-1)
        sq_margin = sq_margin + margin.dot(margin)
        if not planes:
            continue
        flat = u.reshape(-1)
        sq_u = sq_u + flat.dot(flat)
        weights = (rest - u).reshape(-1)  # 1 - 2 u
        for plane in planes:
            words = metric.random_words(rows, plane.num_bits, generator)
            plane.add(
                words, weights,
                metric.random_block_counts(words, rows, plane.num_bits))
    if not planes:
        empty = metric.inputs.new_zeros(0)
        return sq_rest, sq_margin, sq_u, empty, empty
    dots = torch.cat([plane.dots() for plane in planes])
    values = torch.cat([plane.values(metric) for plane in planes])
    return (sq_rest, sq_margin, sq_u, dots.to(metric.dtype),
            values.to(metric.dtype))


class _AnchorSqDists(torch.autograd.Function):
    """Squared distances from ``u = sigmoid(scale * c)`` to every anchor.

    Anchors, in order: the ground truth ``G`` (every valid bit 1), the
    current configuration ``B``, the good anchors (bits of ``G`` flipped),
    the nearby anchors (bits of ``B`` flipped) and the random anchors. The
    base distances are summed directly, without cancellation:
    ``||u - G||^2 = sum_valid sigmoid(-scale c)^2`` and
    ``||u - B||^2 = sum sigmoid(-scale |c|)^2``. Since
    ``d||u - a||^2 / du = 2 (u - a)``, the backward pass is
    ``2 (u - 1) (g_G + sum_good g_i) + 2 (u - B) (g_B + sum_nearby g_i)
    + 2 sum_random g_i (u - a_i)`` plus the flipped bits' terms, times
    ``scale u (1 - u)``, with ``u - 1 = -sigmoid(-scale c)``: a few passes
    over each block, computed again from the scores, with the random
    anchors drawn again from their seed. On invalid entries ``u = 0``, so
    their gradient is 0 and ``G`` may be taken as all ones there.
    """

    @staticmethod
    def forward(ctx, inputs: Tensor, metric: ComparisonMetric,
                current: Configuration, good: FlipAnchors,
                nearby: FlipAnchors, num_random: int, seed: int,
                scale: float) -> Tuple[Tensor, Tensor]:
        truth = metric.ground_truth()
        sq_rest, sq_current, sq_u, dots, values = _forward_sums(
            metric, num_random, seed, scale)
        # invalid entries have 1 - u = 1: one each in sq_rest
        sq_truth = sq_rest - (metric.shape.numel() - truth.row_counts.sum())
        sq_dists = [sq_truth[None], sq_current[None]]
        flip_index, flip_anchor, flip_coefs = [], [], []
        for base, flips, base_sq, offset in (
                (truth, good, sq_truth, 2),
                (current, nearby, sq_current, 2 + good.num)):
            u_flip, rest_flip = _relax(
                metric.comparisons_at(flips.index), scale)
            sign = 1 - 2 * base.bits_at(flips.index).to(u_flip.dtype)
            sq_dists.append(flip_sq_dists(u_flip, sign, base_sq, flips))
            flip_index.append(flips.index)
            flip_anchor.append(flips.anchor + offset)
            # d/dc of sign (1 - 2 u) = -2 sign scale u (1 - u)
            flip_coefs.append(-2 * scale * sign * u_flip * rest_flip)
        if num_random:
            sq_dists.append(sq_u + dots)
        index = torch.cat(flip_index)
        order = index.argsort()
        ctx.flip = (index[order], torch.cat(flip_anchor)[order],
                    torch.cat(flip_coefs)[order])
        ctx.metric, ctx.nums = metric, (good.num, nearby.num, num_random)
        ctx.seed, ctx.scale = seed, scale
        ctx.mark_non_differentiable(values)
        return torch.cat(sq_dists), values

    @staticmethod
    def backward(ctx, grad: Tensor, _) -> tuple:
        metric, scale = ctx.metric, ctx.scale
        num_good, num_nearby, num_random = ctx.nums
        grad_good = grad[2:2 + num_good]
        grad_nearby = grad[2 + num_good:2 + num_good + num_nearby]
        grad_random = grad[2 + num_good + num_nearby:]
        grad_truth = grad[0] + grad_good.sum()
        grad_current = grad[1] + grad_nearby.sum()
        planes = word_planes(num_random)
        luts = [
            bit_table_dot(-2 * grad_random[start:start + num_bits],
                           num_bits) for start, num_bits in planes
        ]
        flip_index, flip_anchor, flip_coef = ctx.flip
        flip_grad = flip_coef * grad[flip_anchor]
        generator = seeded_generator(metric.device, ctx.seed)
        out = torch.zeros_like(metric.inputs)
        num_cols = metric.num_cols
        blocks = list(metric.row_blocks())
        # the flipped bits of each block (one host sync for all blocks)
        bounds = torch.searchsorted(
            flip_index,
            flip_index.new_tensor([rows.start * num_cols
                                   for rows in blocks] +
                                  [metric.shape.numel()])).tolist()
        for i, rows in enumerate(blocks):
            comparisons = metric.block(rows)
            u, rest = _relax(comparisons, scale)
            # 2 (u - a) g per anchor, with u - 1 = -rest (no cancellation)
            grad_u = rest * (-2 * grad_truth)
            grad_u.addcmul_(torch.where(comparisons > 0, -rest, u),
                            2 * grad_current)
            if planes:
                grad_u.addcmul_(u, 2 * grad_random.sum())
                flat = grad_u.view(-1)
                for lut, (_, num_bits) in zip(luts, planes):
                    # unmasked: invalid entries get u (1 - u) = 0 below
                    words = metric.random_words(rows, num_bits, generator,
                                                masked=False)
                    flat.add_(lut.index_select(0, words.view(-1)))
            grad_u.mul_(u).mul_(rest)
            if scale != 1:
                grad_u.mul_(scale)
            lo, hi = bounds[i], bounds[i + 1]
            grad_u.view(-1).index_add_(
                0, flip_index[lo:hi] - rows.start * num_cols,
                flip_grad[lo:hi])
            metric.block_grad(rows, grad_u, out)
        return out, None, None, None, None, None, None, None


def uniloss(metric: ComparisonMetric, cfg: AnchorConfig) -> Tensor:
    """UniLoss ``1 - g~(sigmoid(scale * f(s)))`` (Eqs. 3-4).

    Args:
        metric: The task's comparisons and metric.
        cfg: Anchor and relaxation settings.

    Returns:
        Scalar loss; its gradient flows through the relaxed binaries only.
    """
    truth, current = metric.ground_truth(), metric.binarise()
    good = metric.good_flips(cfg.num_good)
    nearby = metric.nearby_flips(current, cfg.num_nearby)
    seed = int(torch.randint(0, 2**62, ()))
    sq_dists, random_values = _AnchorSqDists.apply(metric.inputs, metric,
                                                   current, good, nearby,
                                                   cfg.num_random, seed,
                                                   cfg.scale)
    values = [
        metric.value(truth.row_counts[None], truth.col_counts[None]),
        metric.value(current.row_counts[None], current.col_counts[None])
    ]
    for base, flips in ((truth, good), (current, nearby)):
        if flips.num:
            values.append(metric.flip_values(base, flips))
    values = torch.cat([v.to(sq_dists.dtype)
                        for v in values] + [random_values])
    start = 0 if cfg.include_bases else 2
    return 1 - idw_interpolate(values[start:], sq_dists[start:], cfg.eps)

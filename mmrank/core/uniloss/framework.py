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
anchor, so they never contribute to a distance. Anchors are never
materialised as a ``t x l`` matrix:

* an anchor that differs from a base configuration (the ground truth or the
  current binarised configuration) in the bits ``F`` has
  ``||u - a||^2 = ||u - base||^2 + sum_{b in F} (1 - 2 base_b)(1 - 2 u_b)``,
  which is ``((u_b - (1 - base_b))^2 - (u_b - base_b)^2)`` summed over ``F``,
  so it costs ``O(|F|)``;
* uniformly random anchors are drawn as packed words, one word holding the
  bits of up to 16 anchors for a comparison, one plane of words at a time
  (drawn again from the same seed in the backward pass), and
  ``||u - a_i||^2 = sum u^2 + sum_b a_ib (1 - 2 u_b)`` is reduced through a
  histogram of the words weighted by ``1 - 2 u`` (the gradient is gathered
  back from a table with one entry per word value), so the cost is ``O(l)``
  per word plane whatever the number of anchors in it; their metric values
  come from per-row / per-column counts of the packed bits, or, for metrics
  that only ask whether a row is all ones, from a bitwise AND over a prefix
  of each row (a full row is checked only when its prefix is all ones).

The squared distances to the two base configurations are sums over ``l``
computed without cancellation (``||u - G||^2 = sum_valid (1 - u)^2`` for the
ground truth ``G``, every valid comparison won, and
``||u - B||^2 = sum min(u, 1 - u)^2`` for the current configuration ``B``),
with ``1 - u = sigmoid(-scale c)`` evaluated directly so that saturated
comparisons keep their precision in float32.

The gradient flows through the relaxed binaries only (anchors and their
values are constants) and is the exact gradient of ``-g~``: autograd from
the squared distances on, and one hand-written backward from the distances
to the comparisons (``d||u - a||^2 / du = 2 (u - a)``), checked against a
dense ``t x l`` implementation and finite differences in the tests.
"""
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from torch import Tensor

#: Random anchors share one int32 word per comparison, 16 anchors per plane.
BITS_PER_WORD = 16
#: Columns AND-ed to rule a row out before checking it whole.
PREFIX_COLUMNS = 64


@dataclass
class AnchorConfig:
    """Anchor sampling and relaxation settings (Sec. 3.3, Table 4).

    Args:
        num_good: Anchors made by flipping bits of the ground truth.
        num_nearby: Anchors made by flipping bits of the current binarised
            configuration.
        num_random: Uniformly random binary configurations ("bad" anchors).
        include_bases: Also use the ground truth and the current binarised
            configuration themselves as anchors.
        scale: Comparisons are relaxed as ``sigmoid(scale * c)`` (Eq. 3).
        eps: Squared distances at or below ``eps`` count as coincident: the
            interpolation then returns the coincident anchors' value.
    """
    num_good: int = 16
    num_nearby: int = 16
    num_random: int = 16
    include_bases: bool = True
    scale: float = 1.0
    eps: float = 1e-12

    def __post_init__(self) -> None:
        for name in ('num_good', 'num_nearby', 'num_random'):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f'{name} must be a non-negative int, '
                                 f'got {value!r}')
        if not (self.include_bases or self.num_good or self.num_nearby
                or self.num_random):
            raise ValueError('AnchorConfig needs at least one anchor')
        if self.scale <= 0:
            raise ValueError(f'scale must be positive, got {self.scale}')


@dataclass
class FlipAnchors:
    """Anchors given as sets of bits flipped from a base configuration.

    Attributes:
        index: Flat indices (into the ``rows x cols`` comparison matrix) of
            the flipped bits, unique within each anchor.
        anchor: Anchor id (``0 .. num - 1``) of each flipped bit.
        num: Number of anchors.
    """
    index: Tensor
    anchor: Tensor
    num: int

    @classmethod
    def from_lists(cls, indices: List[Tensor],
                   device: torch.device) -> 'FlipAnchors':
        """Build from one tensor of flat indices per anchor."""
        if not indices:
            empty = torch.zeros(0, dtype=torch.long, device=device)
            return cls(empty, empty, 0)
        anchor = torch.cat([
            torch.full_like(idx, i, dtype=torch.long)
            for i, idx in enumerate(indices)
        ])
        return cls(torch.cat(indices).long(), anchor, len(indices))


def idw_interpolate(values: Tensor, sq_dists: Tensor, eps: float) -> Tensor:
    """Inverse-distance-weighted interpolation (Eq. 4), power 1.

    Args:
        values: Metric values ``g(a_i)`` of the anchors, shape ``(t,)``.
        sq_dists: Squared Euclidean distances ``||u - a_i||^2``, ``(t,)``.
        eps: Squared distances ``<= eps`` mean ``u`` coincides with an
            anchor; the result is then that anchor's value (the mean of the
            coincident anchors' values) with zero gradient.

    Returns:
        Scalar ``g~(u)``.
    """
    coincident = sq_dists.detach() <= eps
    if bool(coincident.any()):
        return values[coincident].mean() + 0 * sq_dists.sum()
    inv = sq_dists.rsqrt()
    return (values * inv).sum() / inv.sum()


def flip_sq_dists(u: Tensor, base: Tensor, base_sq_dist: Tensor,
                  flips: FlipAnchors) -> Tensor:
    """Squared distances to anchors that flip bits of ``base`` in O(k).

    ``||u - a||^2 = ||u - base||^2 + sum_{b flipped} (1 - 2 base_b)
    (1 - 2 u_b)``.

    Args:
        u: Relaxed binaries, any shape.
        base: Base configuration (bool, shape of ``u``).
        base_sq_dist: ``||u - base||^2`` (scalar).
        flips: The flipped bits of each anchor.

    Returns:
        Tensor of shape ``(flips.num,)``.
    """
    u_flip = u.reshape(-1)[flips.index]
    sign = 1 - 2 * base.reshape(-1)[flips.index].to(u.dtype)
    correction = u.new_zeros(flips.num).index_add(0, flips.anchor,
                                                  sign * (1 - 2 * u_flip))
    return base_sq_dist + correction


def _bit_sums(hist: Tensor, num_bits: int) -> Tensor:
    """``out_i = sum_v hist[v] * bit_i(v)`` for a histogram over word values.

    Bit ``i`` is set on the second half of every block of ``2**(i + 1)``
    consecutive values, so each sum is a strided view's sum.
    """
    return torch.stack([
        hist.view(-1, 2, 2**i)[:, 1].sum() for i in range(num_bits)
    ])


def _bit_table_dot(coef: Tensor, num_bits: int) -> Tensor:
    """``lut[v] = sum_i coef_i * bit_i(v)`` for every word value ``v``."""
    lut = coef.new_zeros(2**num_bits)
    for i in range(num_bits):
        lut.view(-1, 2, 2**i)[:, 1] += coef[i]
    return lut


def draw_words(shape: torch.Size, invalid: Optional[Tensor], num_bits: int,
               generator: torch.Generator) -> Tensor:
    """``num_bits`` (<= 16) uniformly random anchors packed in one int32
    word per comparison, zero on invalid entries."""
    words = torch.randint(
        0,
        2**num_bits,
        shape,
        dtype=torch.int32,
        device=generator.device,
        generator=generator)
    return words if invalid is None else words.masked_fill_(invalid, 0)


def _planes(num: int):
    """``(first anchor, anchors in the plane)`` of each word plane."""
    for start in range(0, num, BITS_PER_WORD):
        yield start, min(BITS_PER_WORD, num - start)


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def random_anchors(u: Tensor, metric: 'ComparisonMetric', num: int,
                   seed: int) -> Tuple[Tensor, Tensor]:
    """``T_i = sum_b a_ib (1 - 2 u_b)`` and ``g(a_i)`` of random anchors.

    Each plane of up to 16 anchors is drawn from a generator seeded with
    ``seed``, reduced (histograms of the word values, whose bitwise sums
    give ``T``) and freed, so time is ``O(l)`` per plane and memory ``O(l)``
    whatever ``num``. Then ``||u - a_i||^2 = sum u^2 + T_i``.

    Args:
        u: ``(rows, cols)`` relaxed binaries (0 on invalid entries).
        metric: Draws the anchors (``random_words``) and gives their values.
        num: Number of random anchors (>= 1).
        seed: Seed of the anchors' generator.

    Returns:
        ``T`` and the values, both of shape ``(num,)``; no gradient.
    """
    generator = _generator(u.device, seed)
    flat = u.reshape(-1)
    dots, values = [], []
    for _, num_bits in _planes(num):
        words = metric.random_words(num_bits, generator).reshape(-1)
        values.append(metric.random_values(words.view(u.shape), num_bits))
        size = 2**num_bits
        hist = (torch.bincount(words, minlength=size).to(u.dtype) -
                2 * torch.bincount(words, weights=flat, minlength=size).to(
                    u.dtype))
        dots.append(_bit_sums(hist, num_bits))
        del words  # one plane at a time
    return torch.cat(dots), torch.cat(values).to(u.dtype)


def add_random_anchor_sum(out: Tensor, coef: Tensor,
                          invalid: Optional[Tensor], seed: int) -> None:
    """Add ``sum_i coef_i a_i`` over the random anchors drawn from ``seed``
    to ``out`` in place.

    The planes are drawn again in the order of :func:`random_anchors`; each
    contributes a gather from a table with one entry per word value.
    """
    generator = _generator(coef.device, seed)
    flat = out.view(-1)
    for start, num_bits in _planes(len(coef)):
        words = draw_words(out.shape, invalid, num_bits, generator)
        lut = _bit_table_dot(coef[start:start + num_bits], num_bits)
        flat.add_(lut.index_select(0, words.view(-1)))
        del words


def _and_rows(words: Tensor) -> Tensor:
    """Bitwise AND of each row of an integer matrix (by halving)."""
    while words.shape[1] > 1:
        half = words.shape[1] // 2
        folded = words[:, :half] & words[:, half:2 * half]
        words = torch.cat([folded, words[:, 2 * half:]], 1)
    return words[:, 0]


def packed_full_rows(words: Tensor, valid: Optional[Tensor],
                     num_bits: int) -> Tensor:
    """Which rows of each packed anchor are all ones on their valid entries.

    Rows whose first :data:`PREFIX_COLUMNS` entries already have a zero bit
    are ruled out from the prefix alone; the other rows (about
    ``2**-64`` of them for uniform anchors) are AND-ed whole. Exact.

    Args:
        words: ``(rows, cols)`` int32 packed anchors.
        valid: Optional ``(rows, cols)`` bool mask; invalid entries are
            neutral.
        num_bits: Anchors per word.

    Returns:
        Bool tensor ``(num_bits, rows)``.
    """
    ones = 2**num_bits - 1

    def row_and(index) -> Tensor:
        part = words[index]
        if valid is not None:
            part = part | ((~valid[index]).int() * ones)
        return _and_rows(part)

    acc = row_and((slice(None), slice(0, PREFIX_COLUMNS)))
    if words.shape[1] > PREFIX_COLUMNS:
        rows = acc.nonzero()[:, 0]
        acc = torch.zeros_like(acc).index_put_((rows, ), row_and(rows))
    shifts = torch.arange(num_bits, device=words.device)
    return ((acc[None] >> shifts[:, None]) & 1).bool()


@dataclass
class Configuration:
    """A binary configuration with its counts of ones.

    Attributes:
        bits: ``(rows, cols)`` bool, False on invalid entries.
        row_counts: ``(rows,)`` ones per row.
        col_counts: ``(cols,)`` ones per column.
    """
    bits: Tensor
    row_counts: Tensor
    col_counts: Tensor

    @classmethod
    def from_bits(cls, bits: Tensor) -> 'Configuration':
        """Count the ones of ``bits``."""
        return cls(bits, count_ones(bits, 1), count_ones(bits, 0))


def count_ones(bits: Tensor, dim: int) -> Tensor:
    """Ones of a bool matrix along ``dim`` (summed as bytes, int64 out)."""
    return bits.view(torch.uint8).sum(dim, dtype=torch.int32).long()


class ComparisonMetric(metaclass=ABCMeta):
    """A metric written as ``g(h(f(s)))`` on a ``rows x cols`` comparison set.

    A binary is 1 when its comparison is positive (the first score of the
    comparison is strictly larger); comparisons are oriented so that the
    best configuration (the ground truth) has every valid binary 1.
    Subclasses define the comparisons, the metric value from per-row and
    per-column counts of ones, and how good and nearby anchors flip bits.

    Args:
        comparisons: ``f(s)``, shape ``(rows, cols)``.
        valid: Optional bool mask of the comparisons that exist. The
            comparisons must be ``-inf`` on the other entries (subclasses
            build them so, without an extra pass over ``l``): their
            relaxation and binary are then 0, as in every anchor.
    """

    def __init__(self, comparisons: Tensor,
                 valid: Optional[Tensor] = None) -> None:
        if comparisons.dim() != 2:
            raise ValueError('comparisons must be (rows, cols), got shape '
                             f'{tuple(comparisons.shape)}')
        self.comparisons = comparisons
        self.valid = valid
        self.truth_bits = valid if valid is not None else torch.ones_like(
            comparisons, dtype=torch.bool)
        self.invalid = None if valid is None else ~valid
        self._truth: Optional[Configuration] = None

    @property
    def num_cols(self) -> int:
        """Number of columns of the comparison matrix."""
        return self.comparisons.shape[1]

    def ground_truth(self) -> Configuration:
        """Best configuration: every valid comparison won (all ones)."""
        if self._truth is None:
            self._truth = Configuration.from_bits(self.truth_bits)
        return self._truth

    def binarise(self) -> Configuration:
        """``h(f(s))``: the current binary configuration."""
        return Configuration.from_bits(self.comparisons.detach() > 0)

    def evaluate(self, bits: Tensor) -> Tensor:
        """``g`` of one configuration (bool ``(rows, cols)``)."""
        bits = bits & self.truth_bits
        return self.value(
            count_ones(bits, 1)[None],
            count_ones(bits, 0)[None])[0]

    @abstractmethod
    def value(self, row_counts: Tensor, col_counts: Tensor) -> Tensor:
        """``g`` of ``t`` configurations from their counts of ones.

        Args:
            row_counts: ``(t, rows)`` ones per row.
            col_counts: ``(t, cols)`` ones per column.

        Returns:
            Tensor of shape ``(t,)``.
        """

    @abstractmethod
    def good_flips(self, num: int) -> FlipAnchors:
        """Bits of the ground truth flipped by each good anchor."""

    @abstractmethod
    def nearby_flips(self, current: Configuration, num: int) -> FlipAnchors:
        """Bits of the current configuration flipped by each nearby
        anchor."""

    def flip_values(self, base: Configuration,
                    flips: FlipAnchors) -> Tensor:
        """Metric values of anchors flipping bits of ``base``, in O(k).

        Args:
            base: Base configuration.
            flips: The flipped bits of each anchor.

        Returns:
            Tensor of shape ``(flips.num,)``.
        """
        delta = 1 - 2 * base.bits.reshape(-1)[flips.index].long()
        rows = flips.index // self.num_cols
        cols = flips.index % self.num_cols
        row_counts = base.row_counts.expand(flips.num, -1).clone()
        col_counts = base.col_counts.expand(flips.num, -1).clone()
        row_counts.index_put_((flips.anchor, rows), delta, accumulate=True)
        col_counts.index_put_((flips.anchor, cols), delta, accumulate=True)
        return self.value(row_counts, col_counts)

    def random_words(self, num_bits: int,
                     generator: torch.Generator) -> Tensor:
        """Draw ``num_bits`` (<= 16) uniformly random anchors packed in one
        int32 word per comparison (zero on invalid entries)."""
        return draw_words(self.comparisons.shape, self.invalid, num_bits,
                          generator)

    def random_values(self, words: Tensor, num_bits: int) -> Tensor:
        """Metric values of the random anchors packed in ``words``.

        Counts are accumulated over chunks of rows, so at most about
        ``2**20`` unpacked bits exist at a time.
        """
        num_rows, num_cols = words.shape
        shifts = torch.arange(num_bits, device=words.device)
        step = max(1, 2**20 // max(1, num_cols * num_bits))
        row_counts, col_counts = [], 0
        for start in range(0, num_rows, step):
            bits = (words[start:start + step, :, None] >> shifts) & 1
            row_counts.append(bits.sum(1).t())
            col_counts = col_counts + bits.sum(0).t()
        return self.value(torch.cat(row_counts, 1), col_counts)

    def random_bit_flips(self, num: int) -> FlipAnchors:
        """One uniformly chosen bit per anchor (for unmasked metrics)."""
        index = torch.randint(
            0, self.comparisons.numel(), (num, ),
            device=self.comparisons.device)
        return FlipAnchors(index, torch.arange(num, device=index.device),
                           num)


class RowAllMetric(ComparisonMetric):
    """A metric that only depends on which rows are all ones."""

    @abstractmethod
    def value_from_full_rows(self, full: Tensor) -> Tensor:
        """``g`` of ``t`` configurations from ``(t, rows)`` all-ones flags."""

    def value(self, row_counts: Tensor, col_counts: Tensor) -> Tensor:
        return self.value_from_full_rows(
            row_counts == self.ground_truth().row_counts)

    def random_values(self, words: Tensor, num_bits: int) -> Tensor:
        return self.value_from_full_rows(
            packed_full_rows(words, self.valid, num_bits))


def _flip_grad(grad_u: Tensor, base: Tensor, flips: FlipAnchors,
               grad: Tensor) -> None:
    """Add the flipped bits' terms ``-2 (1 - 2 base_b) grad_i`` in place."""
    if flips.num:
        sign = 1 - 2 * base.reshape(-1)[flips.index].to(grad.dtype)
        grad_u.reshape(-1).index_add_(0, flips.index,
                                      -2 * sign * grad[flips.anchor])


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
    over ``l``, the random anchors drawn again from their seed. On invalid
    entries ``u = 0``, so their gradient is 0 and ``G`` may be taken as all
    ones there.
    """

    @staticmethod
    def forward(ctx, comparisons: Tensor, metric: 'ComparisonMetric',
                current: Configuration, good: FlipAnchors,
                nearby: FlipAnchors, num_random: int, seed: int,
                scale: float) -> Tuple[Tensor, Tensor]:
        scaled = comparisons if scale == 1 else comparisons * scale
        u = torch.sigmoid(scaled)
        rest = torch.sigmoid(-scaled)  # 1 - u, accurate near u = 1
        del scaled
        truth = metric.ground_truth()
        # invalid entries have rest = 1: one each in the sum
        num_invalid = comparisons.numel() - truth.row_counts.sum()
        sq_truth = rest.reshape(-1).dot(rest.reshape(-1)) - num_invalid
        margin = torch.minimum(u, rest).reshape(-1)
        sq_current = margin.dot(margin)
        del margin
        sq_dists = [
            sq_truth[None], sq_current[None],
            flip_sq_dists(u, truth.bits, sq_truth, good),
            flip_sq_dists(u, current.bits, sq_current, nearby)
        ]
        values = u.new_zeros(0)
        if num_random:
            dots, values = random_anchors(u, metric, num_random, seed)
            sq_dists.append(u.reshape(-1).dot(u.reshape(-1)) + dots)
        ctx.save_for_backward(u, rest, current.bits, truth.bits,
                              metric.invalid)
        ctx.flips = (good, nearby)
        ctx.num_random, ctx.seed, ctx.scale = num_random, seed, scale
        ctx.mark_non_differentiable(values)
        return torch.cat(sq_dists), values

    @staticmethod
    def backward(ctx, grad: Tensor, _) -> tuple:
        u, rest, current, truth, invalid = ctx.saved_tensors
        good, nearby = ctx.flips
        grad_good = grad[2:2 + good.num]
        grad_nearby = grad[2 + good.num:2 + good.num + nearby.num]
        grad_truth = grad[0] + grad_good.sum()
        grad_current = grad[1] + grad_nearby.sum()
        # 2 (u - a) g per anchor, with u - 1 = -rest (no cancellation)
        grad_u = rest * (-2 * grad_truth)
        grad_u.addcmul_(torch.where(current, -rest, u), 2 * grad_current)
        if ctx.num_random:
            grad_random = grad[2 + good.num + nearby.num:]
            grad_u.addcmul_(u, 2 * grad_random.sum())
            add_random_anchor_sum(grad_u, -2 * grad_random, invalid,
                                  ctx.seed)
        _flip_grad(grad_u, truth, good, grad_good)
        _flip_grad(grad_u, current, nearby, grad_nearby)
        grad_u.mul_(u).mul_(rest)
        if ctx.scale != 1:
            grad_u.mul_(ctx.scale)
        return grad_u, None, None, None, None, None, None, None


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
    sq_dists, random_values = _AnchorSqDists.apply(metric.comparisons,
                                                   metric, current, good,
                                                   nearby, cfg.num_random,
                                                   seed, cfg.scale)
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

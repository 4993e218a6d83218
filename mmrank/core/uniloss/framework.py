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
blocks of rows of about :data:`BLOCK_ELEMENTS` entries, which a metric
computes from its scores when asked (the PCKh metric never holds its
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
import math
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Tuple

import torch
from torch import Tensor

#: Random anchors share one int32 word per comparison, 16 anchors per plane.
BITS_PER_WORD = 16
#: Columns AND-ed to rule a row out before checking it whole.
PREFIX_COLUMNS = 64
#: Comparisons visited at a time (a block of whole rows; 4 MiB of float32).
BLOCK_ELEMENTS = 2**20


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


def flip_sq_dists(u_flip: Tensor, sign: Tensor, base_sq_dist: Tensor,
                  flips: FlipAnchors) -> Tensor:
    """Squared distances to anchors that flip bits of a base in O(k).

    ``||u - a||^2 = ||u - base||^2 + sum_{b flipped} (1 - 2 base_b)
    (1 - 2 u_b)``.

    Args:
        u_flip: Relaxed binaries at ``flips.index``.
        sign: ``1 - 2 base`` at ``flips.index``.
        base_sq_dist: ``||u - base||^2`` (scalar).
        flips: The flipped bits of each anchor.

    Returns:
        Tensor of shape ``(flips.num,)``.
    """
    correction = u_flip.new_zeros(flips.num).index_add(
        0, flips.anchor, sign * (1 - 2 * u_flip))
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


def draw_words(shape: Tuple[int, ...], invalid: Optional[Tensor],
               num_bits: int, generator: torch.Generator) -> Tensor:
    """``num_bits`` (<= 16) uniformly random anchors packed in the low bits
    of one int32 word per comparison, zero on invalid entries.

    The bits come from random int64 values over the whole int64 range
    (``random_()`` without bounds leaves the sign bit 0), four 16-bit words
    each: several times faster than one bounded draw per comparison.
    """
    numel = math.prod(shape)
    raw = torch.empty((numel + 3) // 4,
                      dtype=torch.int64,
                      device=generator.device).random_(
                          -2**63, None, generator=generator)
    words = raw.view(torch.int16)[:numel].view(shape).to(torch.int32)
    words.bitwise_and_(2**num_bits - 1)
    return words if invalid is None else words.masked_fill_(invalid, 0)


def _planes(num: int) -> List[Tuple[int, int]]:
    """``(first anchor, anchors in the plane)`` of each word plane."""
    return [(start, min(BITS_PER_WORD, num - start))
            for start in range(0, num, BITS_PER_WORD)]


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def _relax(comparisons: Tensor, scale: float) -> Tuple[Tensor, Tensor]:
    """``u = sigmoid(scale c)`` and ``1 - u = sigmoid(-scale c)``, both
    evaluated directly (accurate near 0 and near 1)."""
    scaled = comparisons if scale == 1 else comparisons * scale
    return torch.sigmoid(scaled), torch.sigmoid(-scaled)


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


def count_ones(bits: Tensor, dim: int) -> Tensor:
    """Ones of a bool matrix along ``dim`` (summed as bytes, int64 out)."""
    return bits.view(torch.uint8).sum(dim, dtype=torch.int32).long()


@dataclass
class Configuration:
    """A binary configuration: its counts of ones and its bits on demand.

    Attributes:
        row_counts: ``(rows,)`` ones per row.
        col_counts: ``(cols,)`` ones per column.
        bits_at: Maps flat indices to the bits there (bool).
    """
    row_counts: Tensor
    col_counts: Tensor
    bits_at: Callable[[Tensor], Tensor]

    @classmethod
    def from_bits(cls, bits: Tensor) -> 'Configuration':
        """Count the ones of a bool ``(rows, cols)`` matrix."""
        return cls(
            count_ones(bits, 1), count_ones(bits, 0),
            lambda index: bits.reshape(-1)[index])


class ComparisonMetric(metaclass=ABCMeta):
    """A metric written as ``g(h(f(s)))`` on a ``rows x cols`` comparison set.

    A binary is 1 when its comparison is positive (the first score of the
    comparison is strictly larger); comparisons are oriented so that the
    best configuration (the ground truth) has every valid binary 1.
    Subclasses compute the comparisons block by block from their scores
    (``-inf`` on invalid entries, whose relaxation and binary are then 0, as
    in every anchor), map a block's gradient back onto the scores, define
    the metric value from per-row and per-column counts of ones, and say
    how good and nearby anchors flip bits.

    Args:
        inputs: The differentiable scores the comparisons come from.
        shape: ``(rows, cols)`` of the comparison matrix.
        masked: Whether some comparisons are invalid.
    """

    def __init__(self, inputs: Tensor, shape: Tuple[int, int],
                 masked: bool) -> None:
        self.inputs = inputs
        self.shape = torch.Size(shape)
        self.masked = masked
        self._truth: Optional[Configuration] = None

    @property
    def num_cols(self) -> int:
        """Number of columns of the comparison matrix."""
        return self.shape[1]

    @property
    def dtype(self) -> torch.dtype:
        return self.inputs.dtype

    @property
    def device(self) -> torch.device:
        return self.inputs.device

    def row_blocks(self) -> Iterator[slice]:
        """Blocks of whole rows with about :data:`BLOCK_ELEMENTS` entries."""
        step = max(1, BLOCK_ELEMENTS // max(1, self.num_cols))
        for start in range(0, self.shape[0], step):
            yield slice(start, min(start + step, self.shape[0]))

    @abstractmethod
    def block(self, rows: slice) -> Tensor:
        """Comparisons of ``rows`` (no gradient), ``-inf`` where invalid."""

    @abstractmethod
    def valid_block(self, rows: slice) -> Optional[Tensor]:
        """Bool mask of the valid comparisons of ``rows`` (None: all)."""

    @abstractmethod
    def block_grad(self, rows: slice, grad: Tensor, out: Tensor) -> None:
        """Add the gradient ``grad`` of the comparisons of ``rows`` to
        ``out``, the gradient of :attr:`inputs`."""

    @abstractmethod
    def comparisons_at(self, index: Tensor) -> Tensor:
        """Comparisons (no gradient) at flat indices."""

    @abstractmethod
    def valid_at(self, index: Tensor) -> Tensor:
        """Whether the comparisons at flat indices exist (bool)."""

    def full_comparisons(self) -> Tensor:
        """The whole ``rows x cols`` matrix (for small metrics and tests)."""
        return torch.cat([self.block(rows) for rows in self.row_blocks()])

    def full_valid(self) -> Tensor:
        """The whole validity mask."""
        if not self.masked:
            return torch.ones(self.shape, dtype=torch.bool,
                              device=self.device)
        return torch.cat([self.valid_block(r) for r in self.row_blocks()])

    def ground_truth(self) -> Configuration:
        """Best configuration: every valid comparison won (all ones)."""
        if self._truth is None:
            valid = self.full_valid()
            self._truth = Configuration(
                count_ones(valid, 1), count_ones(valid, 0), self.valid_at)
        return self._truth

    def binarise(self) -> Configuration:
        """``h(f(s))``: the current binary configuration."""
        return Configuration.from_bits(self.full_comparisons() > 0)

    def evaluate(self, bits: Tensor) -> Tensor:
        """``g`` of one configuration (bool ``(rows, cols)``)."""
        bits = bits & self.full_valid()
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
        delta = 1 - 2 * base.bits_at(flips.index).long()
        rows = flips.index // self.num_cols
        cols = flips.index % self.num_cols
        row_counts = base.row_counts.expand(flips.num, -1).clone()
        col_counts = base.col_counts.expand(flips.num, -1).clone()
        row_counts.index_put_((flips.anchor, rows), delta, accumulate=True)
        col_counts.index_put_((flips.anchor, cols), delta, accumulate=True)
        return self.value(row_counts, col_counts)

    def random_words(self,
                     rows: slice,
                     num_bits: int,
                     generator: torch.Generator,
                     masked: bool = True) -> Tensor:
        """Draw ``num_bits`` (<= 16) uniformly random anchors for ``rows``,
        packed in one int32 word per comparison, zero where invalid unless
        ``masked`` is False (the draws are the same either way)."""
        valid = self.valid_block(rows) if masked else None
        return draw_words((rows.stop - rows.start, self.num_cols),
                          None if valid is None else ~valid, num_bits,
                          generator)

    def random_block_counts(self, words: Tensor, rows: slice,
                            num_bits: int) -> Tuple[Tensor, Tensor]:
        """Ones per row ``(num_bits, block rows)`` and per column
        ``(num_bits, cols)`` of the random anchors packed in ``words``.

        Counted over chunks of rows, so at most about ``2**20`` unpacked
        bits exist at a time.
        """
        num_rows, num_cols = words.shape
        shifts = torch.arange(num_bits, device=words.device)
        step = max(1, 2**20 // max(1, num_cols * num_bits))
        row_counts, col_counts = [], 0
        for start in range(0, num_rows, step):
            bits = (words[start:start + step, :, None] >> shifts) & 1
            row_counts.append(bits.sum(1).t())
            col_counts = col_counts + bits.sum(0).t()
        return torch.cat(row_counts, 1), col_counts

    def random_values(self, row_counts: Tensor, col_counts: Tensor) -> Tensor:
        """Values of random anchors from :meth:`random_block_counts`,
        the row parts concatenated and the column parts summed over the
        blocks."""
        return self.value(row_counts, col_counts)

    def random_bit_flips(self, num: int) -> FlipAnchors:
        """One uniformly chosen bit per anchor (for unmasked metrics)."""
        index = torch.randint(
            0, self.shape.numel(), (num, ), device=self.device)
        return FlipAnchors(index, torch.arange(num, device=index.device),
                           num)


class MaterialisedComparisons(ComparisonMetric):
    """A comparison matrix held whole, built with autograd from the scores
    (small metrics: images x classes, positives x negatives).

    Args:
        comparisons: ``f(s)``, shape ``(rows, cols)``, ``-inf`` where
            ``valid`` is False.
        valid: Optional bool mask of the comparisons that exist.
    """

    def __init__(self, comparisons: Tensor,
                 valid: Optional[Tensor] = None) -> None:
        if comparisons.dim() != 2:
            raise ValueError('comparisons must be (rows, cols), got shape '
                             f'{tuple(comparisons.shape)}')
        super().__init__(comparisons, comparisons.shape, valid is not None)
        self.comparisons = comparisons
        self.valid = valid

    def block(self, rows: slice) -> Tensor:
        return self.comparisons.detach()[rows]

    def valid_block(self, rows: slice) -> Optional[Tensor]:
        return None if self.valid is None else self.valid[rows]

    def block_grad(self, rows: slice, grad: Tensor, out: Tensor) -> None:
        out[rows] += grad

    def comparisons_at(self, index: Tensor) -> Tensor:
        return self.comparisons.detach().reshape(-1)[index]

    def valid_at(self, index: Tensor) -> Tensor:
        if self.valid is None:
            return torch.ones_like(index, dtype=torch.bool)
        return self.valid.reshape(-1)[index]


class RowAllMetric(ComparisonMetric):
    """A metric that only depends on which rows are all ones."""

    @abstractmethod
    def value_from_full_rows(self, full: Tensor) -> Tensor:
        """``g`` of ``t`` configurations from ``(t, rows)`` all-ones flags."""

    def value(self, row_counts: Tensor, col_counts: Tensor) -> Tensor:
        return self.value_from_full_rows(
            row_counts == self.ground_truth().row_counts)

    def random_block_counts(self, words: Tensor, rows: slice,
                            num_bits: int) -> Tuple[Tensor, None]:
        """All-ones flags ``(num_bits, block rows)`` of the packed anchors
        (in place of row counts; no column counts)."""
        return packed_full_rows(words, self.valid_block(rows),
                                num_bits), None

    def random_values(self, row_counts: Tensor, col_counts: None) -> Tensor:
        return self.value_from_full_rows(row_counts)


class _PlaneSums:
    """Reductions of one plane of random anchors, summed over the blocks."""

    def __init__(self, num_bits: int) -> None:
        self.num_bits = num_bits
        self.hist: Optional[Tensor] = None
        self.row_parts: List[Tensor] = []
        self.col_counts: Optional[Tensor] = None

    def add(self, words: Tensor, weights: Tensor, row_part: Tensor,
            col_part: Optional[Tensor]) -> None:
        """Add one block: its words weighted by ``1 - 2 u`` and its
        per-row / per-column statistics."""
        hist = torch.bincount(
            words.reshape(-1), weights=weights, minlength=2**self.num_bits)
        self.hist = hist if self.hist is None else self.hist + hist
        self.row_parts.append(row_part)
        if col_part is not None:
            self.col_counts = col_part if self.col_counts is None else \
                self.col_counts + col_part

    def dots(self) -> Tensor:
        """``T_i = sum_b a_ib (1 - 2 u_b)`` of the plane's anchors."""
        return _bit_sums(self.hist, self.num_bits)

    def values(self, metric: ComparisonMetric) -> Tensor:
        """``g(a_i)`` of the plane's anchors."""
        return metric.random_values(
            torch.cat(self.row_parts, 1), self.col_counts)


def _forward_sums(metric: ComparisonMetric, num_random: int, seed: int,
                  scale: float) -> Tuple[Tensor, Tensor, Tensor, Tensor,
                                         Tensor]:
    """One pass over the blocks: the base distances and random anchors.

    Returns:
        ``sum (1 - u)^2`` over all entries (invalid ones count 1 each),
        ``||u - B||^2``, ``sum u^2``, and ``T_i = sum_b a_ib (1 - 2 u_b)``
        and ``g(a_i)`` of the random anchors.
    """
    planes = [_PlaneSums(num_bits) for _, num_bits in _planes(num_random)]
    generator = _generator(metric.device, seed)
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
            plane.add(words, weights,
                      *metric.random_block_counts(words, rows,
                                                  plane.num_bits))
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
        planes = _planes(num_random)
        luts = [
            _bit_table_dot(-2 * grad_random[start:start + num_bits],
                           num_bits) for start, num_bits in planes
        ]
        flip_index, flip_anchor, flip_coef = ctx.flip
        flip_grad = flip_coef * grad[flip_anchor]
        generator = _generator(metric.device, ctx.seed)
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

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
* uniformly random anchors are drawn as packed bytes, one byte holding the
  bits of up to 8 anchors for a comparison, and
  ``||u - a_i||^2 = sum u^2 + sum_b a_ib (1 - 2 u_b)`` is reduced through a
  256-bin histogram of the bytes weighted by ``1 - 2 u`` (and the gradient
  gathered back from a 256-entry table), so the cost is ``O(l)`` per byte
  plane whatever the number of anchors in it.

The gradient flows through the relaxed binaries only (anchors and their
values are constants) and is the exact gradient of ``-g~`` (autograd, with
one hand-written backward checked against finite differences in the tests).
"""
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from torch import Tensor

#: Random anchors share one byte per comparison, 8 anchors per byte plane.
BITS_PER_PLANE = 8


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


def bit_table(num_bits: int, dtype: torch.dtype,
              device: torch.device) -> Tensor:
    """``(2**num_bits, num_bits)`` table: row ``v`` holds the bits of ``v``."""
    values = torch.arange(2**num_bits, device=device)
    shifts = torch.arange(num_bits, device=device)
    return ((values[:, None] >> shifts) & 1).to(dtype)


class _PackedBitDot(torch.autograd.Function):
    """``S_i = sum_b bit_i(words_b) * w_b`` for the anchors packed in bytes.

    The forward pass is a 256-bin weighted histogram of the bytes followed
    by a ``(256, k)`` product, the backward pass gathers
    ``sum_i grad_i bit_i(v)`` from a 256-entry table: ``O(l)`` time, and only
    the ``uint8`` bytes are saved.
    """

    @staticmethod
    def forward(ctx, weights: Tensor, words: Tensor,
                num_bits: int) -> Tensor:
        table = bit_table(num_bits, weights.dtype, weights.device)
        hist = torch.bincount(
            words.reshape(-1), weights=weights.reshape(-1),
            minlength=2**num_bits).to(weights.dtype)
        ctx.save_for_backward(words)
        ctx.num_bits = num_bits
        return table.t() @ hist

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tuple[Optional[Tensor], None, None]:
        (words, ) = ctx.saved_tensors
        table = bit_table(ctx.num_bits, grad.dtype, grad.device)
        lut = table @ grad
        grad_w = lut.index_select(0, words.reshape(-1).int())
        return grad_w.view(words.shape), None, None


def packed_bit_dot(weights: Tensor, words: Tensor, num_bits: int) -> Tensor:
    """Differentiable ``sum_b bit_i(words_b) weights_b`` for ``i < num_bits``.

    Args:
        weights: Float tensor.
        words: ``uint8`` tensor of the shape of ``weights``.
        num_bits: Number of anchors packed in ``words`` (at most 8).

    Returns:
        Tensor of shape ``(num_bits,)``.
    """
    return _PackedBitDot.apply(weights, words, num_bits)


class ComparisonMetric(metaclass=ABCMeta):
    """A metric written as ``g(h(f(s)))`` on a ``rows x cols`` comparison set.

    A binary is 1 when its comparison is positive (the first score of the
    comparison is strictly larger). Subclasses define the comparisons, the
    metric value from per-row and per-column counts of ones, and how good and
    nearby anchors flip bits.

    Args:
        comparisons: ``f(s)``, shape ``(rows, cols)``.
        valid: Optional bool mask of the comparisons that exist; the others
            are held at 0 in the relaxation and in every anchor.
    """

    def __init__(self, comparisons: Tensor,
                 valid: Optional[Tensor] = None) -> None:
        if comparisons.dim() != 2:
            raise ValueError('comparisons must be (rows, cols), got shape '
                             f'{tuple(comparisons.shape)}')
        self.comparisons = comparisons
        self.valid = valid

    @property
    def num_cols(self) -> int:
        """Number of columns of the comparison matrix."""
        return self.comparisons.shape[1]

    def mask(self, bits: Tensor) -> Tensor:
        """Zero the invalid entries of a bool configuration."""
        return bits if self.valid is None else bits & self.valid

    def ground_truth(self) -> Tensor:
        """Best configuration: every valid comparison won (all ones)."""
        ones = torch.ones_like(self.comparisons, dtype=torch.bool)
        return self.mask(ones)

    def binarise(self) -> Tensor:
        """``h(f(s))``: the current binary configuration."""
        return self.mask(self.comparisons.detach() > 0)

    def evaluate(self, bits: Tensor) -> Tensor:
        """``g`` of one configuration (bool ``(rows, cols)``)."""
        bits = self.mask(bits)
        return self.value(bits.sum(1)[None], bits.sum(0)[None])[0]

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
    def nearby_flips(self, current: Tensor, num: int) -> FlipAnchors:
        """Bits of ``current`` flipped by each nearby anchor."""

    def flip_values(self, base: Tensor, flips: FlipAnchors) -> Tensor:
        """Metric values of anchors flipping bits of ``base``, in O(k).

        Args:
            base: Base configuration (bool ``(rows, cols)``, masked).
            flips: The flipped bits of each anchor.

        Returns:
            Tensor of shape ``(flips.num,)``.
        """
        delta = 1 - 2 * base.reshape(-1)[flips.index].long()
        rows = flips.index // self.num_cols
        cols = flips.index % self.num_cols
        row_counts = base.sum(1).expand(flips.num, -1).clone()
        col_counts = base.sum(0).expand(flips.num, -1).clone()
        row_counts.index_put_((flips.anchor, rows), delta, accumulate=True)
        col_counts.index_put_((flips.anchor, cols), delta, accumulate=True)
        return self.value(row_counts, col_counts)

    def random_words(self, num_bits: int) -> Tensor:
        """Draw ``num_bits`` (<= 8) random anchors packed in one byte each."""
        words = torch.randint(
            0,
            2**num_bits,
            self.comparisons.shape,
            dtype=torch.uint8,
            device=self.comparisons.device)
        return words if self.valid is None else words * self.valid

    def random_values(self, words: Tensor, num_bits: int) -> Tensor:
        """Metric values of the random anchors packed in ``words``.

        The ones per row (column) of each anchor come from a per-row
        (per-column) histogram of the byte values times the bit table:
        ``O(l + (rows + cols) * 2**num_bits)``, bits never unpacked.
        """
        table = bit_table(num_bits, torch.float64, words.device)
        return self.value(
            _packed_counts(words, num_bits, table, 1),
            _packed_counts(words, num_bits, table, 0))

    def random_bit_flips(self, num: int) -> FlipAnchors:
        """One uniformly chosen bit per anchor (for unmasked metrics)."""
        index = torch.randint(
            0, self.comparisons.numel(), (num, ),
            device=self.comparisons.device)
        return FlipAnchors(index, torch.arange(num, device=index.device),
                           num)


def _packed_counts(words: Tensor, num_bits: int, table: Tensor,
                   dim: int) -> Tensor:
    """Ones of each packed anchor summed over ``dim``: ``(num_bits, n)``.

    Args:
        words: ``(rows, cols)`` ``uint8`` packed anchors.
        num_bits: Anchors per byte.
        table: ``bit_table(num_bits)`` in float64 (exact counts).
        dim: 1 for per-row counts, 0 for per-column counts.
    """
    num = words.shape[1 - dim]
    groups = torch.arange(num, device=words.device) * 2**num_bits
    keys = words.long() + (groups[:, None] if dim == 1 else groups[None])
    hist = torch.bincount(keys.reshape(-1), minlength=num * 2**num_bits)
    counts = hist.view(num, 2**num_bits).double() @ table
    return counts.round().long().t()


def _random_anchors(metric: ComparisonMetric, u: Tensor, sq_norm: Tensor,
                    num: int) -> Tuple[List[Tensor], List[Tensor]]:
    """Values and squared distances of ``num`` uniformly random anchors."""
    values, sq_dists = [], []
    weights = 1 - 2 * u
    for start in range(0, num, BITS_PER_PLANE):
        num_bits = min(BITS_PER_PLANE, num - start)
        words = metric.random_words(num_bits)
        values.append(metric.random_values(words, num_bits).to(u.dtype))
        sq_dists.append(sq_norm + packed_bit_dot(weights, words, num_bits))
    return values, sq_dists


def uniloss(metric: ComparisonMetric, cfg: AnchorConfig) -> Tensor:
    """UniLoss ``1 - g~(sigmoid(scale * f(s)))`` (Eqs. 3-4).

    Args:
        metric: The task's comparisons and metric.
        cfg: Anchor and relaxation settings.

    Returns:
        Scalar loss; its gradient flows through the relaxed binaries only.
    """
    u = torch.sigmoid(cfg.scale * metric.comparisons)
    u = u if metric.valid is None else u * metric.valid
    truth, current = metric.ground_truth(), metric.binarise()
    sq_truth = (u - truth.to(u.dtype)).square().sum()
    sq_current = (u - current.to(u.dtype)).square().sum()
    values, sq_dists = [], []
    if cfg.include_bases:
        values += [metric.evaluate(truth)[None], metric.evaluate(current)[None]]
        sq_dists += [sq_truth[None], sq_current[None]]
    for base, sq_base, flips in (
        (truth, sq_truth, metric.good_flips(cfg.num_good)),
        (current, sq_current, metric.nearby_flips(current, cfg.num_nearby)),
    ):
        if flips.num:
            values.append(metric.flip_values(base, flips))
            sq_dists.append(flip_sq_dists(u, base, sq_base, flips))
    rand_values, rand_dists = _random_anchors(metric, u, u.square().sum(),
                                              cfg.num_random)
    values = torch.cat([v.to(u.dtype) for v in values] + rand_values)
    sq_dists = torch.cat(sq_dists + rand_dists)
    return 1 - idw_interpolate(values, sq_dists, cfg.eps)

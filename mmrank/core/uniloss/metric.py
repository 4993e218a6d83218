"""Metrics written as ``g(h(f(s)))`` over a ``rows x cols`` comparison
matrix, visited block by block (Liu, Wang and Deng, ECCV 2020, Sec. 3.1)."""
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from .anchors import FlipAnchors
from .bits import count_ones, draw_words, packed_full_rows

#: Comparisons visited at a time (a block of whole rows; 4 MiB of float32).
BLOCK_ELEMENTS = 2**20


class RandomCounts(NamedTuple):
    """Statistics of a plane of random anchors, from which a metric gets
    their values.

    For a block of rows (:meth:`ComparisonMetric.random_block_counts`) or for
    the whole matrix (the blocks' row statistics concatenated along dim 1,
    their column counts summed; :meth:`ComparisonMetric.random_values`).

    Attributes:
        row_stats: ``(num_bits, rows)`` per anchor and row: the ones of the
            row (int) for a :class:`ComparisonMetric`, or whether the row is
            all ones on its valid entries (bool) for a
            :class:`RowAllMetric`.
        col_counts: ``(num_bits, cols)`` ones per anchor and column, or None
            for a :class:`RowAllMetric`, which needs no column counts.
    """
    row_stats: Tensor
    col_counts: Optional[Tensor]


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
                            num_bits: int) -> RandomCounts:
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
        return RandomCounts(torch.cat(row_counts, 1), col_counts)

    def random_values(self, counts: RandomCounts) -> Tensor:
        """Values of random anchors from :meth:`random_block_counts`,
        the row parts concatenated and the column parts summed over the
        blocks."""
        return self.value(counts.row_stats, counts.col_counts)

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
                            num_bits: int) -> RandomCounts:
        """All-ones flags ``(num_bits, block rows)`` of the packed anchors
        (in place of row counts; no column counts)."""
        return RandomCounts(
            packed_full_rows(words, self.valid_block(rows), num_bits), None)

    def random_values(self, counts: RandomCounts) -> Tensor:
        return self.value_from_full_rows(counts.row_stats)

"""Random anchors packed as bits of integer words, and counting their bits.

Uniformly random anchors are drawn ``num_bits`` (up to
:data:`BITS_PER_WORD`) at a time, one int32 word per comparison holding the
bits of every anchor of a plane. Reductions over the anchors go through
histograms or tables indexed by word value; which rows are all ones comes
from bitwise ANDs.
"""
import math
from typing import List, Optional, Tuple

import torch
from torch import Tensor

#: Random anchors share one int32 word per comparison, 16 anchors per plane.
BITS_PER_WORD = 16
#: Columns AND-ed to rule a row out before checking it whole.
PREFIX_COLUMNS = 64


def bit_sums(hist: Tensor, num_bits: int) -> Tensor:
    """``out_i = sum_v hist[v] * bit_i(v)`` for a histogram over word values.

    Bit ``i`` is set on the second half of every block of ``2**(i + 1)``
    consecutive values, so each sum is a strided view's sum.
    """
    return torch.stack([
        hist.view(-1, 2, 2**i)[:, 1].sum() for i in range(num_bits)
    ])


def bit_table_dot(coef: Tensor, num_bits: int) -> Tensor:
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


def word_planes(num: int) -> List[Tuple[int, int]]:
    """``(first anchor, anchors in the plane)`` of each word plane."""
    return [(start, min(BITS_PER_WORD, num - start))
            for start in range(0, num, BITS_PER_WORD)]


def seeded_generator(device: torch.device, seed: int) -> torch.Generator:
    """A generator on ``device`` seeded with ``seed``, so that random words
    can be drawn again, in the same order, in the backward pass."""
    return torch.Generator(device=device).manual_seed(seed)


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

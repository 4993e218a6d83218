"""The three UniLoss task metrics (Liu, Wang and Deng, ECCV 2020, Sec. 4).

* multi-class accuracy: comparisons ``s_{i,y_i} - s_{i,j}``;
* binary average precision: comparisons ``s_p - s_n`` for positives ``p``
  and negatives ``n``;
* PCKh on heatmaps: comparisons of every positive pixel (within the radius
  of the joint) against every pixel of its heatmap that is not positive.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .anchors import FlipAnchors
from .metric import Configuration, MaterialisedComparisons, RowAllMetric


class AccuracyMetric(MaterialisedComparisons, RowAllMetric):
    """Multi-class accuracy: image ``i`` is correct iff ``s_{i,y_i}`` beats
    every compared class (all its binaries are 1); ``g`` is the fraction of
    correct images. Good and nearby anchors flip one bit.

    Args:
        scores: ``(n, C)`` class scores.
        labels: ``(n,)`` target classes.
        num_compared: If given, compare the target only with its
            ``num_compared`` highest-scoring other classes (the paper keeps
            20 of CIFAR-100's 99); the other classes get zero gradient. The
            binarised metric still equals the accuracy, as the target beats
            every class iff it beats the highest-scoring one.
    """

    def __init__(self, scores: Tensor, labels: Tensor,
                 num_compared: Optional[int] = None) -> None:
        num_classes = scores.shape[1]
        if num_compared is not None and not 1 <= num_compared < num_classes:
            raise ValueError('num_compared must be in [1, num_classes - 1]='
                             f'[1, {num_classes - 1}], got {num_compared}')
        target = scores.gather(1, labels[:, None])
        others = _other_classes(scores.detach(), labels, num_compared)
        super().__init__(target - scores.gather(1, others))

    def value_from_full_rows(self, full: Tensor) -> Tensor:
        return full.to(self.dtype).mean(1)

    def good_flips(self, num: int) -> FlipAnchors:
        return self.random_bit_flips(num)

    def nearby_flips(self, current: Configuration,
                     num: int) -> FlipAnchors:
        return self.random_bit_flips(num)


def _other_classes(scores: Tensor, labels: Tensor,
                   num_compared: Optional[int]) -> Tensor:
    """Indices ``(n, k)`` of the classes compared with each target."""
    num, num_classes = scores.shape
    if num_compared is None:
        classes = torch.arange(num_classes, device=scores.device)
        others = classes.expand(num, -1)[classes != labels[:, None]]
        return others.view(num, num_classes - 1)
    masked = scores.scatter(1, labels[:, None], float('-inf'))
    return masked.topk(num_compared, dim=1).indices


class AveragePrecisionMetric(MaterialisedComparisons):
    """Binary average precision of the ranking implied by the binaries.

    Rows are positives, columns negatives; a 1 means the positive is ranked
    above the negative. Writing ``z_p`` for the negatives above positive
    ``p`` and ``y_n`` for the positives below negative ``n``, the binaries
    come from a ranking iff the sets of negatives above the positives are
    nested, i.e. iff the sorted ``y`` equals the conjugate partition of ``z``
    (a 0-1 matrix with these margins is then unique). Otherwise the
    configuration is cyclic and scores 0. A consistent configuration scores
    ``AP = mean_j j / (j + z_(j))`` over positives sorted by ``z``. Good and
    nearby anchors flip one bit.

    Args:
        scores: ``(n,)`` scores.
        labels: ``(n,)`` bool or 0/1, 1 for positives.
    """

    def __init__(self, scores: Tensor, labels: Tensor) -> None:
        positive = labels.bool()
        super().__init__(scores[positive][:, None] -
                         scores[~positive][None, :])

    def value(self, row_counts: Tensor, col_counts: Tensor) -> Tensor:
        num_pos, num_neg = self.comparisons.shape
        above = num_neg - row_counts
        below = num_pos - col_counts
        hist = torch.zeros(
            above.shape[0], num_neg + 1, dtype=torch.long,
            device=above.device).scatter_add_(1, above,
                                              torch.ones_like(above))
        conjugate = hist.flip(1).cumsum(1).flip(1)[:, 1:]
        ranked = below.sort(1, descending=True).values
        consistent = (ranked == conjugate).all(1)
        ranks = torch.arange(
            1, num_pos + 1, device=above.device, dtype=self.dtype)
        precision = ranks / (ranks + above.sort(1).values)
        return torch.where(consistent, precision.mean(1),
                           torch.zeros_like(precision[:, 0]))

    def good_flips(self, num: int) -> FlipAnchors:
        return self.random_bit_flips(num)

    def nearby_flips(self, current: Configuration,
                     num: int) -> FlipAnchors:
        return self.random_bit_flips(num)


class PCKhMetric(RowAllMetric):
    """PCKh on heatmaps: the fraction of heatmaps whose maximum is positive.

    Positive pixels lie within the radius of the joint; every positive pixel
    is compared with every non-positive pixel of its heatmap, so the rows are
    the positive pixels of the batch and the columns all ``H * W`` pixels,
    with the positive pixels of the row's own heatmap masked out. A heatmap
    is correct iff one of its rows is all ones. Heatmaps without positive or
    without negative pixels are left out of the metric. The ``l`` comparisons
    ``s_p - s_n`` are never held: blocks of rows are computed from the
    scores when asked, and a block's gradient goes back to the scores as
    ``+sum_n`` for the positive pixel and ``-sum_p`` for each negative.

    Anchors (this implementation's choice, documented in the README):

    * good: the ground truth with one negative pixel's whole column set to 0
      in one random heatmap (that heatmap fails; value ``1 - 1/H``);
    * nearby: half of them set one positive pixel's whole row of the current
      configuration to 1 (a random positive of a currently wrong heatmap,
      which makes it right), the other half set one negative pixel's whole
      column to 0 (a random negative of a currently right heatmap, which
      makes it wrong); without wrong (right) heatmaps, any heatmap is used.

    Args:
        heatmaps: ``(M, P)`` predicted heatmaps, flattened pixels.
        positive: ``(M, P)`` bool, positive pixels.
        pixel_valid: Optional ``(M, P)`` bool, pixels taking part at all.
    """

    def __init__(self, heatmaps: Tensor, positive: Tensor,
                 pixel_valid: Optional[Tensor] = None) -> None:
        negative = ~positive
        if pixel_valid is not None:
            positive = positive & pixel_valid
            negative = negative & pixel_valid
        usable = positive.any(1) & negative.any(1)
        positive = positive & usable[:, None]
        heat, pixel = positive.nonzero(as_tuple=True)
        super().__init__(heatmaps, (len(heat), heatmaps.shape[1]), True)
        self.heat_of_row = torch.unique(heat, return_inverse=True)[1]
        self.num_heatmaps = int(usable.sum())
        self.row_start = torch.searchsorted(
            self.heat_of_row,
            torch.arange(self.num_heatmaps + 1, device=heat.device))
        self._heat, self._pixel = heat, pixel
        self._scores = heatmaps.detach()
        self._positive = positive
        self._negative = negative & usable[:, None]
        self._row_scores = self._scores[heat, pixel]
        # c = s_p + (-s_n); non-negative pixels at -inf give -inf (invalid)
        self._opponents = self._scores.neg().masked_fill(
            ~self._negative, float('-inf'))

    def block(self, rows: slice) -> Tensor:
        return self._row_scores[rows, None] + self._opponents.index_select(
            0, self._heat[rows])

    def valid_block(self, rows: slice) -> Tensor:
        return self._negative.index_select(0, self._heat[rows])

    def block_grad(self, rows: slice, grad: Tensor, out: Tensor) -> None:
        heat = self._heat[rows]
        out.index_put_((heat, self._pixel[rows]), grad.sum(1),
                       accumulate=True)
        # zero on invalid entries (u = 0 there), so no mask is needed
        out.index_add_(0, heat, grad, alpha=-1)

    def _row_col(self, index: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        rows = index // self.num_cols
        return rows, self._heat[rows], index % self.num_cols

    def comparisons_at(self, index: Tensor) -> Tensor:
        rows, heat, cols = self._row_col(index)
        return self._row_scores[rows] + self._opponents[heat, cols]

    def valid_at(self, index: Tensor) -> Tensor:
        _, heat, cols = self._row_col(index)
        return self._negative[heat, cols]

    def ground_truth(self) -> Configuration:
        """All valid bits 1; counts from the per-heatmap pixel counts."""
        if self._truth is None:
            per_map = self._positive.sum(1).double()
            cols = per_map[None] @ self._negative.double()
            self._truth = Configuration(
                self._negative.sum(1)[self._heat],
                cols[0].round().long(), self.valid_at)
        return self._truth

    def binarise(self) -> Configuration:
        """Current binaries; their counts come from sorting each heatmap's
        negative (positive) scores, not from passes over the ``l`` bits."""
        scores = self._scores
        num_maps = scores.shape[0]
        rank = torch.arange(len(self._heat), device=scores.device) - \
            self.row_start[self.heat_of_row]
        width = int(rank.max()) + 1
        # the positives' scores of each heatmap, padded with -inf
        pos = scores.new_full((num_maps, width), float('-inf'))
        pos[self._heat, rank] = self._row_scores
        negatives = scores.masked_fill(~self._negative, float('inf'))
        below = torch.searchsorted(negatives.sort(1)[0], pos)
        at_most = torch.searchsorted(pos.sort(1)[0], scores, right=True)
        above = (width - at_most) * self._negative
        return Configuration(below[self._heat, rank], above.sum(0),
                             lambda index: self.comparisons_at(index) > 0)

    def correct_heatmaps(self, full: Tensor) -> Tensor:
        """``(t, heatmaps)`` bool: the heatmap has an all-ones row."""
        hit = full.new_zeros(full.shape[0], self.num_heatmaps,
                             dtype=torch.long)
        return hit.index_add_(1, self.heat_of_row, full.long()) > 0

    def value_from_full_rows(self, full: Tensor) -> Tensor:
        return self.correct_heatmaps(full).to(self.dtype).mean(1)

    def _heat_rows(self, heatmap: int) -> Tensor:
        """Row indices of one heatmap."""
        start, stop = self.row_start[heatmap], self.row_start[heatmap + 1]
        return torch.arange(int(start), int(stop), device=self.device)

    def _column(self, heatmap: int, base: Configuration) -> Tensor:
        """Flat indices of a random negative's ones in ``heatmap``."""
        rows = self._heat_rows(heatmap)
        negatives = self._negative[self._heat[rows[0]]].nonzero()[:, 0]
        col = negatives[torch.randint(len(negatives), ())]
        index = rows * self.num_cols + col
        return index[base.bits_at(index)]

    def _row(self, heatmap: int, base: Configuration) -> Tensor:
        """Flat indices of the zeros of a random positive's row."""
        rows = self._heat_rows(heatmap)
        row = rows[torch.randint(len(rows), ())]
        index = row * self.num_cols + torch.arange(
            self.num_cols, device=self.device)
        return index[self.valid_at(index) & ~base.bits_at(index)]

    def _pick(self, candidates: Optional[Tensor] = None) -> int:
        """A random heatmap among ``candidates`` (bool), or among all when
        ``candidates`` is None or empty."""
        pool = () if candidates is None else candidates.nonzero()[:, 0]
        if len(pool) == 0:
            return int(torch.randint(self.num_heatmaps, ()))
        return int(pool[torch.randint(len(pool), ())])

    def good_flips(self, num: int) -> FlipAnchors:
        truth = self.ground_truth()
        return FlipAnchors.from_lists(
            [self._column(self._pick(), truth) for _ in range(num)],
            self.device)

    def nearby_flips(self, current: Configuration,
                     num: int) -> FlipAnchors:
        full = current.row_counts == self.ground_truth().row_counts
        right = self.correct_heatmaps(full[None])[0]
        rows = [self._row(self._pick(~right), current)
                for _ in range(num - num // 2)]
        cols = [self._column(self._pick(right), current)
                for _ in range(num // 2)]
        return FlipAnchors.from_lists(rows + cols, self.device)

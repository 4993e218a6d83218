"""The passes over the negatives of a batch, behind one interface.

A ranking loss spends its O(N) time in two passes over the negatives, given
the ``P`` sorted centred positive logits ``s``:

- ``N_FP(i) = sum_j H(s_j - s_i)`` of every sorted positive;
- the gradient ``g_j = sum_i c_i H(s_j - s_i)`` of every relevant negative.

Only the negatives above ``bound = min_i s_i - delta`` (less a margin) reach
a positive. :class:`NegativePasses` is what the engine asks of a backend;
:class:`TorchPasses` gathers those negatives once and reuses their windows
in both passes, :class:`~.triton_passes.TritonPasses` streams the logits in
fused kernels.
"""
from abc import ABCMeta, abstractmethod

import torch
from torch import Tensor

from .steps import false_positive_counts, step_sums, windows


class NegativePasses(metaclass=ABCMeta):
    """The negatives of one batch, for the two passes over them.

    Args:
        scores: Sorted centred positive logits ``s`` (float64), shape (P,).
        logits: All logits of the flat batch, shape (M,).
        targets: Their targets; negatives are ``== 0``.
        centre: The float64 value subtracted from ``logits`` (0-d).
        bound: Negatives with ``logit <= bound`` reach no positive (0-d,
            in the dtype of ``logits``).
        delta: Half width of the linear part of ``H``.
    """

    def __init__(self, scores: Tensor, logits: Tensor, targets: Tensor,
                 centre: Tensor, bound: Tensor, delta: float) -> None:
        self.scores = scores
        self.delta = delta

    @abstractmethod
    def false_positive_counts(self) -> Tensor:
        """``N_FP(i)`` of the sorted positives (float64, shape (P,))."""

    @abstractmethod
    def write_gradient(self, shares: Tensor, out: Tensor) -> None:
        """Write ``g_j = sum_i c_i H(s_j - s_i)`` into ``out[j]``.

        Args:
            shares: ``c_i`` of the sorted positives (float64), shape (P,).
            out: Float32/float64 tensor of the shape of the logits; the
                relevant negatives' entries are written, the others kept.
        """


class TorchPasses(NegativePasses):
    """Gathers the relevant negatives as float64 centred logits and finds
    their windows among the positives once (:func:`.steps.windows`).

    Attributes:
        neg_index: Positions of the negatives that reach a positive, (R,).
        neg_scores: Their centred logits (float64), shape (R,).
        lo: For each of them, the number of positives ``i`` with
            ``s_i < s_j - delta`` (``H(x_ij) = 1``), shape (R,).
        hi: The number of positives with ``s_i <= s_j + delta``; those in
            ``[lo, hi)`` have ``H(x_ij)`` on its linear part.
    """

    def __init__(self, scores: Tensor, logits: Tensor, targets: Tensor,
                 centre: Tensor, bound: Tensor, delta: float) -> None:
        super().__init__(scores, logits, targets, centre, bound, delta)
        relevant = (logits > bound) & (targets == 0)
        self.neg_index = torch.nonzero(relevant).squeeze(1)
        self.neg_scores = logits.index_select(0, self.neg_index).to(
            torch.float64).sub_(centre)
        self.lo, self.hi = windows(scores, self.neg_scores, delta)

    def false_positive_counts(self) -> Tensor:
        return false_positive_counts(self.scores, self.neg_scores, self.lo,
                                     self.hi, self.delta)

    def write_gradient(self, shares: Tensor, out: Tensor) -> None:
        gradient = step_sums(self.scores, shares, self.neg_scores, self.lo,
                             self.hi, self.delta)
        out.index_copy_(0, self.neg_index, gradient.to(out.dtype))

"""Average precision of classifiers whose softmax saturates (mmpretrain).

mmpretrain's heads store ``pred_score = softmax(logits)`` in float32 and its
``AveragePrecision`` ranks samples by it. A loss that only orders scores,
such as UniLoss for AP, lets the logit gaps grow without bound: beyond a gap
of about 17 the winning probability is exactly 1.0 in float32, so the
confident samples tie and the AP collapses (a UniLoss-AP MLP on MNIST with a
true AP of 0.993 was logged as 0.394). The losing probabilities keep the
order down to float32's smallest numbers (gaps up to about 87, denormals to
about 103), so ranking by the log-odds recovers it.
"""
from typing import Sequence

import torch
from mmpretrain.evaluation.metrics import AveragePrecision
from mmpretrain.structures import label_to_onehot

from mmrank.registry import register


def log_odds(probs: torch.Tensor) -> torch.Tensor:
    """``log p_c - log sum_{j != c} p_j`` per class, in float64.

    The sum over the other classes is taken directly for the most likely
    class (``1 - p_c`` would round to 0) and as ``total - p_c`` for the
    others (``p_c <= 1/2`` there, so without cancellation).

    Args:
        probs: ``(C,)`` class probabilities, ``C >= 2``.

    Returns:
        ``(C,)`` log-odds; ``+inf`` / ``-inf`` where a probability or its
        complement underflowed to 0.
    """
    probs = probs.double()
    others = probs.sum() - probs
    top = int(probs.argmax())
    others[top] = torch.cat([probs[:top], probs[top + 1:]]).sum()
    return probs.log() - others.log()


@register('mmpretrain', 'METRICS')
class LogOddsAveragePrecision(AveragePrecision):
    """mmpretrain's ``AveragePrecision`` with samples ranked by the log-odds
    of each class (:func:`log_odds`) instead of its float32 probability.

    The ranking equals that of the logit gaps while the losing
    probabilities are representable (gaps up to about 87 in float32); the
    keys logged are those of ``AveragePrecision``
    (``multi-label/AP_classwise`` or ``multi-label/mAP``).

    Args: as mmpretrain's ``AveragePrecision``.
    """

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the log-odds and one-hot targets of each sample."""
        for data_sample in data_samples:
            scores = data_sample['pred_score']
            if scores.numel() < 2:
                raise ValueError('LogOddsAveragePrecision needs pred_score '
                                 'with at least 2 classes, got shape '
                                 f'{tuple(scores.shape)}')
            result = dict(pred_score=log_odds(scores.cpu()))
            if 'gt_score' in data_sample:
                result['gt_score'] = data_sample['gt_score'].clone()
            else:
                result['gt_score'] = label_to_onehot(
                    data_sample['gt_label'], scores.numel())
            self.results.append(result)

"""AP Loss (Chen et al., CVPR 2019) with the smoothed step of aLRP Loss."""
from typing import List, Tuple

import torch
from torch import Tensor

from .autograd import LossTerm, apply_ranking_loss
from .engine import Ranking, check_inputs, rank_positives, share


def _ap_kernel(ranking: Ranking, inputs: Tuple[Tensor, ...],
               with_grad: bool) -> List[LossTerm]:
    """Value and gradient of AP Loss.

    Visiting positives in ascending score order with a running maximum of
    precision equals a running minimum of ``1 - precision``.
    """
    rank = ranking.alrp_rank
    error = torch.cummin(ranking.num_fp / rank, dim=0).values
    loss = error.mean()
    if not with_grad:
        return [LossTerm(loss)]
    # Negative j receives H(x_ij) / rank(i), scaled by (1 - interpolated
    # precision) / (1 - precision); as 1 - precision = N_FP / rank this is
    # (1 - interpolated precision) * H(x_ij) / N_FP(i).
    update = error / ranking.num_pos
    return [
        LossTerm(loss, -update,
                 share(update, ranking.num_fp, ranking.num_fp > 0))
    ]


def ap_loss(logits: Tensor,
            targets: Tensor,
            delta: float = 1.0,
            impl: str = 'auto') -> Tensor:
    """AP Loss (Chen et al. 2019) with the smoothed step of aLRP Loss.

    The value is ``1 - mean_i interpolated precision(i)``, where
    ``precision(i) = rank+(i) / rank(i)`` and positives are visited in
    ascending score order, interpolating precision by a running maximum.
    The gradient of a positive is ``-(1 - interpolated precision(i)) / |P|``;
    each negative ``j`` receives ``sum_i H(x_ij) / rank(i) / |P|``, with the
    term of positive ``i`` scaled by ``(1 - interpolated precision(i)) /
    (1 - precision(i))`` where precision is below the running maximum.
    Positive and negative gradient magnitudes are equal (Theorem 2).

    Args:
        logits: 1-D float tensor of all scores of the batch.
        targets: Same shape; 1 positive, 0 negative, -1 ignored.
        delta: Half width of the linear part of the smoothed step ``H``.
        impl: As :func:`~.alrp.alrp_loss`.

    Returns:
        Tensor: Scalar loss in the dtype of ``logits``; 0 with zero
        gradients when there is no positive.

    Raises:
        TypeError, ValueError: As :func:`~.alrp.alrp_loss`.
    """
    loss, = apply_ranking_loss(
        _ap_kernel, logits, targets, delta, outputs_like=(logits, ),
        impl=impl)
    return loss


def ranking_statistics(logits: Tensor,
                       targets: Tensor,
                       delta: float = 1.0) -> Tuple[Tensor, Tensor]:
    """``rank+(i)`` and ``N_FP(i)`` of every positive (float64, no grad).

    Args:
        logits, targets, delta: As :func:`ap_loss`.

    Returns:
        tuple[Tensor, Tensor]: ``rank+ = 1 + sum_{k != i} H(x_ik)`` and
        ``N_FP`` in the order of ``logits[targets == 1]``; ``rank = rank+ +
        N_FP``.
    """
    pos_index = check_inputs(logits, targets, delta)
    if pos_index.numel() == 0:
        empty = logits.new_zeros(0, dtype=torch.float64)
        return empty, empty
    with torch.no_grad():
        ranking = rank_positives(logits.detach(), targets, pos_index,
                                 float(delta))
    return (ranking.unsort(ranking.above + 0.5),
            ranking.unsort(ranking.num_fp))

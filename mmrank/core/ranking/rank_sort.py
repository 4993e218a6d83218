"""Rank & Sort Loss (Oksuz, Cam, Akbas, Kalkan, ICCV 2021).

Positives carry a quality target ``y_i`` in (0, 1] (e.g. the IoU of the
positive's prediction with its ground truth). With ``rank+(i) = sum_{k in
P} H(x_ik)`` (``k = i`` included, ``H(0) = 1/2``, as the authors' code) and
``rank(i) = rank+(i) + N_FP(i)``:

* ranking error ``l_R(i) = N_FP(i) / rank(i)`` (eq. 7, target 0);
* sorting error ``l_S(i)``: the H-weighted mean of ``1 - y`` over the
  positives ranked above ``i`` minus the same mean over those of them with
  ``y >= y_i`` (eqs. 7-8): the current minus the target sorting error.

The ``[y_k >= y_i]`` sums are computed by :func:`.ordered_sums.
ordered_step_sums`, with no ``P x P`` matrix.
"""
from typing import List, Tuple

import torch
from torch import Tensor

from .autograd import LossTerm, apply_ranking_loss
from .engine import Ranking, share
from .ordered_sums import ordered_step_sums

#: Updates need a denominator (``N_FP``, mis-sorted mass) above this.
RS_EPS = 1e-10


def _quality_orders(quality: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Position of each positive in descending quality order, and the
    counts ``#{k: y_k >= y_i}`` and ``#{k: y_k > y_i}``."""
    ascending, _ = torch.sort(quality)
    descending = torch.argsort(quality, descending=True)
    keys = torch.empty_like(descending)
    keys[descending] = torch.arange(quality.numel(), device=quality.device)
    num = quality.numel()
    at_least = num - torch.searchsorted(ascending, quality)
    greater = num - torch.searchsorted(ascending, quality, right=True)
    return keys, at_least, greater


def _rank_sort_kernel(ranking: Ranking, inputs: Tuple[Tensor, ...],
                      with_grad: bool) -> List[LossTerm]:
    """``L_rank``, ``L_sort`` and their identity-update gradients."""
    scores, quality, delta = ranking.scores, ranking.pos_targets, \
        ranking.delta
    num = ranking.num_pos
    keys, at_least, greater = _quality_orders(quality)
    ones, errors = torch.ones_like(quality), 1 - quality

    def above_in_prefix(weights: Tensor, prefix: Tensor,
                        order: Tensor) -> Tensor:
        """``sum_{k in prefix} w_k H(x_ik)`` for each positive ``i``."""
        return ordered_step_sums(scores, weights, order, scores, prefix,
                                 delta, upper=True)

    rank_error = ranking.num_fp / (ranking.above + ranking.num_fp)
    # Positives with y_k >= y_i: the first at_least(i) in descending order.
    target_mass = above_in_prefix(ones, at_least, keys)
    sort_error = ranking.pos_step_sums(errors) / ranking.above - \
        above_in_prefix(errors, at_least, keys) / target_mass
    loss_rank, loss_sort = rank_error.mean(), sort_error.mean()
    if not with_grad:
        return [LossTerm(loss_rank), LossTerm(loss_sort)]
    # Positives with y_k < y_i: the last num - at_least(i) in descending
    # order, i.e. the first ones in ascending order.
    missorted = above_in_prefix(ones, num - at_least, num - 1 - keys)
    rank_active = ranking.num_fp > RS_EPS
    sort_active = missorted > RS_EPS
    rank_update = torch.where(rank_active, rank_error / num,
                              torch.zeros_like(rank_error))
    sort_update = torch.where(sort_active, sort_error / num,
                              torch.zeros_like(sort_error))
    # Positive k receives sum over i with y_i > y_k of
    # l_S(i) H(x_ik) / M_i: points i, weights c_i, queried at s_k.
    received = ordered_step_sums(scores,
                                 share(sort_update, missorted, sort_active),
                                 keys, scores, greater, delta, upper=False)
    return [
        LossTerm(loss_rank, -rank_update,
                 share(rank_update, ranking.num_fp, rank_active)),
        LossTerm(loss_sort, received - sort_update)
    ]


def rank_sort_loss(logits: Tensor,
                   targets: Tensor,
                   delta: float = 0.5,
                   impl: str = 'auto') -> Tuple[Tensor, Tensor]:
    """Rank & Sort Loss of one batch: ranking and sorting components.

    ``L_rank = mean_i l_R(i)`` and ``L_sort = mean_i l_S(i)`` (module
    docstring). Gradients are the identity updates of the paper (Sec. 3),
    divided by ``|P|``: where ``N_FP(i) > 1e-10`` positive ``i`` receives
    ``-l_R(i)`` and each negative ``j`` ``l_R(i) H(x_ij) / N_FP(i)``
    (through ``L_rank``); where the mis-sorted mass ``M_i = sum_{k: y_k <
    y_i} H(x_ik) > 1e-10``, positive ``i`` receives ``-l_S(i)`` and each
    positive ``k`` with ``y_k < y_i`` ``l_S(i) H(x_ik) / M_i`` (through
    ``L_sort``). Both parts are balanced: what the positives lose, the
    negatives (ranking) or the lower-quality positives (sorting) gain.

    The authors' code scales both parts by the gradient of ``L_rank``
    alone; here each part follows its own output, which is the same when
    the two are summed with equal weights (as every head does).

    Args:
        logits: 1-D float tensor (float16, bfloat16, float32 or float64) of
            all scores of the batch, flattened over images, anchors and
            classes.
        targets: Same shape: the quality in (0, 1] of a positive (e.g. the
            detached IoU of its prediction), 0 negative, -1 ignored.
        delta: Half width of the linear part of ``H`` (0.5 in the paper).
        impl: As :func:`~.alrp.alrp_loss`.

    Returns:
        tuple[Tensor, Tensor]: Scalars ``loss_rank`` and ``loss_sort`` in the
        dtype of ``logits``; both 0, with zero gradients, when there is no
        positive.

    Raises:
        TypeError: If an input is not a tensor or ``logits`` is not float.
        ValueError: For non-finite inputs, shape mismatches, targets
            outside {-1, 0} and (0, 1], or ``delta <= 0``.
    """
    return apply_ranking_loss(
        _rank_sort_kernel,
        logits,
        targets,
        delta,
        outputs_like=(logits, logits),
        continuous=True,
        impl=impl)

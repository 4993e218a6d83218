"""aLRP Loss (Oksuz et al., NeurIPS 2020); equation numbers are the paper's.

For a positive ``i``, ``rank+(i) = 1 + sum_{k in P, k != i} H(x_ik)``,
``rank(i) = rank+(i) + N_FP(i)`` (:mod:`.engine`).
"""
from typing import List, Tuple

import torch
from torch import Tensor

from .autograd import LossTerm, apply_ranking_loss
from .engine import Ranking, share
from .steps import exclusive_cumsum

#: Positives with ``N_FP(i) <= ALRP_EPS`` receive no aLRP gradient (eq. 5).
ALRP_EPS = 1e-5


def _positives_above(ties: Tuple[Tensor, Tensor], errors: Tensor) -> Tensor:
    """``E_i + sum_{k != i} c_ik E_k`` for each sorted positive, where
    ``c_ik`` is 1 for a higher score and 1/2 for a tie (see
    :func:`alrp_loss`); ``ties`` from :meth:`Ranking.tie_bounds`."""
    first, last = ties
    cum = exclusive_cumsum(errors)
    return (cum[-1] - cum[last]) + 0.5 * (cum[last] - cum[first] + errors)


def _loc_gradient(ties: Tuple[Tensor, Tensor],
                  inverse_rank: Tensor) -> Tensor:
    """``sum_i c_ik / rank(i)`` for each sorted positive ``k`` (``c_kk =
    1``): ``|P| dL_loc/dE_k``."""
    first, last = ties
    cum = exclusive_cumsum(inverse_rank)
    return cum[first] + 0.5 * (cum[last] - cum[first] + inverse_rank)


def _alrp_kernel(ranking: Ranking, inputs: Tuple[Tensor, ...],
                 with_grad: bool) -> List[LossTerm]:
    """``L_cls`` and ``L_loc`` with their gradients (eqs. 9, 11-14)."""
    errors, = inputs
    rank = ranking.alrp_rank
    ties = ranking.tie_bounds()
    loss_cls = (ranking.num_fp / rank).mean()
    loss_loc = (_positives_above(ties, errors) / rank).mean()
    if not with_grad:
        return [LossTerm(loss_cls), LossTerm(loss_loc)]
    # Eqs. 12-14 with eq. 5: positive i pushes N_FP(i) plus the
    # localisation errors of the positives ranked above it (smoothed by H)
    # back to the negatives ranked above it, in proportion to H(x_ij).
    loc_above = ranking.pos_step_sums(errors) - 0.5 * errors
    update = (ranking.num_fp + loc_above) / rank / ranking.num_pos
    active = ranking.num_fp > ALRP_EPS
    update = torch.where(active, update, torch.zeros_like(update))
    return [
        LossTerm(loss_cls, -update, share(update, ranking.num_fp, active)),
        LossTerm(
            loss_loc,
            input_grads=(_loc_gradient(ties, 1 / rank) / ranking.num_pos, ))
    ]


def alrp_loss(logits: Tensor,
              targets: Tensor,
              loc_errors: Tensor,
              delta: float = 1.0,
              impl: str = 'auto') -> Tuple[Tensor, Tensor]:
    """aLRP Loss of one batch, classification and localisation components.

    ``L_cls = 1 - mean_i rank+(i) / rank(i)`` (eq. 9). Its gradient w.r.t.
    ``logits`` is the error-driven one of eqs. 12-14 with eq. 5, normalised
    by ``|P|``: for a positive with ``N_FP(i) > 1e-5``::

        dL/ds_i = -(N_FP(i) + sum_{k in P, k != i} E_loc(k) H(x_ik))
                  / rank(i) / |P|

    (using the detached ``loc_errors``), each negative ``j`` receives
    ``sum_i (-dL/ds_i) H(x_ij) / N_FP(i)`` and the other positives 0, so the
    positive and negative gradient magnitudes are equal (Theorem 2).
    ``L_cls`` passes no gradient to ``loc_errors``.

    ``L_loc = mean_i (E_loc(i) + sum_{k != i} c_ik E_loc(k)) / rank(i)``
    with the hard score order, ``c_ik = 1`` if ``s_k > s_i``, 0 if
    ``s_k < s_i``, and ``c_ik = 1/2`` for a tie: the value of the smoothed
    step at 0, and the mean of the authors' arbitrary tie-break (their
    cumulative sum over positives sorted by score) over all orders, which
    keeps ``L_loc <= max E_loc`` (the bound of eq. 11). The rank is held
    constant, as the authors train; eq. 11 is the smoothed version. It is
    differentiable w.r.t. ``loc_errors`` only.

    Args:
        logits: 1-D float tensor (float16, bfloat16, float32 or float64) of
            all scores of the batch, flattened over images, anchors and
            classes.
        targets: Same shape; 1 positive, 0 negative, -1 ignored (takes no
            part anywhere). Any dtype.
        loc_errors: 1-D float tensor, the localisation error of each
            positive in the order of ``logits[targets == 1]`` (e.g.
            ``1 - GIoU``), usually in [0, 1].
        delta: Half width of the linear part of the smoothed step ``H``.
        impl: ``'auto'``, ``'torch'`` or ``'triton'`` (the backend of the
            passes over the negatives; ``'auto'`` selects the torch path,
            ``'triton'`` the fused kernels on CUDA).

    Returns:
        tuple[Tensor, Tensor]: Scalars ``loss_cls`` (dtype of ``logits``)
        and ``loss_loc`` (dtype of ``loc_errors``). Both are 0, with zero
        gradients, when there is no positive. Gradients come back in the
        dtypes of ``logits`` and ``loc_errors``.

    Raises:
        TypeError: If an input is not a tensor or ``logits`` is not float.
        ValueError: For non-finite ``logits``/``loc_errors``, shape
            mismatches, target values outside {-1, 0, 1}, a ``loc_errors``
            length other than the number of positives, or ``delta <= 0``.
    """
    return apply_ranking_loss(
        _alrp_kernel,
        logits,
        targets,
        delta,
        outputs_like=(logits, loc_errors),
        inputs=[('loc_errors', loc_errors)],
        impl=impl)

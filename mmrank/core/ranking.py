"""aLRP Loss and AP Loss with error-driven gradients, in plain torch.

References:
    - K. Oksuz, B. C. Cam, E. Akbas, S. Kalkan. "A Ranking-based, Balanced
      Loss Function Unifying Classification and Localisation in Object
      Detection", NeurIPS 2020 (aLRP Loss). Equation numbers below refer to
      this paper.
    - K. Chen et al. "Towards Accurate One-Stage Object Detection with
      AP-Loss", CVPR 2019 (AP Loss).

Notation: ``s`` are the logits of one training step flattened over images,
anchors and classes; ``P`` the positives, ``N`` the negatives (entries with
target ``-1`` take no part); ``x_ij = s_j - s_i`` and the smoothed step
``H(x) = clamp(x / (2 delta) + 1/2, 0, 1)`` (eq. 2 with the linear smoothing
of Sec. 3.2). For a positive ``i``::

    rank+(i) = 1 + sum_{k in P, k != i} H(x_ik)
    N_FP(i)  = sum_{j in N} H(x_ij)                         (eq. 3)
    rank(i)  = rank+(i) + N_FP(i)

Algorithm: no ``P x N`` matrix is formed. The positives are sorted once.
``H`` is 1 above a window of width ``2 delta``, 0 below it and linear in
it, so every sum ``sum_k w_k H(s_k - q)`` over the sorted positives is
"weights above the window + a linear function of ``q`` over the window",
read from prefix sums of ``w`` and ``w * s`` at the window bounds found by
binary search. The sums over the (unsorted) negatives, ``N_FP``, use
difference arrays over the sorted positives instead. Negatives below
``min_i s_i - delta`` cannot reach any positive and are dropped first. Time
is O((P + N) log P) and extra memory O(P + N); all sums are accumulated in
float64 on logits centred at the median positive.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor

#: Positives with ``N_FP(i) <= ALRP_EPS`` receive no aLRP gradient (eq. 5).
ALRP_EPS = 1e-5


class _Ranking(NamedTuple):
    """Ranking statistics of one batch; positives in ascending score order.

    Attributes:
        pos_index: Positions in ``logits`` of the positives, in the order of
            ``logits[targets == 1]``, shape (P,).
        order: Permutation sorting ``logits[targets == 1]`` ascending.
        scores: Sorted centred positive logits (float64), shape (P,).
        rank_pos: ``rank+(i)`` of the sorted positives (float64).
        num_fp: ``N_FP(i)`` of the sorted positives (float64).
        neg_index: Positions of the negatives that reach a positive, (R,).
        neg_scores: Their centred logits (float64), shape (R,).
        lo: For each of them, the number of positives ``i`` with
            ``s_i < s_j - delta`` (``H(x_ij) = 1``), shape (R,).
        hi: The number of positives with ``s_i <= s_j + delta``; those in
            ``[lo, hi)`` have ``H(x_ij)`` on its linear part.
        pos_lo, pos_hi: The same windows of the sorted positives among
            themselves (``H(x_ik)``), shape (P,).
    """
    pos_index: Tensor
    order: Tensor
    scores: Tensor
    rank_pos: Tensor
    num_fp: Tensor
    neg_index: Tensor
    neg_scores: Tensor
    lo: Tensor
    hi: Tensor
    pos_lo: Tensor
    pos_hi: Tensor

    @property
    def rank(self) -> Tensor:
        """``rank(i) = rank+(i) + N_FP(i)`` of the sorted positives."""
        return self.rank_pos + self.num_fp

    @property
    def fp_fraction(self) -> Tensor:
        """``1 - precision(i) = N_FP(i) / rank(i)``, free of cancellation."""
        return self.num_fp / self.rank


def _check_inputs(logits: Tensor, targets: Tensor,
                  loc_errors: Optional[Tensor], delta: float) -> None:
    """Raise TypeError/ValueError naming the argument for bad inputs."""
    for name, value in (('logits', logits), ('targets', targets),
                        ('loc_errors', loc_errors)):
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f'{name} must be a torch.Tensor, '
                            f'got {type(value).__name__}')
    if not logits.is_floating_point():
        raise TypeError(f'logits must be a floating point tensor, '
                        f'got {logits.dtype}')
    if logits.dim() != 1:
        raise ValueError(f'logits must be 1-D, got shape '
                         f'{tuple(logits.shape)}')
    if targets.shape != logits.shape:
        raise ValueError(f'targets must have the shape of logits '
                         f'{tuple(logits.shape)}, got {tuple(targets.shape)}')
    if not delta > 0 or delta == float('inf'):
        raise ValueError(f'delta must be a positive finite number, '
                         f'got {delta}')
    if not bool(torch.isfinite(logits).all()):
        raise ValueError('logits contain NaN or infinite values')
    valid = (targets == 1) | (targets == 0) | (targets == -1)
    if not bool(valid.all()):
        bad = targets[~valid][0]
        raise ValueError(f'targets of shape {tuple(targets.shape)} must '
                         f'only hold 1 (positive), 0 (negative) or -1 '
                         f'(ignored), found {bad.item()}')
    if loc_errors is None:
        return
    num_pos = int((targets == 1).sum())
    if loc_errors.shape != (num_pos, ):
        raise ValueError(f'loc_errors must be 1-D with one entry per '
                         f'positive, shape ({num_pos},), got '
                         f'{tuple(loc_errors.shape)}')
    if not loc_errors.is_floating_point():
        raise TypeError(f'loc_errors must be a floating point tensor, '
                        f'got {loc_errors.dtype}')
    if not bool(torch.isfinite(loc_errors).all()):
        raise ValueError('loc_errors contain NaN or infinite values')


def _exclusive_cumsum(values: Tensor) -> Tensor:
    """Prefix sums with a leading zero: ``out[k] = values[:k].sum()``."""
    return torch.cat([values.new_zeros(1), values.cumsum(0)])


def _windows(points: Tensor, queries: Tensor,
             delta: float) -> Tuple[Tensor, Tensor]:
    """Bounds of the linear part of ``H`` in the sorted ``points``.

    Returns ``lo`` = #{k: points_k < q - delta} and
    ``hi`` = #{k: points_k <= q + delta} for every query ``q``.
    """
    lo = torch.searchsorted(points, queries - delta, out_int32=True)
    hi = torch.searchsorted(
        points, queries + delta, right=True, out_int32=True)
    return lo, hi


def _step_sums(points: Tensor, weights: Tensor, queries: Tensor, lo: Tensor,
               hi: Tensor, delta: float, upward: bool) -> Tensor:
    """Window sums ``sum_k w_k H(+-(points_k - q))`` for every query.

    Args:
        points: Sorted points (float64), shape (P,).
        weights: Their weights ``w_k`` (float64), shape (P,).
        queries: Query values ``q`` (float64), any length.
        lo, hi: Windows of the queries from :func:`_windows`.
        delta: Half width of the linear part of ``H``.
        upward: True for ``H(points_k - q)`` (points above ``q`` count 1),
            False for ``H(q - points_k)`` (points below ``q`` count 1).

    Returns:
        Tensor: One float64 sum per query.
    """
    cum_w = _exclusive_cumsum(weights)
    cum_ws = _exclusive_cumsum(weights * points)
    lo, hi = lo.long(), hi.long()
    inside_w = cum_w[hi] - cum_w[lo]
    inside_ws = cum_ws[hi] - cum_ws[lo]
    if upward:
        full = cum_w[-1] - cum_w[hi]
        linear = inside_ws / (2 * delta) + (0.5 - queries /
                                            (2 * delta)) * inside_w
    else:
        full = cum_w[lo]
        linear = (queries / (2 * delta) + 0.5) * inside_w - inside_ws / (
            2 * delta)
    return full + linear


def _false_positive_counts(scores: Tensor, neg_scores: Tensor, lo: Tensor,
                           hi: Tensor, delta: float) -> Tensor:
    """``N_FP(i) = sum_j H(s_j - s_i)`` for every sorted positive (eq. 3).

    Negative ``j`` adds 1 to the positives below its window ``[lo_j, hi_j)``
    and ``c_j - s_i / (2 delta)`` with ``c_j = s_j / (2 delta) + 1/2`` to
    those inside it; difference arrays over the positive index (bin counts
    at ``lo`` and ``hi`` followed by cumulative sums) add these ranges up.
    """
    size = scores.numel() + 1
    c = neg_scores / (2 * delta) + 0.5

    def covered(weights: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Sum of ``weights`` over the windows covering each positive, and
        over the windows starting at or before it."""
        starts = torch.bincount(lo, weights, minlength=size).cumsum(0)
        ends = torch.bincount(hi, weights, minlength=size).cumsum(0)
        return (starts - ends)[:-1].to(torch.float64), starts[:-1]

    inside, started = covered(None)
    inside_c, _ = covered(c)
    above = neg_scores.numel() - started
    return above + inside_c - inside * scores / (2 * delta)


def _rank(logits: Tensor, targets: Tensor, delta: float) -> _Ranking:
    """Sort the positives and compute ``rank+``, ``N_FP`` and the windows."""
    pos_index = torch.nonzero(targets == 1).squeeze(1)
    pos_logits = logits[pos_index].to(torch.float64)
    sorted_logits, order = torch.sort(pos_logits)
    centre = sorted_logits[sorted_logits.numel() // 2]
    scores = sorted_logits - centre
    # Negatives below min_i s_i - delta have H(x_ij) = 0 for every i. The
    # margin makes the test in the input dtype inclusive despite rounding;
    # the few extra negatives it admits contribute exactly nothing.
    bound = sorted_logits[0] - delta
    bound = bound - (bound.abs() + 1) / 64
    neg_index = torch.nonzero((targets == 0)
                              & (logits > bound.to(logits.dtype))).squeeze(1)
    neg_scores = logits[neg_index].to(torch.float64) - centre
    lo, hi = _windows(scores, neg_scores, delta)
    pos_lo, pos_hi = _windows(scores, scores, delta)
    # The self term H(0) = 1/2 is inside the window and is taken out.
    rank_pos = 0.5 + _step_sums(scores, torch.ones_like(scores), scores,
                                pos_lo, pos_hi, delta, upward=True)
    num_fp = _false_positive_counts(scores, neg_scores, lo, hi, delta)
    return _Ranking(pos_index, order, scores, rank_pos, num_fp.clamp(min=0),
                    neg_index, neg_scores, lo, hi, pos_lo, pos_hi)


def _unsort(values: Tensor, order: Tensor) -> Tensor:
    """Inverse of ``values = original[order]``."""
    return torch.empty_like(values).scatter_(0, order, values)


def _logit_gradient(ranking: _Ranking, pos_grad: Tensor, num_fp_share: Tensor,
                    delta: float) -> Tuple[Tensor, Tensor]:
    """Compact gradient w.r.t. positive and relevant negative logits.

    Args:
        ranking: Statistics from :func:`_rank`.
        pos_grad: ``dL/ds_i`` of the sorted positives (<= 0).
        num_fp_share: ``-dL/ds_i / N_FP(i)`` (0 where no update), the weight
            with which positive ``i`` passes its update to negative ``j`` in
            proportion to ``H(x_ij)`` (eq. 12-14).
        delta: Half width of the linear part of ``H``.

    Returns:
        tuple[Tensor, Tensor]: Gradients of the positives in the order of
        ``logits[targets == 1]`` and of the negatives in ``neg_index``.
    """
    neg_grad = _step_sums(ranking.scores, num_fp_share, ranking.neg_scores,
                          ranking.lo, ranking.hi, delta, upward=False)
    return _unsort(pos_grad, ranking.order), neg_grad


def _share(update: Tensor, num_fp: Tensor, active: Tensor) -> Tensor:
    """``update / N_FP`` where ``active``, else 0 (no division by 0)."""
    safe = torch.where(active, num_fp, torch.ones_like(num_fp))
    return torch.where(active, update / safe, torch.zeros_like(update))


def _alrp(ranking: _Ranking, loc_errors: Tensor, delta: float,
          with_grad: bool) -> Tuple[Tensor, Tensor, Optional[tuple]]:
    """aLRP values, error-driven logit gradient and loc-error gradient.

    Returns:
        tuple: ``L_cls``, ``L_loc`` (float64 scalars) and, if ``with_grad``,
        ``(pos_grad, neg_grad, loc_grad)``; ``loc_grad`` is in the order of
        ``loc_errors``.
    """
    num_pos = ranking.scores.numel()
    rank = ranking.rank
    errors = loc_errors.detach().to(torch.float64)[ranking.order]
    loss_cls = ranking.fp_fraction.mean()
    # Hard order: positives k with s_k >= s_i (ties included) are ranked at
    # or above i; the sum is a suffix sum from i's first tied position.
    first = torch.searchsorted(ranking.scores, ranking.scores)
    cum_errors = _exclusive_cumsum(errors)
    loss_loc = ((cum_errors[-1] - cum_errors[first]) / rank).mean()
    if not with_grad:
        return loss_cls, loss_loc, None
    # Eq. 12-14 with eq. 5: positive i pushes N_FP(i) plus the localisation
    # errors of the positives ranked above it (smoothed by H) back to the
    # negatives ranked above it, in proportion to H(x_ij) / N_FP(i).
    loc_above = _step_sums(
        ranking.scores, errors, ranking.scores, ranking.pos_lo,
        ranking.pos_hi, delta, upward=True) - 0.5 * errors
    update = (ranking.num_fp + loc_above) / rank / num_pos
    active = ranking.num_fp > ALRP_EPS
    update = torch.where(active, update, torch.zeros_like(update))
    pos_grad, neg_grad = _logit_gradient(
        ranking, -update, _share(update, ranking.num_fp, active), delta)
    # dL_loc/dE_k = sum over positives i ranked at or below k of
    # 1 / (rank(i) |P|): a prefix sum up to k's last tied position.
    last = torch.searchsorted(ranking.scores, ranking.scores, right=True)
    loc_grad = _exclusive_cumsum(1 / rank)[last] / num_pos
    return loss_cls, loss_loc, (pos_grad, neg_grad,
                                _unsort(loc_grad, ranking.order))


def _ap(ranking: _Ranking, delta: float,
        with_grad: bool) -> Tuple[Tensor, Optional[tuple]]:
    """AP Loss value and gradient (Chen et al., interpolated precision).

    Visiting positives in ascending score order with a running maximum of
    precision equals a running minimum of ``1 - precision``.
    """
    num_pos = ranking.scores.numel()
    error = torch.cummin(ranking.fp_fraction, dim=0).values
    loss = error.mean()
    if not with_grad:
        return loss, None
    # Negative j receives H(x_ij) / rank(i), scaled by (1 - interpolated
    # precision) / (1 - precision); as 1 - precision = N_FP / rank this is
    # (1 - interpolated precision) * H(x_ij) / N_FP(i).
    update = error / num_pos
    share = _share(update, ranking.num_fp, ranking.num_fp > 0)
    return loss, _logit_gradient(ranking, -update, share, delta)


class _LogitGradient(NamedTuple):
    """Compact logit gradient kept for the backward pass."""
    pos_index: Tensor
    pos_grad: Tensor
    neg_index: Tensor
    neg_grad: Tensor
    numel: int
    dtype: torch.dtype

    @classmethod
    def build(cls, ranking: _Ranking, grads: Tuple[Tensor, Tensor],
              like: Tensor) -> '_LogitGradient':
        """Keep the gradient at least in float32, so that a loss scale
        (AMP) multiplies it before it is rounded to a half-precision input.
        """
        store = _storage_dtype(like.dtype)
        return cls(ranking.pos_index, grads[0].to(store), ranking.neg_index,
                   grads[1].to(store), like.numel(), like.dtype)

    def dense(self, scale: Tensor) -> Tensor:
        """The gradient times ``scale`` in the layout of ``logits``."""
        scale = scale.to(self.pos_grad.dtype)
        out = self.pos_grad.new_zeros(self.numel, dtype=self.dtype)
        out[self.pos_index] = (self.pos_grad * scale).to(self.dtype)
        out[self.neg_index] = (self.neg_grad * scale).to(self.dtype)
        return out


def _storage_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; half precision and float32 become float32."""
    return torch.promote_types(dtype, torch.float32)


class _ALRPLossFunction(torch.autograd.Function):
    """Autograd Function of :func:`alrp_loss`."""

    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor, loc_errors: Tensor,
                delta: float, with_grad: bool) -> Tuple[Tensor, Tensor]:
        ranking = _rank(logits, targets, delta)
        loss_cls, loss_loc, grads = _alrp(ranking, loc_errors, delta,
                                          with_grad)
        if with_grad:
            ctx.logit_grad = _LogitGradient.build(ranking, grads[:2], logits)
            ctx.save_for_backward(grads[2].to(
                _storage_dtype(loc_errors.dtype)))
            ctx.loc_dtype = loc_errors.dtype
        return loss_cls.to(logits.dtype), loss_loc.to(loc_errors.dtype)

    @staticmethod
    def backward(ctx, grad_cls: Tensor, grad_loc: Tensor):
        loc_grad, = ctx.saved_tensors
        grad_errors = (loc_grad * grad_loc.to(loc_grad.dtype)).to(
            ctx.loc_dtype)
        return ctx.logit_grad.dense(grad_cls), None, grad_errors, None, None


class _APLossFunction(torch.autograd.Function):
    """Autograd Function of :func:`ap_loss`."""

    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor, delta: float,
                with_grad: bool) -> Tensor:
        ranking = _rank(logits, targets, delta)
        loss, grads = _ap(ranking, delta, with_grad)
        if with_grad:
            ctx.logit_grad = _LogitGradient.build(ranking, grads, logits)
        return loss.to(logits.dtype)

    @staticmethod
    def backward(ctx, grad_loss: Tensor):
        return ctx.logit_grad.dense(grad_loss), None, None, None


def _needs_grad(*tensors: Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def alrp_loss(logits: Tensor,
              targets: Tensor,
              loc_errors: Tensor,
              delta: float = 1.0) -> Tuple[Tensor, Tensor]:
    """aLRP Loss (Oksuz et al. 2020) of one batch, classification and
    localisation components.

    ``L_cls = 1 - mean_i rank+(i) / rank(i)`` (the classification part of
    eq. 8). Its gradient w.r.t. ``logits`` is the error-driven one of
    eqs. 12-14 with eq. 5, normalised by ``|P|``: for a positive with
    ``N_FP(i) > 1e-5``::

        dL/ds_i = -(N_FP(i) + sum_{k in P, k != i} E_loc(k) H(x_ik))
                  / rank(i) / |P|

    (using the detached ``loc_errors``), each negative ``j`` receives
    ``sum_i (-dL/ds_i) H(x_ij) / N_FP(i)`` and the other positives 0, so the
    positive and negative gradient magnitudes are equal (Theorem 2).
    ``L_cls`` passes no gradient to ``loc_errors``.

    ``L_loc = mean_i (sum_{k: s_k >= s_i} E_loc(k)) / rank(i)``: the hard
    score order (ties count as ranked at or above each other) over the
    smoothed rank, which is held constant — the form the authors train
    with; eq. 11 is its smoothed version. It is differentiable w.r.t.
    ``loc_errors`` only.

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
    _check_inputs(logits, targets, loc_errors, delta)
    if loc_errors.numel() == 0:
        return logits.sum() * 0, loc_errors.sum() * 0
    return _ALRPLossFunction.apply(logits, targets, loc_errors, float(delta),
                                   _needs_grad(logits, loc_errors))


def ap_loss(logits: Tensor, targets: Tensor, delta: float = 1.0) -> Tensor:
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

    Returns:
        Tensor: Scalar loss in the dtype of ``logits``; 0 with zero
        gradients when there is no positive.

    Raises:
        TypeError, ValueError: As :func:`alrp_loss`.
    """
    _check_inputs(logits, targets, None, delta)
    if not bool((targets == 1).any()):
        return logits.sum() * 0
    return _APLossFunction.apply(logits, targets, float(delta),
                                 _needs_grad(logits))


def ranking_statistics(logits: Tensor,
                       targets: Tensor,
                       delta: float = 1.0) -> Tuple[Tensor, Tensor]:
    """``rank+(i)`` and ``N_FP(i)`` of every positive (float64, no grad).

    Args:
        logits, targets, delta: As :func:`ap_loss`.

    Returns:
        tuple[Tensor, Tensor]: ``rank+`` and ``N_FP`` in the order of
        ``logits[targets == 1]``; ``rank = rank+ + N_FP``.
    """
    _check_inputs(logits, targets, None, delta)
    with torch.no_grad():
        ranking = _rank(logits.detach(), targets, float(delta))
    return (_unsort(ranking.rank_pos, ranking.order),
            _unsort(ranking.num_fp, ranking.order))


def gradient_balance(grad: Tensor, targets: Tensor) -> Tensor:
    """Ratio of summed negative to summed positive gradient magnitudes.

    The quantity of the aLRP paper's Fig. 4 (1 for aLRP and AP Loss by
    Theorem 2). Pass the gradient of a loss w.r.t. the flattened logits,
    e.g. from ``torch.autograd.grad`` or a tensor hook.

    Args:
        grad: Gradient w.r.t. ``logits``, same shape as ``targets``.
        targets: 1 positive, 0 negative, -1 ignored.

    Returns:
        Tensor: float64 scalar ``sum_{j in N} |g_j| / sum_{i in P} |g_i|``;
        NaN-free: 0 when both sums are 0, inf when only the positive one is.
    """
    if grad.shape != targets.shape:
        raise ValueError(f'grad must have the shape of targets '
                         f'{tuple(targets.shape)}, got {tuple(grad.shape)}')
    magnitude = grad.detach().abs().to(torch.float64)
    negative = magnitude[targets == 0].sum()
    positive = magnitude[targets == 1].sum()
    if bool(negative == 0):
        return negative
    return negative / positive

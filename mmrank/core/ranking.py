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
``H(x) = clamp(x / (2 delta) + 1/2, 0, 1)`` (the linearly smoothed step
function). For a positive ``i``::

    rank+(i) = 1 + sum_{k in P, k != i} H(x_ik)
    N_FP(i)  = sum_{j in N} H(x_ij)
    rank(i)  = rank+(i) + N_FP(i)

Algorithm: no ``P x N`` matrix is formed. The positives are sorted once.
Since ``H(x) + H(-x) = 1``, every sum over the positives is of the form
``sum_k w_k H(q - s_k)``: the weights of the positives below a window of
width ``2 delta`` around ``q`` plus a linear function of ``q`` over the
window, read from prefix sums of ``w`` and ``w * s`` at the window bounds.
The bounds come from a uniform lookup grid, exact because the cell index
is a monotone function of the value, with a binary search only for the
queries whose cell holds a window bound. The sums over the (unsorted)
negatives, ``N_FP``, use difference arrays over the sorted positives.
Negatives below ``min_i s_i - delta`` cannot reach any positive and are
dropped first. Time is O((P + N) log P) (O(P + N) when few queries need
the binary search) and extra memory O(P + N); sums are accumulated in
float64 on logits centred at the median positive.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from .checks import check_finite

#: Positives with ``N_FP(i) <= ALRP_EPS`` receive no aLRP gradient (eq. 5).
ALRP_EPS = 1e-5
#: Cells of the lookup grid of :func:`_windows` per positive, and at most.
_CELLS_PER_POSITIVE = 64
_MAX_CELLS = 1 << 22
#: Fewest queries for which :func:`_windows` uses the grid (CPU only).
_GRID_MIN_QUERIES = 1 << 16


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
                  loc_errors: Optional[Tensor], delta: float) -> Tensor:
    """Raise TypeError/ValueError naming the argument for bad inputs.

    Returns:
        Tensor: Positions of the positives, ``nonzero(targets == 1)``.
    """
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
    check_finite(logits, 'logits')
    _check_targets(targets)
    pos_index = torch.nonzero(targets == 1).squeeze(1)
    if loc_errors is not None:
        _check_loc_errors(loc_errors, pos_index.numel())
    return pos_index


def _check_targets(targets: Tensor) -> None:
    """Targets must be 1, 0 or -1 (any dtype)."""
    if targets.numel() == 0 or targets.dtype == torch.bool:
        return
    low, high = torch.aminmax(targets)
    valid = bool((low >= -1) & (high <= 1))
    if valid and targets.is_floating_point():
        valid = bool((targets == targets.round()).all())
    if not valid:
        bad = targets[(targets != 1) & (targets != 0) & (targets != -1)][0]
        raise ValueError(f'targets of shape {tuple(targets.shape)} must '
                         f'only hold 1 (positive), 0 (negative) or -1 '
                         f'(ignored), found {bad.item()}')


def _check_loc_errors(loc_errors: Tensor, num_pos: int) -> None:
    """One finite float localisation error per positive."""
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


def _search_windows(points: Tensor, queries: Tensor,
                    delta: float) -> Tuple[Tensor, Tensor]:
    """:func:`_windows` by binary search, for few queries."""
    lo = torch.searchsorted(points + delta, queries, out_int32=True)
    hi = torch.searchsorted(
        points - delta, queries, right=True, out_int32=True)
    return lo, hi


def _windows(points: Tensor, queries: Tensor,
             delta: float) -> Tuple[Tensor, Tensor]:
    """Bounds of the linear part of ``H(q - points_k)`` in sorted ``points``.

    Returns ``lo = #{k: points_k + delta < q}`` (the points below the
    window, ``H = 1``) and ``hi = #{k: points_k - delta <= q}`` (int32).

    ``torch.searchsorted`` is slow per query on CPU, so the queries are
    first placed in a uniform grid over ``[points_0 - delta, points_-1 +
    delta]``. The cell index is a monotone function of the value, so a
    bound in a lower (higher) cell than ``q`` is below (above) ``q``; the
    counts are exact per-cell tables unless ``q``'s cell holds a bound, and
    only those queries are searched. On other devices (parallel binary
    search) and for few queries the search is used directly.
    """
    if queries.device.type != 'cpu' or queries.numel() < _GRID_MIN_QUERIES:
        return _search_windows(points, queries, delta)
    lower, upper = points + delta, points - delta
    num_cells = min(_CELLS_PER_POSITIVE * points.numel(), _MAX_CELLS)
    start = upper[0]
    # span >= 2 delta > 0; cells 1..num_cells, 0 below, num_cells + 1 above.
    scale = num_cells / (lower[-1] - start)
    offset = start * scale - 1

    def cell(values: Tensor) -> Tensor:
        index = values * scale
        return index.sub_(offset).floor_().clamp_(0, num_cells + 1).long()

    all_cells = torch.arange(num_cells + 3, device=points.device)
    lo_table = torch.searchsorted(cell(lower), all_cells, out_int32=True)
    hi_table = torch.searchsorted(cell(upper), all_cells, out_int32=True)
    ambiguous_table = (lo_table[1:] > lo_table[:-1]) | (
        hi_table[1:] > hi_table[:-1])
    cells = cell(queries)
    lo, hi = lo_table.index_select(0, cells), hi_table.index_select(0, cells)
    search = torch.nonzero(ambiguous_table.index_select(0, cells)).squeeze(1)
    if search.numel() > 0:
        found = _search_windows(points, queries.index_select(0, search),
                                delta)
        lo.index_copy_(0, search, found[0])
        hi.index_copy_(0, search, found[1])
    return lo, hi


def _step_sums(points: Tensor, weights: Tensor, queries: Tensor, lo: Tensor,
               hi: Tensor, delta: float) -> Tensor:
    """``sum_k w_k H(q - points_k)`` for every query ``q``.

    With ``cw``, ``cws`` the prefix sums of ``w`` and ``w * points``, the
    points below the window add ``cw[lo]`` and those in it
    ``(q / (2 delta) + 1/2) (cw[hi] - cw[lo]) - (cws[hi] - cws[lo]) /
    (2 delta)``, regrouped as ``A[lo] + B[hi] + q (C[hi] - C[lo])``.

    Args:
        points: Sorted points (float64), shape (P,).
        weights: Their weights ``w_k`` (float64), shape (P,).
        queries: Query values ``q`` (float64), any length.
        lo, hi: Windows of the queries from :func:`_windows`.
        delta: Half width of the linear part of ``H``.

    Returns:
        Tensor: One float64 sum per query.
    """
    cum_w = _exclusive_cumsum(weights)
    cum_ws = _exclusive_cumsum(weights * points) / (2 * delta)
    slope = cum_w / (2 * delta)
    sums = (0.5 * cum_w + cum_ws).index_select(0, lo)
    sums += (0.5 * cum_w - cum_ws).index_select(0, hi)
    return sums.addcmul_(
        queries, slope.index_select(0, hi) - slope.index_select(0, lo))


def _false_positive_counts(scores: Tensor, neg_scores: Tensor, lo: Tensor,
                           hi: Tensor, delta: float) -> Tensor:
    """``N_FP(i) = sum_j H(s_j - s_i)`` for every sorted positive.

    Negative ``j`` adds 1 to the positives below its window ``[lo_j, hi_j)``
    and ``(s_j - s_i) / (2 delta) + 1/2`` to those inside it; difference
    arrays over the positive index (sums at ``lo`` and ``hi`` followed by
    cumulative sums) add these ranges up.
    """
    size = scores.numel() + 1

    def covered(values: Tensor) -> Tuple[Tensor, Tensor]:
        """Sums of ``values`` over the windows covering each positive, and
        over the windows starting at or before it."""
        starts = scores.new_zeros(size).index_add_(0, lo, values).cumsum(0)
        ends = scores.new_zeros(size).index_add_(0, hi, values).cumsum(0)
        return (starts - ends)[:-1], starts[:-1]

    inside, started = covered(neg_scores.new_ones(1).expand_as(neg_scores))
    inside_sum, _ = covered(neg_scores)
    above = neg_scores.numel() - started
    return above + (inside_sum - inside * scores) / (2 * delta) + 0.5 * inside


def _rank(logits: Tensor, targets: Tensor, pos_index: Tensor,
          delta: float) -> _Ranking:
    """Sort the positives and compute ``rank+``, ``N_FP`` and the windows."""
    sorted_logits, order = torch.sort(
        logits.index_select(0, pos_index).to(torch.float64))
    centre = sorted_logits[sorted_logits.numel() // 2]
    scores = sorted_logits - centre
    # Negatives below min_i s_i - delta have H(x_ij) = 0 for every i. The
    # margin makes the test in the input dtype inclusive despite rounding;
    # the few extra negatives it admits contribute exactly nothing.
    bound = sorted_logits[0] - delta
    bound = bound - (bound.abs() + 1) / 64
    relevant = logits > bound.to(logits.dtype)
    relevant &= targets == 0
    neg_index = torch.nonzero(relevant).squeeze(1)
    neg_scores = logits.index_select(0, neg_index).to(
        torch.float64).sub_(centre)
    lo, hi = _windows(scores, neg_scores, delta)
    pos_lo, pos_hi = _search_windows(scores, scores, delta)
    # rank+ = 1 + sum_{k != i} H(s_k - s_i) = 1/2 + sum_k (1 - H(s_i - s_k)).
    rank_pos = scores.numel() + 0.5 - _step_sums(
        scores, torch.ones_like(scores), scores, pos_lo, pos_hi, delta)
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
                          ranking.lo, ranking.hi, delta)
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
    # sum_{k != i} E_k H(s_k - s_i) = sum_k E_k (1 - H(s_i - s_k)) - E_i / 2
    loc_above = errors.sum() - 0.5 * errors - _step_sums(
        ranking.scores, errors, ranking.scores, ranking.pos_lo,
        ranking.pos_hi, delta)
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
        out.index_copy_(0, self.pos_index, (self.pos_grad * scale).to(
            self.dtype))
        out.index_copy_(0, self.neg_index, (self.neg_grad * scale).to(
            self.dtype))
        return out


def _storage_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; half precision and float32 become float32."""
    return torch.promote_types(dtype, torch.float32)


class _ALRPLossFunction(torch.autograd.Function):
    """Autograd Function of :func:`alrp_loss`."""

    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor, pos_index: Tensor,
                loc_errors: Tensor, delta: float,
                with_grad: bool) -> Tuple[Tensor, Tensor]:
        ranking = _rank(logits, targets, pos_index, delta)
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
        return (ctx.logit_grad.dense(grad_cls), None, None, grad_errors, None,
                None)


class _APLossFunction(torch.autograd.Function):
    """Autograd Function of :func:`ap_loss`."""

    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor, pos_index: Tensor,
                delta: float, with_grad: bool) -> Tensor:
        ranking = _rank(logits, targets, pos_index, delta)
        loss, grads = _ap(ranking, delta, with_grad)
        if with_grad:
            ctx.logit_grad = _LogitGradient.build(ranking, grads, logits)
        return loss.to(logits.dtype)

    @staticmethod
    def backward(ctx, grad_loss: Tensor):
        return ctx.logit_grad.dense(grad_loss), None, None, None, None


def _zero_loss(tensor: Tensor) -> Tensor:
    """A zero scalar in ``tensor``'s graph, so its gradient is zero.

    Summing one element only: a half-precision sum of all could overflow
    to inf, and ``inf * 0`` is NaN.
    """
    return tensor[:1].sum() * 0


def _needs_grad(*tensors: Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def alrp_loss(logits: Tensor,
              targets: Tensor,
              loc_errors: Tensor,
              delta: float = 1.0) -> Tuple[Tensor, Tensor]:
    """aLRP Loss (Oksuz et al. 2020) of one batch, classification and
    localisation components.

    ``L_cls = 1 - mean_i rank+(i) / rank(i)``. Its gradient w.r.t.
    ``logits`` is the error-driven one of eqs. 12-14 with eq. 5, normalised
    by ``|P|``: for a positive with ``N_FP(i) > 1e-5``::

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
    pos_index = _check_inputs(logits, targets, loc_errors, delta)
    if pos_index.numel() == 0:
        return _zero_loss(logits), _zero_loss(loc_errors)
    return _ALRPLossFunction.apply(logits, targets, pos_index, loc_errors,
                                   float(delta),
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
    pos_index = _check_inputs(logits, targets, None, delta)
    if pos_index.numel() == 0:
        return _zero_loss(logits)
    return _APLossFunction.apply(logits, targets, pos_index, float(delta),
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
    pos_index = _check_inputs(logits, targets, None, delta)
    if pos_index.numel() == 0:
        empty = logits.new_zeros(0, dtype=torch.float64)
        return empty, empty
    with torch.no_grad():
        ranking = _rank(logits.detach(), targets, pos_index, float(delta))
    return (_unsort(ranking.rank_pos, ranking.order),
            _unsort(ranking.num_fp, ranking.order))


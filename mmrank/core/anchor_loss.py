"""Anchor Loss (Ryou, Jeong and Perona, ICCV 2019) in plain torch.

Notation of the paper: ``q = sigmoid(x)`` are the per-class (or per-pixel)
probabilities, ``p`` the binary (or Gaussian) targets and ``q*`` the anchor
probability, a detached copy of a reference score. Anchor Loss scales the
binary cross entropy (BCE) of every element with a modulating factor

* ``(1 + q - q*) ** gamma`` for a negative (background) element, eq. (2),
  which grows when a background score approaches or passes the anchor;
* ``(1 - q + q*) ** gamma`` for a positive (target) element, variant (i) of
  the supplementary material.

With ``q* = 1 - p`` both factors reduce to focal loss (eqs. 10-12) and with
``gamma = 0`` to BCE. The anchor is never back-propagated; the gradient of
the modulating factor itself is (eq. 14).

The BCE terms are written with ``logsigmoid`` (``log q = logsigmoid(x)``,
``log(1 - q) = logsigmoid(-x)``), which stays finite for logits of any size;
``log(1 - sigmoid(x))`` is ``-inf`` in fp32 above ``x ~ 16.6``. Half
precision inputs are computed in fp32 and the result is cast back.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .labels import labels_to_onehot
from .reduction import reduce_loss

#: Which classification terms are modulated (supplementary material (i)-(iii)).
CLS_VARIANTS = ('background', 'target', 'both')
#: Reductions supported by :func:`anchor_loss`.
REDUCTIONS = ('none', 'mean', 'sum')


def check_gamma_margin(gamma: float, margin: float) -> None:
    """Validate the focusing parameter ``gamma`` and the anchor ``margin``.

    Raises:
        ValueError: If ``gamma`` is negative or not finite, or ``margin`` is
            outside ``[0, 1]``.
    """
    if not math.isfinite(gamma) or gamma < 0:
        raise ValueError(f'gamma must be a finite number >= 0, got {gamma}')
    if not 0 <= margin <= 1:
        raise ValueError(f'margin must lie in [0, 1], got {margin}')


def check_reduction(reduction: str) -> None:
    """Validate ``reduction`` against :data:`REDUCTIONS`."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, '
                         f'got {reduction!r}')


def check_cls_options(gamma: float, margin: float, variant: str,
                      anchor: Optional[float], reduction: str) -> None:
    """Validate the options of the classification loss.

    Raises:
        ValueError: Naming the first invalid argument: ``gamma`` or
            ``margin`` (see :func:`check_gamma_margin`), ``variant`` not in
            :data:`CLS_VARIANTS`, a static ``anchor`` outside ``[0, 1]`` or
            ``reduction`` not in :data:`REDUCTIONS`.
    """
    check_gamma_margin(gamma, margin)
    if variant not in CLS_VARIANTS:
        raise ValueError(f'variant must be one of {CLS_VARIANTS}, '
                         f'got {variant!r}')
    if anchor is not None and not 0 <= anchor <= 1:
        raise ValueError(
            f'anchor (static q*) must be None or lie in [0, 1], got {anchor}')
    check_reduction(reduction)


def _compute_dtype(logits: Tensor) -> Tensor:
    """Return ``logits`` in at least fp32 (fp16/bf16 are upcast)."""
    if logits.dtype in (torch.float16, torch.bfloat16):
        return logits.float()
    return logits


def modulating_factor(probs: Tensor, anchors: Tensor, positive: bool,
                      gamma: float) -> Tensor:
    """Anchor Loss modulating factor of eq. (2) / supplement (i).

    Args:
        probs: Probabilities ``q``.
        anchors: Anchor probabilities ``q*`` broadcastable to ``probs``;
            they are detached here.
        positive: True for target elements, ``(1 - q + q*) ** gamma``;
            False for background elements, ``(1 + q - q*) ** gamma``.
        gamma: Focusing parameter, ``gamma >= 0``.

    Returns:
        The factor, same shape as ``probs``.
    """
    anchors = anchors.detach()
    base = 1 - probs + anchors if positive else 1 + probs - anchors
    # The base lies in [0, 2]. Clamping at the smallest normal number keeps
    # pow's backward finite (0 ** (gamma - 1) is inf) where the factor and
    # its true gradient vanish; the clamp passes no gradient there.
    return base.clamp(min=torch.finfo(base.dtype).tiny).pow(gamma)


def binary_log_likelihoods(logits: Tensor) -> Tuple[Tensor, Tensor]:
    """Return ``(log q, log(1 - q))`` for ``q = sigmoid(logits)``, stably."""
    return F.logsigmoid(logits), F.logsigmoid(-logits)


def classification_anchors(probs: Tensor, onehot: Tensor,
                           margin: float) -> Tuple[Tensor, Tensor]:
    """Dynamic anchor probabilities of the classification loss.

    Args:
        probs: Sigmoid probabilities ``(N, C)``.
        onehot: Bool targets ``(N, C)``, one True per row.
        margin: ``delta`` of the paper.

    Returns:
        ``(background_anchor, target_anchor)``, each ``(N, 1)`` and detached:
        ``clamp(q_t - delta, 0, 1)`` for the background terms (eq. 2) and
        ``clamp(max_{k != t} q_k + delta, 0, 1)`` for the target term
        (supplement (i)).
    """
    probs = probs.detach()
    target_prob = probs.masked_select(onehot).unsqueeze(1)
    background_max = probs.masked_fill(onehot, -1.).amax(1, keepdim=True)
    # With a single class there is no background score: 0 stands in.
    background_max = background_max.clamp(min=0.)
    return ((target_prob - margin).clamp(0., 1.),
            (background_max + margin).clamp(0., 1.))


def anchor_loss(logits: Tensor,
                target: Tensor,
                gamma: float = 0.5,
                margin: float = 0.05,
                variant: str = 'background',
                anchor: Optional[float] = None,
                weight: Optional[Tensor] = None,
                reduction: str = 'mean',
                avg_factor: Optional[float] = None) -> Tensor:
    """Classification Anchor Loss, eq. (2) and supplement (i)-(iii).

    For sample ``n`` with target class ``t`` the loss is
    ``-sum_k [p_k m_k^+ log q_k + (1 - p_k) m_k^- log(1 - q_k)]`` where the
    factors ``m`` come from :func:`modulating_factor` for the modulated terms
    and are 1 otherwise:

    * ``'background'`` (eq. 2, default): background classes use
      ``q* = q_t - margin``;
    * ``'target'``: the target class uses ``q* = max_{k != t} q_k + margin``;
    * ``'both'``: both.

    Args:
        logits: Class scores ``(N, C)`` before the sigmoid.
        target: Class indices ``(N,)`` or one-hot ``(N, C)``.
        gamma: Focusing parameter, ``gamma >= 0``.
        margin: ``delta`` of the dynamic anchor.
        variant: One of :data:`CLS_VARIANTS`.
        anchor: A static ``q*`` in ``[0, 1]`` used for every modulated term
            instead of the dynamic anchor (ablation, Table 3); None is
            dynamic.
        weight: Optional per-sample weights ``(N,)``.
        reduction: One of :data:`REDUCTIONS`.
        avg_factor: Divisor of the summed loss for ``'mean'``.

    Returns:
        The reduced loss, or per-sample losses ``(N,)`` for ``'none'``,
        in the dtype of ``logits``.

    Raises:
        ValueError: On a bad argument (named in the message).
    """
    check_cls_options(gamma, margin, variant, anchor, reduction)
    if logits.dim() != 2:
        raise ValueError('logits must have shape (N, C), got '
                         f'{tuple(logits.shape)}')
    onehot = labels_to_onehot(target, logits.shape[1])
    if weight is not None and weight.shape != logits.shape[:1]:
        raise ValueError(f'weight must have shape ({logits.shape[0]},), got '
                         f'{tuple(weight.shape)}')

    x = _compute_dtype(logits)
    probs = x.sigmoid()
    log_q, log_not_q = binary_log_likelihoods(x)
    pos_term, neg_term = -log_q, -log_not_q
    background_anchor, target_anchor = classification_anchors(
        probs, onehot, margin)
    if anchor is not None:
        background_anchor = target_anchor = probs.new_tensor(anchor)
    if variant in ('background', 'both'):
        neg_term = neg_term * modulating_factor(probs, background_anchor,
                                                False, gamma)
    if variant in ('target', 'both'):
        pos_term = pos_term * modulating_factor(probs, target_anchor, True,
                                                gamma)
    loss = torch.where(onehot, pos_term, neg_term).sum(1)
    if weight is not None:
        loss = loss * weight.to(loss.dtype)
    return reduce_loss(loss, reduction, avg_factor).to(logits.dtype)


def _check_heatmap_args(output: Tensor, target: Tensor,
                        target_weights: Optional[Tensor],
                        mask: Optional[Tensor]) -> None:
    """Validate the shapes of the heatmap loss arguments.

    Raises:
        ValueError: Naming the argument whose shape does not fit.
    """
    if output.dim() < 3:
        raise ValueError('output must have shape (N, K, *spatial), got '
                         f'{tuple(output.shape)}')
    if target.shape != output.shape:
        raise ValueError(f'target must have the shape of output '
                         f'{tuple(output.shape)}, got {tuple(target.shape)}')
    if target_weights is not None and target_weights.shape != output.shape[:2]:
        raise ValueError(f'target_weights must have shape '
                         f'{tuple(output.shape[:2])}, got '
                         f'{tuple(target_weights.shape)}')
    if mask is not None and (mask.dim() != output.dim() or any(
            m not in (1, o) for m, o in zip(mask.shape, output.shape))):
        raise ValueError(f'mask must be broadcastable to output '
                         f'{tuple(output.shape)} with the same number of '
                         f'dimensions, got {tuple(mask.shape)}')


def heatmap_anchors(probs: Tensor, target: Tensor,
                    valid: Tensor) -> Tuple[Tensor, Tensor]:
    """Anchor probability of every heatmap, eq. (4).

    Args:
        probs: Sigmoid outputs ``(N, K, *spatial)``.
        target: Target heatmaps, same shape.
        valid: Bool, same shape: pixels that take part in the loss.

    Returns:
        ``(anchors, has_anchor)``: ``q* = max q`` over the valid pixels with
        ``p > 0.5``, shape ``(N, K, 1, ...)`` and detached, and whether the
        heatmap has such a pixel (same shape, bool).
    """
    region = (target > 0.5) & valid
    flat = probs.detach().masked_fill(~region, -1.).flatten(2)
    view = probs.shape[:2] + (1, ) * (probs.dim() - 2)
    anchors = flat.amax(2).view(view)
    return anchors.clamp(min=0.), (anchors >= 0)


def anchor_heatmap_loss(output: Tensor,
                        target: Tensor,
                        gamma: float = 2.0,
                        target_weights: Optional[Tensor] = None,
                        mask: Optional[Tensor] = None,
                        reduction: str = 'mean') -> Tensor:
    """Anchor Loss for keypoint heatmaps, eqs. (3)-(5).

    Each heatmap ``(n, k)`` has the anchor ``q*`` of
    :func:`heatmap_anchors`. Pixels with target ``p == 0`` get
    ``-(1 + q - q*) ** gamma * log(1 - q)``; all other pixels the plain
    (soft-target) BCE ``-(p log q + (1 - p) log(1 - q))``. A heatmap without
    a pixel above 0.5 has no anchor and gets plain BCE everywhere.

    Args:
        output: Heatmap logits ``(N, K, *spatial)`` (sigmoid not applied).
        target: Target heatmaps in ``[0, 1]``, same shape.
        gamma: Focusing parameter (2 in the paper).
        target_weights: Optional keypoint weights ``(N, K)``; a zero weight
            removes the heatmap from the loss.
        mask: Optional pixel mask broadcastable to ``output`` with the same
            number of dimensions; masked pixels (0) contribute nothing and
            are not anchor candidates.
        reduction: ``'mean'`` over all elements (as mmpose's heatmap losses
            do), ``'sum'``, or ``'none'`` for per-pixel losses.

    Returns:
        The reduced loss in the dtype of ``output``.

    Raises:
        ValueError: On a bad argument (named in the message).
    """
    check_gamma_margin(gamma, 0.)
    check_reduction(reduction)
    _check_heatmap_args(output, target, target_weights, mask)
    x = _compute_dtype(output)
    target = target.to(x.dtype)
    weights = torch.ones_like(x)
    if mask is not None:
        weights = weights * mask.to(x.dtype)
    if target_weights is not None:
        weights = weights * target_weights.to(x.dtype).view(
            target_weights.shape + (1, ) * (x.dim() - 2))
    probs = x.sigmoid()
    anchors, has_anchor = heatmap_anchors(probs, target, weights > 0)
    log_q, log_not_q = binary_log_likelihoods(x)
    bce = -(target * log_q + (1 - target) * log_not_q)
    modulated = -log_not_q * modulating_factor(probs, anchors, False, gamma)
    loss = torch.where((target == 0) & has_anchor, modulated, bce)
    # Multiplying a finite loss by a zero weight gives an exact zero.
    loss = reduce_loss((loss * weights).flatten(), reduction, None)
    if reduction == 'none':
        loss = loss.view(x.shape)
    return loss.to(output.dtype)

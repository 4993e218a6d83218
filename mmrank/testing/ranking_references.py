"""Reference implementations of the ranking losses and their baselines.

What tests and benchmarks compare the ranking core with: the authors'
per-positive loops of aLRP Loss and Rank & Sort Loss (O(P N), the error-
driven gradients computed in the loop), eager sigmoid focal loss and BCE,
mmcv's fused focal loss (CUDA), and random flat batches to run them on.
"""
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor


class Batch(NamedTuple):
    """One flattened batch of a ranking loss benchmark or test."""
    logits: Tensor
    targets: Tensor
    loc_errors: Tensor
    qualities: Tensor  # targets with each positive's quality (RS Loss)


def make_batch(num: int, num_pos: int, device: str, seed: int) -> Batch:
    """Random logits and targets (1 / 0 / -1) of one flattened batch."""
    gen = torch.Generator(device=device).manual_seed(seed)
    targets = torch.zeros(num, dtype=torch.long, device=device)
    ignored = torch.rand(num, generator=gen, device=device) < 0.05
    targets[ignored] = -1
    positions = torch.randperm(num, generator=gen, device=device)[:num_pos]
    targets[positions] = 1
    logits = torch.randn(num, generator=gen, device=device) * 1.5 - 4
    logits[positions] += 2
    loc_errors = torch.rand(num_pos, generator=gen, device=device)
    qualities = targets.to(logits.dtype)
    qualities[positions] = torch.rand(
        num_pos, generator=gen, device=device) * 0.9 + 0.1
    return Batch(logits, targets, loc_errors, qualities)


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, gamma: float = 2.0,
                       alpha: float = 0.25) -> Tensor:
    """Eager sigmoid focal loss (Lin et al.), ignored entries masked out."""
    labels = (targets == 1).to(logits.dtype)
    weight = (targets != -1).to(logits.dtype)
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, labels, reduction='none')
    p_t = prob * labels + (1 - prob) * (1 - labels)
    alpha_t = alpha * labels + (1 - alpha) * (1 - labels)
    loss = alpha_t * ce * (1 - p_t)**gamma * weight
    return loss.sum() / labels.sum().clamp(min=1)


def bce_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Binary cross entropy, ignored entries masked out."""
    labels = (targets == 1).to(logits.dtype)
    weight = (targets != -1).to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(
        logits, labels, weight, reduction='sum')
    return loss / labels.sum().clamp(min=1)


def per_positive_loop(logits: Tensor, targets: Tensor, loc_errors: Tensor,
                      delta: float = 1.0,
                      max_positives: Optional[int] = None) -> Tensor:
    """aLRP Loss (classification + localisation) the authors' way.

    For each positive ``i`` in turn: ``H`` against every positive and every
    relevant negative, ``rank(i)``, ``N_FP(i)``, and the error-driven
    update of ``i`` and of the negatives. O(P N) time. The gradient is
    computed during the loop and handed to autograd by :class:`LoopGradient`.
    With ``max_positives`` only that many positives are visited (for
    extrapolating the time; the value is then meaningless).
    """
    pos_index = torch.nonzero(targets == 1).squeeze(1)
    pos = logits.detach()[pos_index]
    neg_index = torch.nonzero((targets == 0)
                              & (logits.detach() > pos.min() - delta))
    neg = logits.detach()[neg_index.squeeze(1)]
    errors = loc_errors.detach()
    num_pos = pos.numel()
    rank = torch.ones_like(pos)
    num_fp = torch.zeros_like(pos)
    pos_grad = torch.zeros_like(pos)
    neg_grad = torch.zeros_like(neg)
    for i in range(num_pos if max_positives is None else max_positives):
        h_pos = ((pos - pos[i]) / (2 * delta) + 0.5).clamp(0, 1)
        h_pos[i] = 0
        h_neg = ((neg - pos[i]) / (2 * delta) + 0.5).clamp(0, 1)
        num_fp[i] = h_neg.sum()
        rank[i] = 1 + h_pos.sum() + num_fp[i]
        if num_fp[i] > 1e-5:
            pos_grad[i] = -(num_fp[i] + (h_pos * errors).sum()) / rank[i]
            neg_grad += h_neg * (-pos_grad[i] / num_fp[i])
    loss_cls = (num_fp / rank).mean()
    # Localisation: cumulative errors in descending score order (hard).
    order = torch.argsort(pos, descending=True)
    loss_loc = (errors[order].cumsum(0) / rank[order]).mean()
    grad = torch.zeros_like(logits)
    grad[pos_index] = pos_grad / num_pos
    grad[neg_index.squeeze(1)] = neg_grad / num_pos
    return LoopGradient.apply(logits, loss_cls + loss_loc, grad)


class LoopGradient(torch.autograd.Function):
    """Returns ``loss`` with a precomputed gradient w.r.t. ``logits``."""

    @staticmethod
    def forward(ctx, logits: Tensor, loss: Tensor, grad: Tensor) -> Tensor:
        ctx.save_for_backward(grad)
        return loss.clone()

    @staticmethod
    def backward(ctx, grad_loss: Tensor):
        grad, = ctx.saved_tensors
        return grad * grad_loss, None, None


def rank_sort_loop(logits: Tensor, targets: Tensor, delta: float = 0.5,
                   max_positives: Optional[int] = None) -> Tensor:
    """Rank & Sort Loss the authors' way (their ``RankSort`` forward).

    For each positive ``i`` in ascending score order: ``H`` against every
    positive and every relevant negative (logit >= lowest positive -
    delta), the ranking error, the current and target sorting errors, and
    the identity updates (denominators compared with 1e-10). O(P N) time.
    Returns ``L_rank + L_sort`` with the authors' gradient (their backward
    scales it by the gradient of the returned sum). With ``max_positives``
    only that many positives are visited (for timing).
    """
    fg = targets > 0
    fg_logits, fg_targets = logits.detach()[fg], targets[fg]
    bg = (targets == 0) & (logits.detach() >= fg_logits.min() - delta)
    bg_logits = logits.detach()[bg]
    bg_grad = torch.zeros_like(bg_logits)
    fg_grad = torch.zeros_like(fg_logits)
    ranking_error = torch.zeros_like(fg_logits)
    sorting_error = torch.zeros_like(fg_logits)
    for ii in torch.argsort(fg_logits)[:max_positives]:
        fg_rel = ((fg_logits - fg_logits[ii]) / (2 * delta) + 0.5).clamp(0, 1)
        bg_rel = ((bg_logits - fg_logits[ii]) / (2 * delta) + 0.5).clamp(0, 1)
        rank_pos, fp_num = fg_rel.sum(), bg_rel.sum()
        ranking_error[ii] = fp_num / (rank_pos + fp_num)
        current = (fg_rel * (1 - fg_targets)).sum() / rank_pos
        better = fg_targets >= fg_targets[ii]
        target_order = better * fg_rel
        sorting_error[ii] = current - (target_order * (
            1 - fg_targets)).sum() / target_order.sum()
        if fp_num > 1e-10:
            fg_grad[ii] -= ranking_error[ii]
            bg_grad += bg_rel * (ranking_error[ii] / fp_num)
        missorted = (~better) * fg_rel
        if missorted.sum() > 1e-10:
            fg_grad[ii] -= sorting_error[ii]
            fg_grad += missorted * (sorting_error[ii] / missorted.sum())
    grad = torch.zeros_like(logits)
    grad[fg] = fg_grad / fg_logits.numel()
    grad[bg] = bg_grad / fg_logits.numel()
    return LoopGradient.apply(logits,
                               ranking_error.mean() + sorting_error.mean(),
                               grad)


def mmcv_focal_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """mmcv's fused sigmoid focal loss (CUDA), as mmdet's FocalLoss calls it:
    one class column (label 1 is background), ignored entries masked."""
    from mmcv.ops import sigmoid_focal_loss
    loss = sigmoid_focal_loss(logits[:, None], (targets != 1).long(), 2.0,
                              0.25, None, 'none')
    weight = (targets != -1).to(logits.dtype)
    return (loss[:, 0] * weight).sum() / (targets == 1).sum().clamp(min=1)

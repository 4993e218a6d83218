"""One autograd entry point for every ranking loss.

A ranking loss is a *kernel*: given the :class:`~.engine.Ranking` of a batch
and its per-positive inputs, it returns one :class:`LossTerm` per output
with the value and the error-driven gradient of that output. The gradient
w.r.t. the logits is kept compact: one value per positive and, for the
negatives, one *share* per positive, from which the negatives' gradient
``sum_i c_i H(x_ij)`` is computed in the backward pass, for all outputs at
once (it is linear in the shares).
"""
from typing import (Callable, List, NamedTuple, Optional, Sequence, Tuple,
                    Type)

import torch
from torch import Tensor

from ..reduction import zero_loss
from .backends import negative_passes
from .engine import Ranking, check_inputs, rank_positives
from .negatives import NegativePasses


class LossTerm(NamedTuple):
    """Value and error-driven gradient of one output of a ranking loss.

    Attributes:
        value: The loss (float64 scalar).
        pos_grad: ``dL/ds_i`` of the sorted positives, or None.
        neg_share: ``c_i`` of the sorted positives: negative ``j`` receives
            ``sum_i c_i H(x_ij)``; None if the negatives receive nothing.
        input_grads: Gradient w.r.t. each per-positive input (sorted
            order, float64), None where there is none.
    """
    value: Tensor
    pos_grad: Optional[Tensor] = None
    neg_share: Optional[Tensor] = None
    input_grads: Tuple[Optional[Tensor], ...] = ()


#: ``kernel(ranking, per_positive_inputs_sorted, with_grad) -> terms``.
LossKernel = Callable[[Ranking, Tuple[Tensor, ...], bool], List[LossTerm]]


def storage_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; half precision and float32 become float32.

    Gradients are kept at least in float32 so that a loss scale (AMP)
    multiplies them before they are rounded to a half-precision input.
    """
    return torch.promote_types(dtype, torch.float32)


def _weighted(parts: Sequence[Optional[Tensor]],
              scales: Sequence[Tensor]) -> Optional[Tensor]:
    """``sum_t scales_t * parts_t`` over the parts that exist."""
    total = None
    for part, scale in zip(parts, scales):
        if part is not None:
            term = part * scale.to(part.dtype)
            total = term if total is None else total + term
    return total


class _RankingFunction(torch.autograd.Function):
    """Runs a :data:`LossKernel`; backward from its compact gradients."""

    @staticmethod
    def forward(ctx, kernel: LossKernel, delta: float,
                passes: Type[NegativePasses], with_grad: bool,
                out_dtypes: Tuple[torch.dtype, ...], pos_index: Tensor,
                targets: Tensor, logits: Tensor,
                *inputs: Tensor) -> Tuple[Tensor, ...]:
        ranking = rank_positives(logits, targets, pos_index, delta, passes)
        terms = kernel(ranking, tuple(ranking.sorted_values(x)
                                      for x in inputs), with_grad)
        if with_grad:
            store = storage_dtype(logits.dtype)
            ctx.ranking = ranking
            ctx.terms = [
                t._replace(
                    pos_grad=None if t.pos_grad is None else t.pos_grad.to(
                        store)) for t in terms
            ]
            ctx.logits_meta = (logits.numel(), logits.dtype)
            ctx.input_dtypes = [x.dtype for x in inputs]
        return tuple(t.value.to(d) for t, d in zip(terms, out_dtypes))

    @staticmethod
    def backward(ctx, *grad_outputs: Tensor):
        ranking, terms = ctx.ranking, ctx.terms
        numel, dtype = ctx.logits_meta
        pos_grad = _weighted([t.pos_grad for t in terms], grad_outputs)
        shares = _weighted([t.neg_share for t in terms], grad_outputs)
        grad_logits = torch.zeros(numel, dtype=storage_dtype(dtype),
                                  device=ranking.scores.device)
        if shares is not None:
            ranking.negatives.write_gradient(shares, grad_logits)
        if pos_grad is not None:
            grad_logits.index_copy_(0, ranking.pos_index,
                                    ranking.unsort(pos_grad).to(
                                        grad_logits.dtype))
        grad_logits = grad_logits.to(dtype)
        grad_inputs = []
        for k, input_dtype in enumerate(ctx.input_dtypes):
            grad = _weighted([
                t.input_grads[k] if k < len(t.input_grads) else None
                for t in terms
            ], [g.double() for g in grad_outputs])
            grad_inputs.append(None if grad is None else ranking.unsort(
                grad).to(input_dtype))
        return (None, None, None, None, None, None, None, grad_logits,
                *grad_inputs)


def apply_ranking_loss(kernel: LossKernel,
                       logits: Tensor,
                       targets: Tensor,
                       delta: float,
                       outputs_like: Sequence[Tensor],
                       inputs: Sequence[Tuple[str, Tensor]] = (),
                       continuous: bool = False,
                       impl: str = 'auto') -> Tuple[Tensor, ...]:
    """Check the inputs and run ``kernel`` through autograd.

    Args:
        kernel: The loss.
        logits, targets, delta: As the public loss functions.
        outputs_like: One tensor per output whose dtype the output takes,
            and whose graph it joins when there is no positive (the loss is
            then 0 with zero gradients).
        inputs: ``(name, tensor)`` of the per-positive inputs.
        continuous: Whether positive targets are qualities in (0, 1].
        impl: ``'auto'``, ``'torch'`` or ``'triton'``: the backend of the
            passes over the negatives (:func:`.backends.logit_pass_impl`).

    Returns:
        tuple[Tensor, ...]: The outputs of the kernel.
    """
    pos_index = check_inputs(logits, targets, delta, tuple(inputs),
                             continuous)
    passes = negative_passes(impl, logits.device)
    if pos_index.numel() == 0:
        return tuple(zero_loss(t) for t in outputs_like)
    tensors = [x for _, x in inputs]
    with_grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (logits, *tensors))
    return _RankingFunction.apply(kernel, float(delta), passes, with_grad,
                                  tuple(t.dtype for t in outputs_like),
                                  pos_index, targets, logits, *tensors)

"""Fused Triton passes over the negatives of the ranking losses.

The ranking losses (aLRP, AP, Rank & Sort) spend their O(N) time in two
passes over the negatives of the flat batch, given the ``P`` sorted centred
positive logits ``s`` (few: at most ~1e4) and ``H(x) = clamp(x / (2 delta)
+ 1/2, 0, 1)``:

- :func:`false_positive_counts`: ``N_FP(i) = sum_j H(s_j - s_i)`` of every
  sorted positive;
- :func:`negative_gradient`: ``g_j = sum_i share_i H(s_j - s_i)`` of every
  relevant negative.

The torch path (:class:`~.negatives.TorchPasses`) gathers the relevant
negatives (``targets == 0`` and logit above the bound), converts them to
float64, finds their windows among the positives and scatters or gathers.
Each pass here is one kernel that streams the logits and targets once in
their own dtypes: a program takes a block of entries, drops the
non-negatives and those at or below the bound, converts the rest to float64
centred logits, finds each one's window by a binary search over the
positives (``lo = #{i: s_i + delta < q}``, ``hi = #{i: s_i - delta <= q}``,
the bounds of ``torch.searchsorted`` on the same float64 tables) and then

- adds its count and its centred logit to difference arrays at ``lo`` and
  ``hi`` (float64 atomics; the two end slots, which hold most negatives
  early in training, are summed per block first), from which torch cumsums
  give ``N_FP`` with the formula of the torch path; or
- reads the prefix-sum tables of ``share`` and ``share * s`` at ``lo`` and
  ``hi`` and writes ``g_j``.

No index or float64 copy of the negatives is made: the extra memory is
O(P).

Precision: all sums are float64, as in the torch path. ``N_FP`` comes from
prefix sums over up to ~1e8 centred logits whose windows are then
differenced (``inside_sum - inside * s_i``), a cancellation that float32
cannot carry; compensated float32 (two-sum) would need a read-modify-write
of two words per addition, which atomics cannot do, so it would force
per-block partial arrays of size P and a second reduction. Float64 costs
consumer GPUs (1/32 or 1/64 of the float32 rate) little here: per negative
the kernels do ~2 log2(P) float64 comparisons and a handful of float64
additions against several bytes of memory traffic, so even there they stay
near memory-bound; on data-centre GPUs (H100: half the float32 rate)
float64 is free.

Kernels run on CUDA tensors, or on CPU tensors under Triton's interpreter,
which is how they are tested without a GPU: ``TRITON_INTERPRET=1`` must be
set before ``triton`` is first imported in the process (Triton wraps its
own library functions for the interpreter at import). ``triton`` is
imported lazily, so ``import mmrank.core`` works without it.
"""
import os
from typing import Union

import torch
from torch import Tensor

from .negatives import NegativePasses
from .steps import step_tables

#: Entries per program.
_BLOCK = 1024


def _triton_importable() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def _interpreting() -> bool:
    """``TRITON_INTERPRET=1`` is set and was when triton was imported (its
    library functions are then the interpreter's)."""
    if os.environ.get('TRITON_INTERPRET', '0') != '1' or \
            not _triton_importable():
        return False
    import triton.language as tl
    return type(tl.zeros).__name__ == 'InterpretedFunction'


def available(device: Union[str, torch.device]) -> bool:
    """Whether the kernels can run on ``device``.

    True when ``triton`` is importable and ``device`` is CUDA, or when
    ``device`` is the CPU and triton runs interpreted
    (``TRITON_INTERPRET=1`` set before triton was imported).
    """
    device_type = torch.device(device).type
    if device_type == 'cpu':
        return _interpreting()
    return device_type == 'cuda' and _triton_importable()


def enable_hint() -> str:
    """What makes the kernels runnable where :func:`available` is False."""
    if not _triton_importable():
        return 'install triton (pip install triton)'
    return ('use CUDA tensors, or set TRITON_INTERPRET=1 before triton is '
            'imported to run CPU tensors in the interpreter')


def _check_pass_inputs(scores: Tensor, logits: Tensor, targets: Tensor,
                       centre: Tensor, bound: Tensor) -> None:
    """Shapes, dtypes and devices the kernels rely on (ValueError)."""
    if scores.dim() != 1 or scores.dtype != torch.float64 or \
            scores.numel() == 0:
        raise ValueError(f'scores must be a non-empty 1-D float64 tensor, '
                         f'got {scores.dtype} of shape {tuple(scores.shape)}')
    if logits.dim() != 1 or not logits.is_floating_point():
        raise ValueError(f'logits must be a 1-D float tensor, got '
                         f'{logits.dtype} of shape {tuple(logits.shape)}')
    if targets.shape != logits.shape:
        raise ValueError(f'targets must have the shape of logits '
                         f'{tuple(logits.shape)}, got {tuple(targets.shape)}')
    if centre.numel() != 1 or centre.dtype != torch.float64:
        raise ValueError(f'centre must be a one-element float64 tensor, got '
                         f'{centre.dtype} of shape {tuple(centre.shape)}')
    if bound.numel() != 1 or bound.dtype != logits.dtype:
        raise ValueError(f'bound must be a one-element tensor of the dtype '
                         f'of logits ({logits.dtype}), got {bound.dtype} of '
                         f'shape {tuple(bound.shape)}')
    devices = {t.device for t in (scores, logits, targets, centre, bound)}
    if len(devices) > 1:
        raise ValueError(f'scores, logits, targets, centre and bound must be '
                         f'on one device, got {sorted(map(str, devices))}')
    if not available(logits.device):
        raise ValueError(f'the Triton kernels cannot run on {logits.device}: '
                         f'{enable_hint()}')


def _launch(scores: Tensor, logits: Tensor, targets: Tensor, centre: Tensor,
            bound: Tensor, delta: float, table: Tensor, out: Tensor,
            gradient: bool) -> None:
    """Run the kernel over all entries of ``logits``."""
    _check_pass_inputs(scores, logits, targets, centre, bound)
    num = logits.numel()
    if num == 0:
        return
    if targets.dtype == torch.bool:
        targets = targets.view(torch.uint8)
    num_pos = scores.numel()
    grid = ((num + _BLOCK - 1) // _BLOCK, )
    from .triton_kernels import negatives_pass
    negatives_pass[grid](logits.contiguous(),
                         targets.contiguous(),
                         scores + delta,
                         scores - delta,
                         centre.reshape(()),
                         bound.reshape(()),
                         table,
                         out,
                         num,
                         num_pos,
                         STEPS=num_pos.bit_length(),
                         GRADIENT=gradient,
                         BLOCK=_BLOCK)


def false_positive_counts(scores: Tensor, logits: Tensor, targets: Tensor,
                          centre: Tensor, bound: Tensor,
                          delta: float) -> Tensor:
    """``N_FP(i) = sum_j H(s_j - s_i)`` of the sorted positives, fused.

    Equals :func:`.steps.false_positive_counts` on the negatives that
    :class:`~.negatives.TorchPasses` selects (clamped at 0 as there).

    Args:
        scores: Sorted centred positive logits ``s`` (float64), shape (P,).
        logits: All logits of the flat batch (any float dtype), shape (M,).
        targets: Their targets (any dtype); negatives are ``== 0``.
        centre: The float64 centre subtracted from ``logits`` (0-d).
        bound: Entries with ``logits <= bound`` are skipped (0-d, in the
            dtype of ``logits``).
        delta: Half width of the linear part of ``H``.

    Returns:
        Tensor: ``N_FP`` of the sorted positives, float64, shape (P,).
    """
    num_pos = scores.numel()
    table = scores.new_zeros(4, num_pos + 1)
    _launch(scores, logits, targets, centre, bound, delta, table, table, False)
    # Windows [lo, hi) started / ended at or before each positive.
    started, ended, sum_started, sum_ended = table.cumsum(1)[:, :-1]
    inside = started - ended
    above = table[0].sum() - started
    inside_sum = sum_started - sum_ended
    counts = above + (inside_sum - inside * scores) / (2 * delta)
    return counts.add_(0.5 * inside).clamp_(min=0)


def negative_gradient(scores: Tensor, share: Tensor, logits: Tensor,
                      targets: Tensor, centre: Tensor, bound: Tensor,
                      delta: float, out: Tensor) -> None:
    """Write ``g_j = sum_i share_i H(s_j - s_i)`` into ``out[j]``, fused.

    Every negative with ``logits[j] > bound`` gets its ``g_j`` rounded to
    ``out.dtype`` (0 for those that reach no positive); other entries of
    ``out`` are left untouched. Equals
    :func:`.steps.step_sums` ``(scores, share, neg_scores, lo, hi,
    delta)`` of the torch path.

    Args:
        scores, logits, targets, centre, bound, delta: As
            :func:`false_positive_counts`.
        share: Weight of each sorted positive (float64), shape (P,).
        out: Contiguous float32 or float64 tensor of the shape of
            ``logits`` (the torch path keeps logit gradients at least in
            float32, so that a loss scale multiplies them before they are
            rounded to a half-precision input).

    Raises:
        ValueError: For a ``share`` or ``out`` of the wrong shape, dtype,
            device or layout.
    """
    if share.shape != scores.shape or share.dtype != torch.float64:
        raise ValueError(f'share must be float64 of the shape of scores '
                         f'{tuple(scores.shape)}, got {share.dtype} of shape '
                         f'{tuple(share.shape)}')
    if out.shape != logits.shape or out.dtype not in (
            torch.float32, torch.float64) or not out.is_contiguous() or \
            out.device != logits.device:
        raise ValueError(f'out must be a contiguous float32 or float64 '
                         f'tensor of the shape {tuple(logits.shape)} and '
                         f'device of logits, got {out.dtype} of shape '
                         f'{tuple(out.shape)} on {out.device}')
    _launch(scores, logits, targets, centre, bound, delta,
            step_tables(scores, share, delta), out, True)


class TritonPasses(NegativePasses):
    """The two passes as fused kernels that stream ``logits`` and
    ``targets``; no copy of the negatives is made."""

    def __init__(self, scores: Tensor, logits: Tensor, targets: Tensor,
                 centre: Tensor, bound: Tensor, delta: float) -> None:
        super().__init__(scores, logits, targets, centre, bound, delta)
        self.logits, self.targets = logits, targets
        self.centre, self.bound = centre, bound

    def false_positive_counts(self) -> Tensor:
        return false_positive_counts(self.scores, self.logits, self.targets,
                                     self.centre, self.bound, self.delta)

    def write_gradient(self, shares: Tensor, out: Tensor) -> None:
        negative_gradient(self.scores, shares, self.logits, self.targets,
                          self.centre, self.bound, self.delta, out)

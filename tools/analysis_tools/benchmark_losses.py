"""Forward + backward time and peak memory of the ranking losses.

Compares, on the same flattened logits of one training step, mmrank's aLRP
Loss, AP Loss and Rank & Sort Loss (sorted positives + prefix sums,
O((P + N) log P), plus O(P log^2 P) quality-ordered sums for RS Loss),
per-positive loops that follow the authors' aLRP and RankSort algorithms
(for every positive, ``H`` against all positives and relevant negatives:
O(P N)), an eager-PyTorch sigmoid focal loss and BCE; on CUDA also mmcv's
fused sigmoid focal loss (what mmdet's FocalLoss runs there) and, once the
core takes ``impl='triton'``, the fused Triton path of the ranking losses::

    python tools/analysis_tools/benchmark_losses.py \
        [--device cpu|cuda] [--repeats 5] [--cases cpu_2m_p500 ...] \
        [--threads N] [--loop-budget SECONDS]

Cases: ``retina512_p1000`` / ``retina512_p4000`` are RetinaNet at 512 x 512
with batch 8 (8 x 49,104 anchors x 80 classes = 31.4 M logits) with 1,000
and 4,000 positives, ``flat38m_p2000`` 38.4 M logits with 2,000; the
``cpu_*`` cases are smaller. Negative logits are
drawn from N(-4, 1.5), positive ones from N(-2, 1.5) and 5 % of the anchors
are ignored, so nearly every negative is within reach of a positive (the
worst case, as early in training). Times are medians over ``--repeats``
runs after one warm-up. Peak memory is the peak of
``torch.cuda.max_memory_allocated`` on CUDA and of the sampled resident
set size on CPU (measured with allocations above 1 MiB forced to ``mmap``
so that freed memory leaves it; the times are then taken with glibc's
steady-state thresholds), above what was held before the call; it includes
the gradient.
The loop is timed over a subset of the positives and extrapolated (marked
``~``) when its full run would exceed ``--loop-budget`` seconds.
"""
import argparse
import ctypes
import inspect
import statistics
import threading
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmrank.core.ranking import alrp_loss, ap_loss, rank_sort_loss

RETINA_512_BATCH_8 = 8 * 49104 * 80
#: name -> (number of logits, number of positives)
CASES: Dict[str, Tuple[int, int]] = {
    'retina512_p1000': (RETINA_512_BATCH_8, 1000),
    'retina512_p4000': (RETINA_512_BATCH_8, 4000),
    'flat38m_p2000': (38_400_000, 2000),
    'cpu_2m_p500': (2_000_000, 500),
    'cpu_2m_p2000': (2_000_000, 2000),
    'cpu_200k_p100': (200_000, 100),
}
DEFAULT_CASES = {
    'cpu': ['cpu_200k_p100', 'cpu_2m_p500', 'cpu_2m_p2000'],
    'cuda': ['retina512_p1000', 'retina512_p4000', 'flat38m_p2000'],
}


class Batch(NamedTuple):
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
    computed during the loop and handed to autograd by ``_LoopGradient``.
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
    return _LoopGradient.apply(logits, loss_cls + loss_loc, grad)


class _LoopGradient(torch.autograd.Function):
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
    return _LoopGradient.apply(logits,
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


def alrp_total(batch: Batch, logits: Tensor, **kwargs) -> Tensor:
    loss_cls, loss_loc = alrp_loss(logits, batch.targets, batch.loc_errors,
                                   **kwargs)
    return loss_cls + loss_loc


def rank_sort_total(batch: Batch, logits: Tensor, **kwargs) -> Tensor:
    loss_rank, loss_sort = rank_sort_loss(logits, batch.qualities, **kwargs)
    return loss_rank + loss_sort


METHODS: Dict[str, Callable[[Batch, Tensor], Tensor]] = {
    'aLRP Loss': alrp_total,
    'AP Loss': lambda batch, logits: ap_loss(logits, batch.targets),
    'Rank & Sort Loss': rank_sort_total,
    'per-positive loop': lambda batch, logits: per_positive_loop(
        logits, batch.targets, batch.loc_errors),
    'RS per-positive loop': lambda batch, logits: rank_sort_loop(
        logits, batch.qualities),
    'focal (eager)': lambda batch, logits: sigmoid_focal_loss(
        logits, batch.targets),
    'BCE': lambda batch, logits: bce_loss(logits, batch.targets),
}


#: The loops, called with a number of positives to visit (for timing).
LOOPS: Dict[str, Callable[[Batch, Tensor, int], Tensor]] = {
    'per-positive loop': lambda batch, logits, visit: per_positive_loop(
        logits, batch.targets, batch.loc_errors, max_positives=visit),
    'RS per-positive loop': lambda batch, logits, visit: rank_sort_loop(
        logits, batch.qualities, max_positives=visit),
}


def gpu_methods(device: str) -> Tuple[Dict[str, Callable], List[str]]:
    """The rows that run on CUDA only, and a line for each one left out."""
    if device != 'cuda':
        return {}, ['skipped on CPU: focal (mmcv fused) and the Triton path '
                    '(CUDA only)']
    methods, notes = {}, []
    try:
        import mmcv.ops  # noqa: F401
        methods['focal (mmcv fused)'] = lambda batch, logits: \
            mmcv_focal_loss(logits, batch.targets)
    except ImportError as error:
        notes.append(f'skipped focal (mmcv fused): {error}')
    if 'impl' in inspect.signature(alrp_loss).parameters:
        methods['aLRP Loss (triton)'] = lambda batch, logits: alrp_total(
            batch, logits, impl='triton')
        methods['AP Loss (triton)'] = lambda batch, logits: ap_loss(
            logits, batch.targets, impl='triton')
        methods['Rank & Sort Loss (triton)'] = lambda batch, logits: \
            rank_sort_total(batch, logits, impl='triton')
    else:
        notes.append('skipped the Triton path: the core losses take no '
                     'impl argument in this checkout')
    return methods, notes


class PeakMemory:
    """Peak memory above the level at entry, in bytes."""

    def __init__(self, device: str):
        self.device = device
        self.peak = 0

    @staticmethod
    def _rss() -> int:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * 4096

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss() - self._base)
            time.sleep(2e-4)

    def __enter__(self) -> 'PeakMemory':
        if self.device == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            self._base = self._rss()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device == 'cuda':
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self._base
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._rss() - self._base)


def sync(device: str) -> None:
    """Wait for queued CUDA work (no-op on CPU)."""
    if device == 'cuda':
        torch.cuda.synchronize()


def time_call(fn: Callable[[], Tensor], logits: Tensor, device: str) -> float:
    """Seconds of one forward + backward."""
    logits.grad = None
    sync(device)
    start = time.perf_counter()
    fn().backward()
    sync(device)
    return time.perf_counter() - start


def measure(method: str, batch: Batch, repeats: int, device: str,
            loop_budget: float) -> Tuple[float, float, bool]:
    """Median seconds, peak extra bytes and whether time is extrapolated."""
    logits = batch.logits.clone().requires_grad_()
    fn = METHODS[method]
    if method in LOOPS:
        probe = 20
        per_positive = time_call(lambda: LOOPS[method](batch, logits, probe),
                                 logits, device) / probe
        estimate = per_positive * batch.loc_errors.numel()
        if estimate > loop_budget:
            return estimate, float('nan'), True
        repeats = 1
    logits.grad = None
    # The peak with blocks above 1 MiB returned to the system at once (and
    # the free heap trimmed first), the times with the allocator as a
    # long-running process has it, after a warm-up.
    force_mmap_for_large_allocations()
    with PeakMemory(device) as memory:
        fn(batch, logits).backward()
    force_mmap_for_large_allocations(32 << 20)
    if method not in LOOPS:
        time_call(lambda: fn(batch, logits), logits, device)  # warm-up
    times = [
        time_call(lambda: fn(batch, logits), logits, device)
        for _ in range(repeats)
    ]
    return statistics.median(times), memory.peak, False


def check_against_loop(batch: Batch, method: str, loop: str) -> float:
    """Largest gradient difference of ``method`` and its ``loop``, relative
    to the largest gradient magnitude."""
    grads = []
    for fn in (METHODS[method], METHODS[loop]):
        logits = batch.logits.clone().requires_grad_()
        fn(batch, logits).backward()
        grads.append(logits.grad)
    return float((grads[0] - grads[1]).abs().max() / grads[1].abs().max())


def run_case(name: str, args: argparse.Namespace) -> List[str]:
    num, num_pos = CASES[name]
    batch = make_batch(num, num_pos, args.device, args.seed)
    results = {
        method: measure(method, batch, args.repeats, args.device,
                        args.loop_budget)
        for method in METHODS
    }
    focal_time, focal_mem, _ = results['focal (eager)']
    rows = []
    for method, (seconds, peak, extrapolated) in results.items():
        mark = '~' if extrapolated else ''
        memory = ('n/a | n/a' if peak != peak else
                  f'{peak / 2**20:.0f} | {peak / focal_mem:.2f}x')
        rows.append(f'| {name} ({num / 1e6:.1f} M, P={num_pos}) | {method} '
                    f'| {mark}{seconds * 1e3:.1f} | '
                    f'{mark}{seconds / focal_time:.2f}x | {memory} |')
    for method, loop in (('aLRP Loss', 'per-positive loop'),
                         ('Rank & Sort Loss', 'RS per-positive loop')):
        if not results[loop][2]:
            rows.append(f'<!-- {name}: max |grad({method}) - grad({loop})| '
                        f'/ max |grad| = '
                        f'{check_against_loop(batch, method, loop):.1e} -->')
    return rows


def force_mmap_for_large_allocations(threshold: int = 1 << 20) -> None:
    """Make glibc serve blocks above ``threshold`` bytes with ``mmap`` and
    return them at once when freed, so RSS tracks use (1 MiB by default);
    the heap's free memory is returned to the system first.

    With ``threshold=32 << 20`` this is where glibc's own dynamic
    thresholds settle in a long-running process (mmap above 32 MiB, heap
    trimmed above twice that), so smaller blocks are reused without page
    faults, as in a training loop.
    """
    try:
        libc = ctypes.CDLL('libc.so.6')
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, threshold)
    libc.mallopt(m_trim_threshold, 2 * threshold)
    libc.malloc_trim(0)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        choices=['cpu', 'cuda'])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--cases', nargs='+', choices=sorted(CASES), default=None)
    parser.add_argument(
        '--loop-budget',
        type=float,
        default=60.0,
        help='extrapolate the per-positive loop beyond this many seconds')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='CPU threads for torch (a busy machine times more steadily '
        'with 1)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device_name = (
        torch.cuda.get_device_name() if args.device == 'cuda' else
        f'CPU, {torch.get_num_threads()} threads')
    print(f'torch {torch.__version__}, {device_name}, median of '
          f'{args.repeats} forward+backward runs; ratios vs eager focal loss')
    methods, notes = gpu_methods(args.device)
    METHODS.update(methods)
    print('\n'.join(notes))
    print('| case | method | time (ms) | time vs focal | peak extra memory '
          '(MiB) | memory vs focal |')
    print('|---|---|---|---|---|---|')
    for name in args.cases or DEFAULT_CASES[args.device]:
        for row in run_case(name, args):
            print(row, flush=True)


if __name__ == '__main__':
    main()

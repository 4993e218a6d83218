"""Forward + backward time and peak memory of the ranking losses.

Compares, on the same flattened logits of one training step, mmrank's aLRP
Loss, AP Loss and Rank & Sort Loss (sorted positives + prefix sums,
O((P + N) log P), plus O(P log^2 P) quality-ordered sums for RS Loss),
per-positive loops that follow the authors' aLRP and RankSort algorithms
(for every positive, ``H`` against all positives and relevant negatives:
O(P N)), an eager-PyTorch sigmoid focal loss and BCE; on CUDA also mmcv's
fused sigmoid focal loss (what mmdet's FocalLoss runs there) and the fused
Triton path of the ranking losses (``impl='triton'``); the losses compared
with come from :mod:`mmrank.testing`::

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
import statistics
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from mmrank.core.ranking import alrp_loss, ap_loss, rank_sort_loss
from mmrank.testing import (Batch, PeakMemory, bce_loss,
                            force_mmap_for_large_allocations, make_batch,
                            mmcv_focal_loss, per_positive_loop,
                            rank_sort_loop, sigmoid_focal_loss, time_call)

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
    methods['aLRP Loss (triton)'] = lambda batch, logits: alrp_total(
        batch, logits, impl='triton')
    methods['AP Loss (triton)'] = lambda batch, logits: ap_loss(
        logits, batch.targets, impl='triton')
    methods['Rank & Sort Loss (triton)'] = lambda batch, logits: \
        rank_sort_total(batch, logits, impl='triton')
    return methods, notes


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

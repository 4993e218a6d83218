"""Forward + backward time and peak memory of UniLoss PCKh vs the MSE loss.

One batch of ``B x K x H x W`` heatmaps (default 16 x 16 x 64 x 64, as a
batch of 16 MPII people with 16 joints at 64 x 64) with unit-peak Gaussian
targets of ``--sigma`` centred on random integer joints, as mmpose's
``MSRAHeatmap`` codec makes them. UniLoss's positive pixels are those within
``--radius`` heatmap pixels of the joint (read off the target, as
``UniLossPCKh`` does); every positive is compared with every other pixel of
its heatmap, so there are ``l = sum over heatmaps of P_h (H W - P_h)``
comparisons::

    python tools/analysis_tools/benchmark_uniloss.py [--device cpu|cuda] \
        [--repeats 3] [--radius 3] [--anchors 16 64]

The MSE baseline is mmpose's ``KeypointMSELoss`` when mmpose is installed
(``F.mse_loss`` otherwise, the same value). Times are medians over
``--repeats`` runs after one warm-up; peak memory is measured first, with
:mod:`mmrank.testing.probes` as in ``benchmark_losses.py`` (CUDA:
``max_memory_allocated``; CPU: sampled resident set size with blocks above 1
MiB forced to ``mmap``), above what was held before the call, gradient
included. The timed runs then use glibc's 32 MiB mmap threshold, where its
dynamic threshold settles in a training process (with every block above 1
MiB page-faulting afresh, the UniLoss times would double). UniLoss is run
with each number of anchors in ``--anchors`` (per kind: good, nearby,
random), which shows that its memory does not grow with the anchors; a dense
``t x l`` float32 anchor matrix, as in the authors' pose code, is quoted for
comparison.
"""
import argparse
import statistics
import time
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmrank.core.uniloss import AnchorConfig, uniloss_pckh
from mmrank.core.uniloss.metric import BLOCK_ELEMENTS
from mmrank.testing import (PeakMemory, force_mmap_for_large_allocations,
                            sync, time_call)


def make_heatmaps(shape: Tuple[int, int, int, int], sigma: float,
                  device: str, seed: int) -> Tuple[Tensor, Tensor]:
    """Predicted heatmaps and unit-peak Gaussian targets around random
    integer joints at least 8 pixels from the border."""
    gen = torch.Generator().manual_seed(seed)
    batch, joints, height, width = shape
    xy = torch.stack([
        torch.randint(8, width - 8, (batch, joints), generator=gen),
        torch.randint(8, height - 8, (batch, joints), generator=gen)
    ], -1).float()
    ys, xs = torch.meshgrid(
        torch.arange(height).float(), torch.arange(width).float(),
        indexing='ij')
    sq = (xs - xy[..., 0, None, None])**2 + (ys - xy[..., 1, None, None])**2
    target = torch.exp(-sq / (2 * sigma**2))
    pred = 0.5 * target + 0.1 * torch.rand(shape, generator=gen)
    return pred.to(device), target.to(device)


def mse_loss_fn() -> Tuple[str, Callable[[Tensor, Tensor], Tensor]]:
    """mmpose's ``KeypointMSELoss`` if installed, else ``F.mse_loss``."""
    try:
        from mmpose.models.losses import KeypointMSELoss
    except ImportError:
        return 'MSE (F.mse_loss)', F.mse_loss
    return 'MSE (mmpose KeypointMSELoss)', KeypointMSELoss()


def measure_time(fn: Callable[[Tensor], Tensor], pred: Tensor,
                 repeats: int, device: str) -> float:
    """Median seconds of ``fn(pred).backward()`` after one warm-up."""
    pred = pred.clone().requires_grad_()
    time_call(lambda: fn(pred), pred, device)  # warm-up
    return statistics.median(
        time_call(lambda: fn(pred), pred, device)
        for _ in range(repeats))


def measure_memory(fn: Callable[[Tensor], Tensor], pred: Tensor,
                   device: str) -> int:
    """Peak extra bytes of ``fn(pred).backward()``, gradient included."""
    pred = pred.clone().requires_grad_()
    with PeakMemory(device) as memory:
        fn(pred).backward()
    return memory.peak


def sigmoid_pass_time(num_comparisons: int, repeats: int,
                      device: str) -> float:
    """Median seconds of one sigmoid over ``num_comparisons`` values, in
    blocks of :data:`BLOCK_ELEMENTS` written in place: a floor for any
    implementation that relaxes each comparison (UniLoss does it twice
    forward and twice backward, besides the anchors' passes)."""
    block = torch.randn(BLOCK_ELEMENTS, device=device)
    out = torch.empty_like(block)
    num_blocks = -(-num_comparisons // BLOCK_ELEMENTS)

    def one_pass() -> None:
        for _ in range(num_blocks):
            torch.sigmoid(block, out=out)
        sync(device)

    one_pass()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        choices=['cpu', 'cuda'])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--shape', type=int, nargs=4, default=[16, 16, 64, 64])
    parser.add_argument('--sigma', type=float, default=2.0)
    parser.add_argument('--radius', type=float, default=3.0)
    parser.add_argument('--anchors', type=int, nargs='+', default=[16, 64])
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    pred, target = make_heatmaps(
        tuple(args.shape), args.sigma, args.device, args.seed)
    positive = target >= torch.exp(torch.tensor(
        -args.radius**2 / (2 * args.sigma**2))) * (1 - 1e-4)
    pixels = args.shape[2] * args.shape[3]
    per_map = positive.flatten(2).sum(-1)
    num_comparisons = int((per_map * (pixels - per_map)).sum())
    device_name = (
        torch.cuda.get_device_name() if args.device == 'cuda' else
        f'CPU, {torch.get_num_threads()} threads')
    print(f'torch {torch.__version__}, {device_name}; heatmaps '
          f'{"x".join(map(str, args.shape))}, sigma {args.sigma}, radius '
          f'{args.radius}: {int(positive.sum())} positive pixels, '
          f'l = {num_comparisons / 1e6:.1f} M comparisons; median of '
          f'{args.repeats} forward+backward runs')
    print('| loss | anchors (t) | time (ms) | time vs MSE | peak extra '
          'memory (MiB) | dense t x l anchors (MiB) |')
    print('|---|---|---|---|---|---|')
    mse_name, mse = mse_loss_fn()
    cases = [(mse_name, '-', lambda p: mse(p, target), None)]
    for num in args.anchors:
        cfg = AnchorConfig(num_good=num, num_nearby=num, num_random=num)
        total = 3 * num + 2
        cases.append(('UniLoss PCKh', total,
                      lambda p, cfg=cfg: uniloss_pckh(p, positive, cfg=cfg),
                      total * num_comparisons * 4 / 2**20))
    # peaks first, with blocks above 1 MiB returned to the system at once;
    # then times, with the allocator as a long-running process has it
    force_mmap_for_large_allocations()
    peaks = [measure_memory(fn, pred, args.device) for _, _, fn, _ in cases]
    force_mmap_for_large_allocations(32 << 20)
    for (name, anchors, fn, dense), peak in zip(cases, peaks):
        seconds = measure_time(fn, pred, args.repeats, args.device)
        if name == mse_name:
            mse_time = seconds
        print(f'| {name} | {anchors} | {seconds * 1e3:.1f} | '
              f'{seconds / mse_time:.1f}x | {peak / 2**20:.0f} | '
              f'{"-" if dense is None else f"{dense:.0f}"} |')
    floor = sigmoid_pass_time(num_comparisons, args.repeats, args.device)
    print(f'\nOne sigmoid over the l comparisons alone (in place, blocks of '
          f'{BLOCK_ELEMENTS}): {floor * 1e3:.1f} ms = '
          f'{floor / mse_time:.1f}x MSE')


if __name__ == '__main__':
    main()

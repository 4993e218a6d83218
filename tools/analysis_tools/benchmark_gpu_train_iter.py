"""Training-iteration time of RetinaNet R-50 FPN with focal, AP and aLRP
Loss, and of RS-ATSS, on the same random batch (8 x 512 x 512 by default).

Each model is built from its config (mmdet's stock
``retinanet_r50_fpn_1x_coco`` for focal, the mmrank configs otherwise) with
the backbone's pretrained ``init_cfg`` removed, with the config's own
optimizer; one iteration is ``model.train_step`` (data preprocessing,
forward, loss, backward, optimizer step), timed with the device
synchronised before and after. Hooks (self-balancing, analysis) do not run:
the loss weights stay at their initial values. Inputs are
``mmdet.testing.demo_mm_inputs`` (random images and boxes, 80 classes)::

    python tools/analysis_tools/benchmark_gpu_train_iter.py \
        [--device cuda] [--batch 8] [--size 512] [--iters 10] [--warmup 3]

Prints one Markdown table: median milliseconds per iteration, ratio to
RetinaNet + focal and peak allocated memory (CUDA only). A config that is
missing from the checkout is reported on a line of its own and skipped.
"""
import argparse
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]

#: row name -> config (``mmdet::`` for mmdet's own, else relative to the
#: repository root).
VARIANTS: Dict[str, str] = {
    'RetinaNet + focal': 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    'RetinaNet + AP Loss':
    'configs/ap_loss/ap-loss_retinanet_r50_fpn_100e_coco512.py',
    'RetinaNet + aLRP Loss':
    'configs/alrp_loss/alrp-loss_retinanet_r50_fpn_100e_coco512.py',
    'RS-ATSS': 'configs/rs_loss/rs-loss_atss_r50_fpn_1x_coco.py',
}


def load_config(config: str):
    """The mmengine Config of ``config`` (``mmdet::`` or repository path);
    None when the file is not there."""
    from mmengine.config import Config
    from mmengine.hub import get_config
    if config.startswith('mmdet::'):
        return get_config(config)
    path = REPO_ROOT / config
    return Config.fromfile(str(path)) if path.is_file() else None


def build(cfg, device: str):
    """Model (random init) and optimizer wrapper of ``cfg`` on ``device``."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).to(device)
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def make_batch(batch: int, size: int, boxes: int, device: str) -> dict:
    """Random images and ``boxes`` random ground-truth boxes per image."""
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(batch_size=batch,
                          image_shapes=(3, size, size),
                          num_items=[boxes] * batch,
                          num_classes=80,
                          device=device)


def sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def time_iterations(model, optim_wrapper, data: dict, device: str, warmup: int,
                    iters: int) -> List[float]:
    """Seconds of each timed ``train_step`` after ``warmup`` untimed ones."""
    times = []
    for step in range(warmup + iters):
        sync(device)
        start = time.perf_counter()
        model.train_step(data, optim_wrapper)
        sync(device)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return times


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device',
                        choices=['cpu', 'cuda'],
                        help='default: '
                        'cuda where available, else cpu')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--boxes',
                        type=int,
                        default=10,
                        help='ground-truth boxes per image')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--variants',
                        nargs='+',
                        choices=sorted(VARIANTS),
                        default=list(VARIANTS))
    args = parser.parse_args(argv)
    args.device = args.device or ('cuda'
                                  if torch.cuda.is_available() else 'cpu')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    import mmrank  # noqa: F401  (registers mmrank's heads and losses)
    args = parse_args(argv)
    torch.manual_seed(0)
    data = make_batch(args.batch, args.size, args.boxes, args.device)
    device_name = (torch.cuda.get_device_name() if args.device == 'cuda' else
                   f'CPU, {torch.get_num_threads()} threads')
    print(f'torch {torch.__version__}, {device_name}; {args.batch} x '
          f'{args.size}^2 images, {args.boxes} boxes each; median of '
          f'{args.iters} iterations after {args.warmup} warm-up')
    rows, base, base_name = [], None, None
    for name in args.variants:
        cfg = load_config(VARIANTS[name])
        if cfg is None:
            print(f'skipped {name}: {VARIANTS[name]} is not in this checkout')
            continue
        model, optim_wrapper = build(cfg, args.device)
        if args.device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        seconds = statistics.median(
            time_iterations(model, optim_wrapper, data, args.device,
                            args.warmup, args.iters))
        peak = (f'{torch.cuda.max_memory_allocated() / 2**20:.0f}'
                if args.device == 'cuda' else 'n/a')
        base, base_name = base or seconds, base_name or name
        rows.append(f'| {name} | {seconds * 1e3:.1f} | {seconds / base:.2f}x'
                    f' | {peak} |')
        del model, optim_wrapper
    print(f'| model ({args.device}) | ms / iteration | vs {base_name} | '
          'peak memory (MiB) |')
    print('|---|---|---|---|')
    print('\n'.join(rows), flush=True)


if __name__ == '__main__':
    main()

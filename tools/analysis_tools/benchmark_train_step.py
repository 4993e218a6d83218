"""Time training iterations of several configs on the same batches.

Each config's model and optimizer are built as the Runner builds them; the
configs then take turns on the same data batches (interleaved, so that
machine load affects all of them alike), and the table reports wall and
process-CPU seconds per iteration with ratios to the first config.

Example:
    python tools/analysis_tools/benchmark_train_step.py \
        configs/retinanet/retinanet_r18_fpn_digits.py \
        configs/ap_loss/ap-loss_retinanet_r18_fpn_digits.py \
        configs/alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py --iters 10
"""
import argparse
import os.path as osp
import tempfile
import time
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmrank  # noqa: F401


def build(config: str, work_dir: str) -> Runner:
    """A Runner of ``config`` without loggers' output, data on this process."""
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.log_level = 'ERROR'
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    return Runner.from_cfg(cfg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        runners = [build(c, osp.join(tmp, str(i)))
                   for i, c in enumerate(args.configs)]
        loader = runners[0].build_dataloader(runners[0].cfg.train_dataloader)
        optims = [r.build_optim_wrapper(r.cfg.optim_wrapper) for r in runners]
        times: Dict[int, List[tuple]] = {i: [] for i in range(len(runners))}
        batches = iter(loader)
        for step in range(args.warmup + args.iters):
            data = next(batches)
            for i, (runner, optim) in enumerate(zip(runners, optims)):
                runner.model.train()
                cpu, wall = time.process_time(), time.perf_counter()
                runner.model.train_step(data, optim)
                if step >= args.warmup:
                    times[i].append((time.perf_counter() - wall,
                                     time.process_time() - cpu))
    print(f'{args.iters} iterations each, interleaved, torch threads '
          f'{torch.get_num_threads()}')
    print(f"{'config':60s} {'wall s/it':>10s} {'ratio':>6s} "
          f"{'cpu s/it':>9s} {'ratio':>6s}")
    base = None
    for i, config in enumerate(args.configs):
        wall = sum(t[0] for t in times[i]) / args.iters
        cpu = sum(t[1] for t in times[i]) / args.iters
        base = base or (wall, cpu)
        print(f'{osp.basename(config):60s} {wall:10.3f} {wall / base[0]:6.2f}'
              f' {cpu:9.3f} {cpu / base[1]:6.2f}')


if __name__ == '__main__':
    main()

"""Train a model from an mmdet, mmpose or mmpretrain config.

The command-line contract is mmdet 3.x's ``tools/train.py``; the config's
``default_scope`` decides which OpenMMLab package builds the modules, and
``import mmrank`` registers mmrank's modules and loads mmengine checkpoints
weights-only under torch >= 2.6 (``--trust-checkpoint`` allows full
unpickling; see :mod:`mmrank.utils.checkpoint`).
"""
import argparse
import os

from mmengine.config import Config, DictAction

import mmrank  # noqa: F401  (registration, weights-only checkpoints)
from mmrank.utils import (add_trust_checkpoint_argument,
                          apply_trust_checkpoint, build_runner,
                          close_distributed, load_config)
from mmrank.utils.tool_errors import explain_tool_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp', action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='enable automatically scaling LR')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    add_trust_checkpoint_argument(parser)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line options to it."""
    cfg = load_config(args.config, args.launcher, args.cfg_options,
                      args.work_dir)
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise RuntimeError('--auto-scale-lr needs `auto_scale_lr` with '
                               '`base_batch_size` in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main() -> None:
    args = parse_args()
    apply_trust_checkpoint(args)
    with explain_tool_errors():
        build_runner(build_config(args)).train()
    close_distributed()


if __name__ == '__main__':
    main()

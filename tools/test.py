"""Test (and evaluate) a checkpoint with an mmdet, mmpose or mmpretrain config.

The command-line contract is mmdet 3.x's ``tools/test.py``; the config's
``default_scope`` decides which package builds the modules. For detectors,
``--lrp-thresholds FILE`` tests at the class-wise LRP-optimal score
thresholds of a ``bbox_lrp_thresholds.json`` (see
:mod:`mmrank.evaluation.lrp_thresholds`).
"""
import argparse
import os

from mmengine.config import Config, DictAction
from mmengine.evaluator import DumpResults

import mmrank  # noqa: F401  (registration, weights-only checkpoints)
from mmrank.utils import (add_trust_checkpoint_argument,
                          apply_trust_checkpoint, build_runner,
                          close_distributed, load_config)
from mmrank.utils.tool_errors import explain_tool_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the metrics')
    parser.add_argument(
        '--out', type=str,
        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--show-dir', help='directory where painted images are saved')
    parser.add_argument(
        '--lrp-thresholds', metavar='FILE',
        help='detectors: keep only the detections whose score reaches their '
        "class's threshold in FILE (a bbox_lrp_thresholds.json of LRPMetric "
        'or eval_lrp.py), for the metrics, --out and --show-dir alike')
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


def enable_visualization(cfg: Config, show_dir: str) -> None:
    """Make the config's visualization hook save painted test images."""
    hook = cfg.default_hooks.get('visualization', None)
    if hook is None:
        raise RuntimeError('--show-dir needs a `visualization` entry in '
                           '`default_hooks` of the config')
    if cfg.get('default_scope') == 'mmdet':
        hook.draw = True
        hook.test_out_dir = show_dir
    else:  # mmpose and mmpretrain name the switches differently
        hook.enable = True
        hook.out_dir = show_dir


def add_lrp_thresholds(cfg: Config, thresholds: str) -> None:
    """Test a detector at the class-wise thresholds of ``thresholds``."""
    if cfg.get('default_scope') != 'mmdet':
        raise ValueError('--lrp-thresholds applies to mmdet detectors; this '
                         f"config's default_scope is "
                         f"{cfg.get('default_scope')!r}")
    cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
        dict(type='LRPThresholdHook', thresholds=thresholds)
    ]


def test(args: argparse.Namespace) -> None:
    """Build the runner of ``args`` and test the checkpoint."""
    with explain_tool_errors():
        cfg = load_config(args.config, args.launcher, args.cfg_options,
                          args.work_dir)
        cfg.load_from = args.checkpoint
        if args.show_dir:
            enable_visualization(cfg, args.show_dir)
        if args.lrp_thresholds:
            add_lrp_thresholds(cfg, args.lrp_thresholds)
        runner = build_runner(cfg)
        if args.out is not None:
            runner.test_evaluator.metrics.append(dump_metric(cfg, args.out))
        runner.test()


def main() -> None:
    args = parse_args()
    apply_trust_checkpoint(args)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError('--out must be a .pkl or .pickle file')
    test(args)
    close_distributed()


def dump_metric(cfg: Config, out: str) -> object:
    """The metric that dumps predictions: mmdet's encodes masks as RLE."""
    if cfg.get('default_scope') == 'mmdet':
        from mmdet.evaluation import DumpDetResults
        return DumpDetResults(out_file_path=out)
    return DumpResults(out_file_path=out)


if __name__ == '__main__':
    main()

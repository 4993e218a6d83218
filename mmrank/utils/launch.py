"""Shared set-up of ``tools/train.py`` and ``tools/test.py``."""
import argparse
import gc
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .checkpoint import TRUST_ENV, trust_checkpoints
from .package_configs import read_config


def add_trust_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--trust-checkpoint`` (see :mod:`mmrank.utils.checkpoint`)."""
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='fully unpickle a checkpoint that weights-only loading refuses; '
        f'as {TRUST_ENV}=1. Only for files from a source you trust: '
        'unpickling can run code')


def apply_trust_checkpoint(args: argparse.Namespace) -> None:
    """Honour ``--trust-checkpoint`` for this process and its children."""
    if args.trust_checkpoint:
        trust_checkpoints()


def build_runner(cfg: Config) -> Runner:
    """The config's runner: its ``runner_type``, else mmengine's Runner."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def load_config(path: str, launcher: str, cfg_options: Optional[dict],
                work_dir: Optional[str]) -> Config:
    """Load a config and apply the options common to training and testing.

    Args:
        path: Config file; its bases may be ``mmrank::`` paths
            (:func:`~mmrank.utils.package_configs.read_config`).
        launcher: ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        cfg_options: ``--cfg-options`` overrides, or None.
        work_dir: ``--work-dir``; defaults to ``./work_dirs/<config name>``
            when neither it nor the config sets one.
    """
    cfg = read_config(path)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    if launcher != 'none' and not torch.cuda.is_available():
        setup_cpu_distributed(cfg)
    return cfg


def setup_cpu_distributed(cfg: Config) -> None:
    """Run a distributed launch on CPU processes with the gloo backend.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` and wraps
    the model with ``device_ids=[LOCAL_RANK]``, both of which fail without a
    GPU. The process group is therefore initialised here, before the Runner
    (which then skips its own initialisation), and the DDP wrapper is told to
    keep the model on the CPU.
    """
    if cfg.launcher != 'pytorch':
        raise RuntimeError(f'launcher {cfg.launcher!r} needs GPUs; on a CPU '
                           "machine use --launcher pytorch (dist_train.sh)")
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False)
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    os.environ.setdefault('LOCAL_RANK', '0')


def close_distributed() -> None:
    """End a distributed run: wait for every rank, then destroy the process
    group and free it while Python still runs.

    A process group's gloo worker threads release each finished collective
    (and the tensors it holds) after reporting it done. Tensors made in
    Python need the GIL for that; once the main thread has begun to shut the
    interpreter down, a worker that asks for the GIL is ended with
    ``pthread_exit`` inside a C++ destructor, and the process aborts with
    ``terminate called without an active exception`` after a successful
    run. mmengine never destroys the group, and the DDP wrapper keeps it
    alive past ``destroy_process_group``, so the group (and with it the
    workers, joined by its destructor with the GIL released) is freed here by
    collecting the finished runner's reference cycles. Call it after the
    runner is no longer referenced; a no-op without a process group.
    """
    if not torch_dist.is_initialized():
        return
    torch_dist.barrier()
    torch_dist.destroy_process_group()
    gc.collect()

"""End-to-end runs of tools/train.py, tools/test.py and dist_train.sh.

Each run is a real subprocess on the tiny generated digits set (16 train and
8 val canvases, two iterations an epoch), so these tests exercise the same
path as a user's command line.
"""
import math
import os
import re
import socket
import subprocess
import sys

from ..conftest import repo_path

CONFIG = repo_path('configs', 'retinanet', 'retinanet_r18_fpn_digits.py')


def data_options(root, as_shipped: bool = False) -> list:
    """--cfg-options pointing the digits config at the tiny set.

    Unless ``as_shipped``, data loading runs in the main process and the
    seed is given explicitly; ``as_shipped`` keeps the config's workers and
    seed.
    """
    ann = f'{root}/annotations/val.json'
    options = [
        f'train_dataloader.dataset.data_root={root}/',
        f'val_dataloader.dataset.data_root={root}/',
        f'test_dataloader.dataset.data_root={root}/',
        *(f'{split}_evaluator.{i}.ann_file={ann}'
          for split in ('val', 'test') for i in (0, 1)),
        'model.test_cfg.score_thr=0.0', 'default_hooks.logger.interval=1'
    ]
    if as_shipped:
        return options
    return options + [
        *(f'{split}_dataloader.{key}'
          for split in ('train', 'val', 'test')
          for key in ('num_workers=0', 'persistent_workers=False')),
        'randomness.seed=0'
    ]


def run(args: list, timeout: int = 600) -> str:
    """Run a command from the repository root; returns its output."""
    proc = subprocess.run(
        args, cwd=repo_path(), capture_output=True, text=True,
        timeout=timeout, env=dict(os.environ, PYTHONUNBUFFERED='1'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    return out


def losses(log: str) -> list:
    values = [float(v) for v in re.findall(r'\bloss: ([-+0-9.e]+|nan|inf)', log)]
    assert values, log[-3000:]
    return values


def train(work_dir, root, epochs: int, *extra: str) -> str:
    return run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), *extra, '--cfg-options',
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        *data_options(root)
    ])


def test_train_resume_and_test(tmp_path, tiny_digits):
    work_dir = tmp_path / 'work'
    log = train(work_dir, tiny_digits, 1)
    assert all(math.isfinite(v) for v in losses(log))
    assert re.search(r'coco/bbox_mAP: [0-9.]+', log), log[-3000:]
    assert (work_dir / 'epoch_1.pth').exists()

    log = train(work_dir, tiny_digits, 2, '--resume')
    assert 'resumed epoch: 1, iter: 2' in log, log[-3000:]
    assert re.search(r'Epoch\(train\)\s+\[2\]\[1/2\]', log), log[-3000:]
    assert not re.search(r'Epoch\(train\)\s+\[1\]\[', log)
    assert (work_dir / 'epoch_2.pth').exists()

    out_pkl = tmp_path / 'results.pkl'
    log = run([
        sys.executable, 'tools/test.py', CONFIG,
        str(work_dir / 'epoch_2.pth'), '--work-dir',
        str(tmp_path / 'test'), '--out',
        str(out_pkl), '--cfg-options', *data_options(tiny_digits)
    ])
    for key in ('coco/bbox_mAP_50', 'lrp/bbox_oLRP'):
        match = re.search(key + r': ([0-9.]+)', log)
        assert match and 0.0 <= float(match.group(1)) <= 1.0, log[-3000:]
    assert out_pkl.stat().st_size > 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_dist_train_two_cpu_processes(tmp_path, tiny_digits):
    os.environ['PORT'] = str(free_port())
    try:
        log = run([
            'bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
            str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1', *data_options(tiny_digits)
        ])
    finally:
        del os.environ['PORT']
    assert 'Distributed training: True' in log, log[-3000:]
    # 16 images over 2 ranks at batch 8: one iteration an epoch
    assert re.search(r'Epoch\(train\)\s+\[1\]\[1/1\]', log), log[-3000:]
    assert all(math.isfinite(v) for v in losses(log))
    assert (tmp_path / 'epoch_1.pth').exists()

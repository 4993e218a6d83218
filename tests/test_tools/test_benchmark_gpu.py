"""The GPU benchmarks of the device check, at tiny sizes on every device.

On CPU they run the same code paths as on a GPU machine (model building,
training steps, the loss table) except for the CUDA-only rows, which they
report as skipped; on CUDA the fused mmcv focal loss is checked too.
"""
import runpy
import subprocess

import pytest
import torch

from mmrank.testing import make_batch, mmcv_focal_loss, sigmoid_focal_loss

from ..conftest import repo_path


def run_tool(name: str) -> dict:
    return runpy.run_path(repo_path('tools', 'analysis_tools', name))


def test_loss_benchmark_rows_per_device(device, capsys):
    bench = run_tool('benchmark_losses.py')
    bench['CASES']['tiny'] = (20000, 40)
    bench['main']([
        '--device', device, '--cases', 'tiny', '--repeats', '1',
        '--loop-budget', '0'
    ])
    out = capsys.readouterr().out
    rows = [
        line.split(' | ')[1] for line in out.splitlines()
        if line.startswith('| tiny')
    ]
    assert {'aLRP Loss', 'AP Loss', 'focal (eager)'} <= set(rows)
    if device == 'cpu':
        assert 'skipped on CPU: focal (mmcv fused)' in out
    else:
        assert 'focal (mmcv fused)' in rows
    assert bench['CASES']['flat38m_p2000'] == (38_400_000, 2000)


def test_mmcv_focal_matches_eager_focal(device):
    if device == 'cpu':
        pytest.skip("mmcv's sigmoid_focal_loss has no CPU kernel")
    batch = make_batch(5000, 30, device, 0)
    torch.testing.assert_close(mmcv_focal_loss(batch.logits, batch.targets),
                               sigmoid_focal_loss(batch.logits,
                                                  batch.targets),
                               rtol=1e-5,
                               atol=1e-6)


def test_train_iteration_benchmark_tiny(device, capsys):
    # Focal and aLRP (AP Loss takes the same head), and RS-ATSS or the line
    # that says its config is missing.
    bench = run_tool('benchmark_gpu_train_iter.py')
    variants = ['RetinaNet + focal', 'RetinaNet + aLRP Loss', 'RS-ATSS']
    bench['main']([
        '--device', device, '--batch', '1', '--size', '64', '--boxes', '2',
        '--iters', '1', '--warmup', '0', '--variants', *variants
    ])
    out = capsys.readouterr().out
    rows = [
        line.split(' | ')[0][2:] for line in out.splitlines()
        if line.startswith('| ') and 'ms / iteration' not in line
    ]
    present = [
        name for name in variants
        if bench['load_config'](bench['VARIANTS'][name]) is not None
    ]
    assert rows == present and rows[:2] == variants[:2]
    assert '| model (%s) | ms / iteration | vs RetinaNet + focal' % device \
        in out
    if 'RS-ATSS' not in present:
        assert 'skipped RS-ATSS: configs/rs_loss/' in out


def test_device_check_scripts_parse():
    for name in ('device_check.sh', 'prepare_device_wheels.sh'):
        subprocess.run(
            ['bash', '-n',
             repo_path('tools', 'analysis_tools', name)],
            check=True)

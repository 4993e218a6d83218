"""Tests of the references of mmrank.testing and of
tools/analysis_tools/benchmark_losses.py on tiny cases."""
import runpy

import pytest
import torch

from mmrank.core import alrp_loss
from mmrank.testing import (bce_loss, make_batch, per_positive_loop,
                            sigmoid_focal_loss)

from ..conftest import repo_path


@pytest.fixture(scope='module')
def bench():
    return runpy.run_path(
        repo_path('tools', 'analysis_tools', 'benchmark_losses.py'))


def test_per_positive_loop_matches_alrp_loss():
    batch = make_batch(5000, 30, 'cpu', 0)
    logits = batch.logits.double().requires_grad_()
    loss = per_positive_loop(logits, batch.targets,
                             batch.loc_errors.double())
    loss.backward()
    reference = logits.detach().clone().requires_grad_()
    loss_cls, loss_loc = alrp_loss(reference, batch.targets,
                                   batch.loc_errors.double())
    (loss_cls + loss_loc).backward()
    # Continuous random scores: no ties, so the hard orders agree.
    assert loss.item() == pytest.approx((loss_cls + loss_loc).item(),
                                        rel=1e-9)
    torch.testing.assert_close(logits.grad, reference.grad)


def test_focal_and_bce_ignore_entries():
    logits = torch.tensor([2.0, -1.0, 0.5, 3.0])
    targets = torch.tensor([1, 0, -1, 0])
    labels = torch.tensor([1.0, 0.0, 0.0, 0.0])
    prob = logits.sigmoid()
    focal = torch.stack([
        -0.25 * (1 - prob[0])**2 * prob[0].log(),
        -0.75 * prob[1]**2 * (1 - prob[1]).log(),
        -0.75 * prob[3]**2 * (1 - prob[3]).log(),
    ]).sum()
    assert sigmoid_focal_loss(logits, targets).item() == \
        pytest.approx(focal.item(), rel=1e-5)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[[0, 1, 3]], labels[[0, 1, 3]], reduction='sum')
    assert bce_loss(logits, targets).item() == pytest.approx(
        bce.item(), rel=1e-5)


def test_table_with_extrapolated_loop(bench, capsys):
    bench['CASES']['tiny'] = (20000, 40)
    bench['main'](['--device', 'cpu', '--cases', 'tiny', '--repeats', '1',
                   '--loop-budget', '0'])
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith('| tiny')]
    assert [row.split(' | ')[1] for row in rows] == [
        'aLRP Loss', 'AP Loss', 'Rank & Sort Loss', 'per-positive loop',
        'RS per-positive loop', 'focal (eager)', 'BCE'
    ]
    assert all(row.count('|') == 7 for row in rows)
    # The loops' times are extrapolated, and marked.
    assert '~' in rows[3] and '~' in rows[4]

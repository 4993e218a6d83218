"""Rank & Sort Loss against two independent references.

``matrix_reference`` writes the paper's equations (Oksuz et al., ICCV 2021,
eqs. 7-8 and the identity update of Sec. 3) with explicit P x P and P x N
matrices; ``loop_reference`` is the benchmark's ``rank_sort_loop``, which
follows the authors' published ``RankSort`` function step by step (a loop
over the positives in ascending score order, negatives kept when ``logit >=
min positive - delta``, denominators compared with 1e-10; float64 here).
Neither shares code with the implementation.
"""
import itertools

import pytest
import torch

from mmrank.core import rank_sort_loss
from mmrank.core.ranking import steps
from mmrank.core.ranking.ordered_sums import ordered_step_sums
from mmrank.testing import rank_sort_loop

RS_EPS = 1e-10
AUTHORS_LOOP = rank_sort_loop


def step(x, delta):
    return (x / (2 * delta) + 0.5).clamp(0, 1)


def matrix_reference(logits, targets, delta=0.5):
    """Values and error-driven gradients from explicit matrices."""
    s, t = logits.detach().double(), targets.double()
    pos, neg = t > 0, t == 0
    sp, sn, y = s[pos], s[neg], t[pos]
    num = len(sp)
    h_pp = step(sp[None, :] - sp[:, None], delta)  # [i, k] = H(s_k - s_i)
    h_pn = step(sn[None, :] - sp[:, None], delta)
    rank_pos, num_fp = h_pp.sum(1), h_pn.sum(1)
    rank_error = num_fp / (rank_pos + num_fp)
    better = (y[None, :] >= y[:, None]).double()  # [i, k] = [y_k >= y_i]
    current = (h_pp * (1 - y)[None, :]).sum(1) / rank_pos
    target = (h_pp * better * (1 - y)[None, :]).sum(1) / (h_pp * better).sum(1)
    sort_error = current - target
    missorted = h_pp * (1 - better)
    mass = missorted.sum(1)
    rank_active = (num_fp > RS_EPS).double()
    sort_active = (mass > RS_EPS).double()
    g_rank = torch.zeros(len(s), dtype=torch.float64)
    g_sort = torch.zeros(len(s), dtype=torch.float64)
    g_rank[pos] = -rank_error * rank_active / num
    g_rank[neg] = (h_pn * (rank_active * rank_error / num_fp.clamp(
        min=RS_EPS))[:, None]).sum(0) / num
    g_sort[pos] = (-sort_error * sort_active + (missorted * (
        sort_active * sort_error / mass.clamp(min=RS_EPS))[:, None]).sum(0)) \
        / num
    return rank_error.mean(), sort_error.mean(), g_rank, g_sort


def loop_reference(logits, targets, delta=0.5):
    """The authors' RankSort (the benchmark's loop), in float64: the summed
    loss and its gradient."""
    logits = logits.detach().double().requires_grad_()
    loss = AUTHORS_LOOP(logits, targets.double(), delta)
    loss.backward()
    return loss, logits.grad


def make_case(seed, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    num = int(torch.randint(2, 250, (1, ), generator=gen))
    kind = seed % 4
    if kind == 0:
        logits = torch.randn(num, generator=gen, dtype=torch.float64) * 1.5
    elif kind == 1:  # coarse grid: score ties and exact window bounds
        logits = torch.randint(-4, 5, (num, ), generator=gen) * 0.25
    elif kind == 2:  # wide: most pairs saturate H
        logits = torch.rand(num, generator=gen, dtype=torch.float64) * 30 - 15
    else:  # narrow: every pair on the linear part
        logits = torch.randn(num, generator=gen, dtype=torch.float64) * 0.1
    pos = torch.rand(num, generator=gen) < 0.3
    pos[int(torch.randint(num, (1, ), generator=gen))] = True
    if seed % 3 == 0:  # quality ties
        quality = torch.randint(1, 5, (num, ), generator=gen).double() / 4
    else:
        quality = torch.rand(num, generator=gen, dtype=torch.float64) * 0.99 \
            + 0.01
    targets = torch.where(pos, quality, torch.zeros_like(quality))
    targets[(torch.rand(num, generator=gen) < 0.1) & ~pos] = -1
    logits = logits + pos.double() * float(torch.rand(1, generator=gen))
    return logits.to(dtype), targets


def run(logits, targets, delta=0.5, weights=(1.0, 1.0)):
    logits = logits.clone().requires_grad_()
    loss_rank, loss_sort = rank_sort_loss(logits, targets, delta)
    (weights[0] * loss_rank + weights[1] * loss_sort).backward()
    return loss_rank, loss_sort, logits.grad


def close(actual, expected, rtol=1e-5, atol=1e-10):
    torch.testing.assert_close(
        actual.detach().double(), expected.double(), rtol=rtol, atol=atol)


@pytest.mark.parametrize('seed', range(40))
def test_matches_matrix_reference(seed):
    logits, targets = make_case(seed)
    loss_rank, loss_sort, g_rank, g_sort = matrix_reference(logits, targets)
    out = run(logits, targets)
    close(out[0], loss_rank)
    close(out[1], loss_sort)
    close(out[2], g_rank + g_sort)
    # Each part's gradient follows its own output.
    close(run(logits, targets, weights=(1.0, 0.0))[2], g_rank)
    close(run(logits, targets, weights=(0.0, 2.0))[2], 2 * g_sort)


@pytest.mark.parametrize('seed', range(40, 64))
def test_matches_authors_rank_sort(seed):
    logits, targets = make_case(seed)
    loss, grad = loop_reference(logits, targets)
    out = run(logits, targets)
    close(out[0] + out[1], loss)
    close(out[2], grad)


def test_all_tied_and_hand_computed():
    # Three positives with equal scores and one negative 0.25 above them,
    # delta 0.5: H(pos, pos) = 1/2, H(neg) = 3/4.
    logits = torch.tensor([0.0, 0.0, 0.0, 0.25, -5.0], dtype=torch.float64)
    targets = torch.tensor([0.9, 0.5, 0.5, 0.0, -1.0], dtype=torch.float64)
    loss_rank, loss_sort, grad = run(logits, targets)
    close(loss_rank, torch.tensor(0.75 / 2.25))
    # current sorting error of each: mean of 1 - y = (0.1 + 0.5 + 0.5) / 3;
    # target: y >= 0.9 -> 0.1; y >= 0.5 -> all three, the same mean.
    current = (0.1 + 0.5 + 0.5) / 3
    close(loss_sort, torch.tensor((current - 0.1) / 3))
    close(grad, loop_reference(logits, targets)[1])
    assert grad[4] == 0  # ignored entry


def test_one_positive_and_no_negative_above():
    logits = torch.tensor([2.0, -1.0, -3.0], dtype=torch.float64)
    targets = torch.tensor([0.7, 0.0, 0.0], dtype=torch.float64)
    loss_rank, loss_sort, grad = run(logits, targets)
    assert loss_rank == 0 and loss_sort == 0
    assert torch.count_nonzero(grad) == 0


def test_no_positive_gives_zero_losses_and_gradients():
    logits = torch.randn(10, dtype=torch.float32, requires_grad=True)
    targets = torch.zeros(10)
    loss_rank, loss_sort = rank_sort_loss(logits, targets)
    (loss_rank + loss_sort).backward()
    assert loss_rank.item() == 0 and loss_sort.item() == 0
    assert torch.count_nonzero(logits.grad) == 0


@pytest.mark.parametrize('seed', range(6))
def test_balance_of_both_parts(seed):
    logits, targets = make_case(seed)
    _, _, g_rank, g_sort = matrix_reference(logits, targets)
    grad = run(logits, targets, weights=(1.0, 0.0))[2].double()
    pos, neg = targets > 0, targets == 0
    # Ranking part: the negatives gain what the positives lose (Thm. 2).
    close(grad[neg].sum(), -grad[pos].sum(), atol=1e-12)
    # Sorting part: a zero-sum redistribution among the positives.
    sort_grad = run(logits, targets, weights=(0.0, 1.0))[2].double()
    close(sort_grad.sum(), torch.tensor(0.0), atol=1e-12)
    assert torch.count_nonzero(sort_grad[~pos]) == 0


@pytest.mark.parametrize('dtype, rtol', [(torch.float32, 1e-5),
                                         (torch.float16, 2e-3),
                                         (torch.bfloat16, 1e-2)])
def test_low_precision_inputs(dtype, rtol):
    logits, targets = make_case(5)
    low = logits.to(dtype)
    loss, grad = loop_reference(low, targets)
    out = run(low, targets)
    assert out[0].dtype == dtype and out[2].dtype == dtype
    close(out[0] + out[1], loss, rtol=rtol, atol=1e-3)
    close(out[2], grad, rtol=rtol, atol=1e-4)


def test_large_batch():
    gen = torch.Generator().manual_seed(3)
    num = 60000  # above the CPU lookup-grid threshold
    logits = torch.randn(num, generator=gen) * 2
    pos = torch.rand(num, generator=gen) < 0.005
    targets = torch.where(pos, torch.rand(num, generator=gen) * 0.9 + 0.1,
                          torch.zeros(num))
    loss_rank, loss_sort, g_rank, g_sort = matrix_reference(logits, targets)
    out = run(logits, targets)
    close(out[0], loss_rank)
    close(out[1], loss_sort)
    close(out[2], g_rank + g_sort, atol=1e-9)


@pytest.mark.parametrize('bad', [1.5, -0.5, float('nan')])
def test_bad_targets_raise(bad):
    targets = torch.tensor([0.5, 0.0, bad])
    with pytest.raises(ValueError, match='targets'):
        rank_sort_loss(torch.zeros(3), targets)


@pytest.mark.parametrize('upper', [True, False])
@pytest.mark.parametrize('seed', range(8))
def test_ordered_step_sums_brute_force(seed, upper):
    gen = torch.Generator().manual_seed(seed)
    num = int(torch.randint(1, 70, (1, ), generator=gen))
    points = torch.sort(torch.randint(-6, 7, (num, ), generator=gen).double()
                        * 0.3)[0]
    weights = torch.rand(num, generator=gen, dtype=torch.float64)
    keys = torch.randperm(num, generator=gen)
    queries = torch.randn(40, generator=gen, dtype=torch.float64)
    prefix = torch.randint(0, num + 1, (40, ), generator=gen)
    sign = 1 if upper else -1
    h = step(sign * (points[None, :] - queries[:, None]), 0.5)
    inside = (keys[None, :] < prefix[:, None]).double()
    expected = (h * inside * weights[None, :]).sum(1)
    actual = ordered_step_sums(points, weights, keys, queries, prefix, 0.5,
                               upper)
    close(actual, expected, atol=1e-12)
    # Structurally empty prefixes give exactly zero.
    assert torch.all(actual[prefix == 0] == 0)


def test_engine_windows_used_on_large_queries(monkeypatch):
    # The grid and the binary search give the same RS values.
    logits, targets = make_case(1)
    first = run(logits, targets)
    monkeypatch.setattr(steps, 'GRID_MIN_QUERIES', 0)
    second = run(logits, targets)
    for a, b in itertools.zip_longest(first, second):
        close(a, b, atol=1e-12)

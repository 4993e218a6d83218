"""Tests of mmrank.core.ranking against a brute-force reference.

The reference below is written directly from the definitions (aLRP paper,
Oksuz et al. 2020, eqs. 2-14; AP Loss, Chen et al. 2019) with explicit
positive x negative and positive x positive matrices and explicit loops
over the positives; it shares no code with the implementation.
"""
import itertools
from typing import Dict, Optional

import pytest
import torch

from mmrank.core import alrp_loss, ap_loss
from mmrank.core.ranking import ranking_statistics, steps

EPS = 1e-5  # N_FP threshold of the aLRP gradient (issue 3)
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.fixture(params=['grid', 'search'])
def window_lookup(request, monkeypatch):
    """Run a test with the CPU lookup grid forced on, and without it."""
    if request.param == 'grid':
        monkeypatch.setattr(steps, 'GRID_MIN_QUERIES', 0)
    return request.param


def smoothed_step(x: torch.Tensor, delta: float) -> torch.Tensor:
    return (x / (2 * delta) + 0.5).clamp(0, 1)


def reference(logits: torch.Tensor,
              targets: torch.Tensor,
              loc_errors: Optional[torch.Tensor],
              delta: float = 1.0) -> Dict[str, torch.Tensor]:
    """Values, ranks and gradients of aLRP and AP Loss in float64."""
    s = logits.detach().double().cpu()
    t = targets.cpu()
    pos, neg = s[t == 1], s[t == 0]
    num_pos, num_neg = len(pos), len(neg)
    errors = (torch.zeros(num_pos, dtype=torch.float64) if loc_errors is None
              else loc_errors.detach().double().cpu())
    # h_pp[i, k] = H(x_ik) = H(s_k - s_i); h_pn[i, j] = H(x_ij).
    h_pp = smoothed_step(pos[None, :] - pos[:, None], delta)
    not_self = 1 - torch.eye(num_pos, dtype=torch.float64)
    h_pn = smoothed_step(neg[None, :] - pos[:, None], delta)
    rank_pos = 1 + (h_pp * not_self).sum(1)
    num_fp = h_pn.sum(1)
    rank = rank_pos + num_fp
    precision = rank_pos / rank

    # aLRP classification: value and error-driven gradient.
    alrp_pos = torch.zeros(num_pos, dtype=torch.float64)
    alrp_neg = torch.zeros(num_neg, dtype=torch.float64)
    for i in range(num_pos):
        if num_fp[i] > EPS:
            loc_sum = (not_self[i] * errors * h_pp[i]).sum()
            alrp_pos[i] = -(num_fp[i] + loc_sum) / rank[i] / num_pos
            alrp_neg += -alrp_pos[i] * h_pn[i] / num_fp[i]
    # aLRP localisation: hard order; a tied positive counts half above,
    # the positive itself fully.
    higher = (pos[None, :] > pos[:, None]).double()  # [i, k]
    tied = (pos[None, :] == pos[:, None]).double() * not_self
    above = higher + 0.5 * tied + torch.eye(num_pos, dtype=torch.float64)
    loss_loc = ((above * errors[None, :]).sum(1) / rank).mean()
    loc_grad = (above / rank[:, None]).sum(0) / num_pos

    # AP Loss: ascending visit with a running maximum of precision.
    interpolated = torch.zeros(num_pos, dtype=torch.float64)
    for i in range(num_pos):
        interpolated[i] = precision[pos <= pos[i]].max()
    ap_pos = -(1 - interpolated) / num_pos
    ap_neg = torch.zeros(num_neg, dtype=torch.float64)
    for i in range(num_pos):
        scale = 1.0
        if precision[i] < interpolated[i]:
            scale = (1 - interpolated[i]) / (1 - precision[i])
        ap_neg += h_pn[i] / rank[i] * scale / num_pos

    def dense(pos_grad, neg_grad):
        out = torch.zeros(len(s), dtype=torch.float64)
        out[t == 1] = pos_grad
        out[t == 0] = neg_grad
        return out

    return dict(
        rank_pos=rank_pos,
        num_fp=num_fp,
        loss_cls=1 - precision.mean(),
        loss_loc=loss_loc,
        alrp_grad=dense(alrp_pos, alrp_neg),
        loc_grad=loc_grad,
        ap_loss=1 - interpolated.mean(),
        ap_grad=dense(ap_pos, ap_neg))


def make_case(seed: int, dtype=torch.float64, device='cpu'):
    """Random batch: sizes, score distributions, ties, ignored entries."""
    gen = torch.Generator().manual_seed(seed)
    num = int(torch.randint(2, 300, (1, ), generator=gen))
    kind = seed % 5
    if kind == 0:  # continuous scores, positives slightly higher
        logits = torch.randn(num, generator=gen, dtype=torch.float64) * 2
    elif kind == 1:  # coarse grid: many ties and exact window boundaries
        logits = torch.randint(-6, 7, (num, ), generator=gen) * 0.5
    elif kind == 2:  # wide range: most pairs saturate H
        logits = torch.rand(num, generator=gen, dtype=torch.float64) * 40 - 20
    elif kind == 3:  # extreme logits
        logits = torch.randint(-1, 2, (num, ), generator=gen) * 1e4 + \
            torch.randn(num, generator=gen, dtype=torch.float64)
    else:  # narrow: every pair on the linear part
        logits = torch.randn(num, generator=gen, dtype=torch.float64) * 0.1
    targets = (torch.rand(num, generator=gen) < 0.3).long()
    targets[torch.rand(num, generator=gen) < 0.15] = -1
    targets[int(torch.randint(num, (1, ), generator=gen))] = 1
    logits = logits + targets.clamp(min=0) * float(
        torch.rand(1, generator=gen)) * 2
    num_pos = int((targets == 1).sum())
    loc_errors = torch.rand(num_pos, generator=gen, dtype=torch.float64)
    return (logits.to(dtype).to(device), targets.to(device),
            loc_errors.to(dtype).to(device))


def run_alrp(logits, targets, loc_errors, delta=1.0):
    logits = logits.clone().requires_grad_()
    loc_errors = loc_errors.clone().requires_grad_()
    loss_cls, loss_loc = alrp_loss(logits, targets, loc_errors, delta)
    (loss_cls + loss_loc).backward()
    return loss_cls, loss_loc, logits.grad, loc_errors.grad


def run_ap(logits, targets, delta=1.0):
    logits = logits.clone().requires_grad_()
    loss = ap_loss(logits, targets, delta)
    loss.backward()
    return loss, logits.grad


def assert_close(actual, expected, rtol=1e-5, atol=1e-10):
    torch.testing.assert_close(
        actual.detach().double().cpu(),
        expected.double(),
        rtol=rtol,
        atol=atol)


@pytest.mark.parametrize('seed', range(60))
def test_alrp_matches_reference(seed, window_lookup):
    delta = (1.0, 0.5, 2.0)[seed % 3]
    logits, targets, loc_errors = make_case(seed)
    ref = reference(logits, targets, loc_errors, delta)
    loss_cls, loss_loc, grad, loc_grad = run_alrp(logits, targets,
                                                  loc_errors, delta)
    assert_close(loss_cls, ref['loss_cls'])
    assert_close(loss_loc, ref['loss_loc'])
    assert_close(grad, ref['alrp_grad'])
    assert_close(loc_grad, ref['loc_grad'])


@pytest.mark.parametrize('seed', range(60))
def test_ap_matches_reference(seed, window_lookup):
    delta = (1.0, 0.5, 2.0)[seed % 3]
    logits, targets, _ = make_case(seed)
    ref = reference(logits, targets, None, delta)
    loss, grad = run_ap(logits, targets, delta)
    assert_close(loss, ref['ap_loss'])
    assert_close(grad, ref['ap_grad'])


@pytest.mark.parametrize('seed', range(20))
def test_ranks_match_reference(seed, window_lookup):
    logits, targets, _ = make_case(seed)
    rank_pos, num_fp = ranking_statistics(logits, targets)
    ref = reference(logits, targets, None)
    assert_close(rank_pos, ref['rank_pos'])
    assert_close(num_fp, ref['num_fp'])


def test_ranks_without_positives():
    rank_pos, num_fp = ranking_statistics(torch.zeros(3),
                                          torch.tensor([0, -1, 0]))
    assert rank_pos.shape == num_fp.shape == (0, )


@pytest.mark.parametrize('seed', range(10))
def test_float32_and_gradient_dtype(seed):
    logits, targets, loc_errors = make_case(seed, torch.float32)
    ref = reference(logits, targets, loc_errors)
    loss_cls, loss_loc, grad, loc_grad = run_alrp(logits, targets,
                                                  loc_errors)
    assert loss_cls.dtype == grad.dtype == torch.float32
    assert loss_loc.dtype == loc_grad.dtype == torch.float32
    assert_close(loss_cls, ref['loss_cls'])
    assert_close(loss_loc, ref['loss_loc'])
    assert_close(grad, ref['alrp_grad'])
    assert_close(loc_grad, ref['loc_grad'])


@pytest.mark.parametrize('dtype, rtol, atol', [(torch.float16, 2e-3, 1e-7),
                                               (torch.bfloat16, 1e-2, 1e-9)])
@pytest.mark.parametrize('seed', [0, 1, 2, 3, 4])
def test_half_precision(dtype, rtol, atol, seed):
    # The reference sees the same (rounded) half-precision values; only the
    # rounding of the outputs to ``dtype`` differs.
    logits, targets, loc_errors = make_case(seed, dtype)
    ref = reference(logits, targets, loc_errors)
    loss_cls, loss_loc, grad, loc_grad = run_alrp(logits, targets,
                                                  loc_errors)
    assert grad.dtype == loc_grad.dtype == loss_cls.dtype == dtype
    assert_close(loss_cls, ref['loss_cls'], rtol, atol)
    assert_close(loss_loc, ref['loss_loc'], rtol, atol)
    assert_close(grad, ref['alrp_grad'], rtol, atol)
    assert_close(loc_grad, ref['loc_grad'], rtol, atol)
    loss, grad = run_ap(logits, targets)
    assert grad.dtype == dtype
    assert_close(loss, ref['ap_loss'], rtol, atol)
    assert_close(grad, ref['ap_grad'], rtol, atol)


def test_loss_scale_applied_before_half_rounding():
    # With AMP the loss is multiplied by a scale: a gradient that would be
    # subnormal in float16 (2.4e-6 here) must keep its precision because
    # the scale is applied before the rounding to float16.
    logits = torch.tensor([0.0, -1 + 2**-11] + [5.0] * 100,
                          dtype=torch.float16)
    targets = torch.tensor([1] + [0] * 101)
    ref = reference(logits, targets, None)
    assert 1e-6 < ref['ap_grad'][1] < 1e-5
    grad_scale = 2.0**10
    logits.requires_grad_()
    (ap_loss(logits, targets) * grad_scale).backward()
    assert_close(logits.grad, ref['ap_grad'] * grad_scale, rtol=2e-3)


def test_ties_and_all_equal():
    logits = torch.zeros(12, dtype=torch.float64)
    targets = torch.tensor([1, 0, 1, 0, 0, -1, 1, 0, 1, 1, 0, 0])
    loc_errors = torch.linspace(0.1, 0.9, 5, dtype=torch.float64)
    ref = reference(logits, targets, loc_errors)
    # All equal: every H is 1/2.
    assert torch.allclose(ref['rank_pos'], torch.full((5, ), 3.0,
                                                      dtype=torch.float64))
    assert torch.allclose(ref['num_fp'], torch.full((5, ), 3.0,
                                                    dtype=torch.float64))
    loss_cls, loss_loc, grad, loc_grad = run_alrp(logits, targets,
                                                  loc_errors)
    assert_close(loss_cls, torch.tensor(0.5, dtype=torch.float64))
    # A tied positive counts half above the other: (E_i + (S - E_i) / 2)
    # averaged over the five, over rank 6, is S / 10.
    assert_close(loss_loc, loc_errors.sum() / 10)
    assert_close(grad, ref['alrp_grad'])
    assert_close(loc_grad, ref['loc_grad'])
    loss, grad = run_ap(logits, targets)
    assert_close(loss, ref['ap_loss'])
    assert_close(grad, ref['ap_grad'])


def test_one_positive_hand_computed():
    # s = [1 (pos), 1.5, 0.5, -2 (neg)], delta = 1:
    # H(x_ij) = 0.75, 0.25, 0 -> N_FP = 1, rank = 2, L_cls = 0.5.
    logits = torch.tensor([1.0, 1.5, 0.5, -2.0], dtype=torch.float64)
    targets = torch.tensor([1, 0, 0, 0])
    loc_errors = torch.tensor([0.4], dtype=torch.float64)
    loss_cls, loss_loc, grad, loc_grad = run_alrp(logits, targets,
                                                  loc_errors)
    assert_close(loss_cls, torch.tensor(0.5, dtype=torch.float64))
    assert_close(loss_loc, torch.tensor(0.2, dtype=torch.float64))
    expected = torch.tensor([-0.5, 0.375, 0.125, 0.0], dtype=torch.float64)
    assert_close(grad, expected)
    assert_close(loc_grad, torch.tensor([0.5], dtype=torch.float64))
    _, ap_grad = run_ap(logits, targets)
    assert_close(ap_grad, expected)


def test_no_relevant_negatives():
    logits = torch.tensor([3.0, 2.5, -1.0, -5.0, -0.999])
    targets = torch.tensor([1, 1, 0, 0, -1])
    loc_errors = torch.tensor([0.2, 0.6])
    loss_cls, loss_loc, grad, loc_grad = run_alrp(logits, targets,
                                                  loc_errors)
    assert loss_cls.item() == 0
    assert torch.equal(grad, torch.zeros(5))
    ref = reference(logits, targets, loc_errors)
    assert_close(loss_loc, ref['loss_loc'])
    assert_close(loc_grad, ref['loc_grad'])
    loss, grad = run_ap(logits, targets)
    assert loss.item() == 0
    assert torch.equal(grad, torch.zeros(5))


@pytest.mark.parametrize('targets', [[0, 0, -1], [-1, -1, -1], []])
def test_no_positive_gives_zero_losses_and_gradients(targets):
    targets = torch.tensor(targets, dtype=torch.long)
    logits = torch.randn(len(targets)).requires_grad_()
    loc_errors = torch.zeros(0, requires_grad=True)
    loss_cls, loss_loc = alrp_loss(logits, targets, loc_errors)
    loss = ap_loss(logits, targets)
    (loss_cls + loss_loc + loss).backward()
    for value in (loss_cls, loss_loc, loss):
        assert value.item() == 0
    assert torch.equal(logits.grad, torch.zeros_like(logits))
    assert torch.equal(loc_errors.grad, torch.zeros(0))


def test_no_positive_half_precision_no_overflow():
    # A float16 sum of these logits is -inf; the zero loss must not be NaN.
    logits = torch.full((100000, ), -60000.0, dtype=torch.float16)
    logits.requires_grad_()
    targets = torch.zeros(100000, dtype=torch.long)
    loss_cls, loss_loc = alrp_loss(logits, targets,
                                   torch.zeros(0, dtype=torch.float16))
    loss = ap_loss(logits, targets)
    (loss_cls + loss_loc + loss).backward()
    assert loss_cls.item() == loss_loc.item() == loss.item() == 0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize('seed', range(15))
def test_theorem_2_balance(seed):
    logits, targets, loc_errors = make_case(seed)
    for grad in (run_alrp(logits, targets, loc_errors)[2],
                 run_ap(logits, targets)[1]):
        positive = grad[targets == 1].abs().sum()
        negative = grad[targets == 0].abs().sum()
        assert_close(negative, positive, rtol=1e-9, atol=1e-12)


def test_loc_errors_gradcheck_and_gradient_routing():
    logits, targets, loc_errors = make_case(7)
    loc_errors.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda e: alrp_loss(logits, targets, e), (loc_errors, ))
    # L_cls passes no gradient to loc_errors; L_loc none to the logits.
    logits.requires_grad_()
    loss_cls, loss_loc = alrp_loss(logits, targets, loc_errors)
    grad_logits, grad_errors = torch.autograd.grad(
        loss_cls, (logits, loc_errors), retain_graph=True)
    assert torch.equal(grad_errors, torch.zeros_like(grad_errors))
    assert grad_logits.abs().sum() > 0
    grad_logits, = torch.autograd.grad(loss_loc, logits)
    assert torch.equal(grad_logits, torch.zeros_like(grad_logits))


def test_no_grad_values():
    logits, targets, loc_errors = make_case(3)
    ref = reference(logits, targets, loc_errors)
    with torch.no_grad():
        loss_cls, loss_loc = alrp_loss(logits, targets, loc_errors)
        loss = ap_loss(logits, targets)
    assert_close(loss_cls, ref['loss_cls'])
    assert_close(loss_loc, ref['loss_loc'])
    assert_close(loss, ref['ap_loss'])


@pytest.mark.parametrize('device', DEVICES)
def test_large_batch_linear_algorithm(device, window_lookup):
    # Larger than the other cases, on every available device; the
    # reference is still dense, so keep it moderate.
    gen = torch.Generator().manual_seed(11)
    logits = torch.randn(20000, generator=gen) * 3
    targets = (torch.rand(20000, generator=gen) < 0.01).long()
    targets[torch.rand(20000, generator=gen) < 0.05] = -1
    loc_errors = torch.rand(int((targets == 1).sum()), generator=gen)
    ref = reference(logits, targets, loc_errors)
    loss_cls, loss_loc, grad, loc_grad = run_alrp(
        logits.to(device), targets.to(device), loc_errors.to(device))
    assert grad.device.type == device
    assert_close(loss_cls, ref['loss_cls'])
    assert_close(loss_loc, ref['loss_loc'])
    assert_close(grad, ref['alrp_grad'])
    assert_close(loc_grad, ref['loc_grad'])
    loss, grad = run_ap(logits.to(device), targets.to(device))
    assert_close(loss, ref['ap_loss'])
    assert_close(grad, ref['ap_grad'])


@pytest.mark.parametrize('bad, message', [
    (float('nan'), 'logits'),
    (float('inf'), 'logits'),
])
def test_non_finite_logits_raise(bad, message):
    logits = torch.tensor([0.0, bad, 1.0])
    targets = torch.tensor([1, 0, 0])
    with pytest.raises(ValueError, match=message):
        alrp_loss(logits, targets, torch.zeros(1))
    with pytest.raises(ValueError, match=message):
        ap_loss(logits, targets)


def test_bad_arguments_raise():
    logits = torch.zeros(4)
    targets = torch.tensor([1, 0, 0, 1])
    errors = torch.zeros(2)
    with pytest.raises(ValueError, match=r'targets.*\(4,\).*\(3,\)'):
        alrp_loss(logits, targets[:3], errors)
    with pytest.raises(ValueError, match=r'targets.*found 2'):
        ap_loss(logits, torch.tensor([1, 0, 2, 0]))
    with pytest.raises(ValueError, match=r'loc_errors.*\(2,\).*\(3,\)'):
        alrp_loss(logits, targets, torch.zeros(3))
    with pytest.raises(ValueError, match='loc_errors'):
        alrp_loss(logits, targets, torch.tensor([0.0, float('nan')]))
    with pytest.raises(ValueError, match=r'logits must be 1-D.*\(2, 2\)'):
        ap_loss(logits.view(2, 2), targets.view(2, 2))
    with pytest.raises(TypeError, match='logits'):
        ap_loss(targets, targets)
    with pytest.raises(TypeError, match='targets'):
        ap_loss(logits, [1, 0, 0, 1])
    with pytest.raises(ValueError, match='delta'):
        ap_loss(logits, targets, delta=0.0)


def authors_loc_loss(pos_logits, rank, loc_errors, order):
    """aLRP L_loc as the authors compute it for one tie-break ``order``:
    positives sorted by descending score (ties in the given order), the
    cumulative sum of their errors over the smoothed rank."""
    # Stable sort of the positives given in ``order``: ties keep it.
    ranked = order[torch.sort(-pos_logits[order], stable=True).indices]
    cum = torch.cumsum(loc_errors[ranked], 0)
    per_positive = torch.zeros_like(cum).index_add(0, ranked, cum)
    return (per_positive / rank).mean()


def test_alrp_ties_average_the_authors_tie_break():
    # 7 positives of equal logit (as under bf16) and a few negatives: the
    # authors' value depends on the order of the tie; ours is its mean
    # over all 5,040 orders, and stays below 1.
    gen = torch.Generator().manual_seed(0)
    logits = torch.tensor([0.5] * 7 + [0.7, 0.1, -2.0], dtype=torch.float64)
    targets = torch.tensor([1] * 7 + [0, 0, 0])
    loc_errors = torch.rand(7, generator=gen, dtype=torch.float64) * 0.5 + 0.5
    ref = reference(logits, targets, loc_errors)
    rank = ref['rank_pos'] + ref['num_fp']
    errors = loc_errors.clone().requires_grad_()
    values = torch.stack([
        authors_loc_loss(logits[:7], rank, errors, torch.tensor(order))
        for order in itertools.permutations(range(7))
    ])
    values.mean().backward()
    _, loss_loc, _, loc_grad = run_alrp(logits, targets, loc_errors)
    assert_close(loss_loc, values.mean(), atol=1e-12)
    assert values.min() < loss_loc < values.max() and loss_loc <= 1
    # The gradient w.r.t. E is the authors' gradient averaged over orders.
    assert_close(loc_grad, errors.grad, atol=1e-12)
    assert_close(loc_grad, ref['loc_grad'])


def test_alrp_all_equal_logits_stay_within_bound():
    # All positives tied with errors 1: L_loc = (1 + (P - 1) / 2) / rank(i)
    # = rank+(i) / rank(i) <= 1 (the old rule gave P / rank(i) > 1).
    logits = torch.zeros(7, dtype=torch.float64)
    targets = torch.ones(7, dtype=torch.long)
    _, loss_loc, _, _ = run_alrp(logits, targets,
                                 torch.ones(7, dtype=torch.float64))
    assert_close(loss_loc, torch.tensor(1.0, dtype=torch.float64))

"""Anchor Loss core against brute-force references of eqs. (2), (5), (14).

The references below loop over samples, classes and pixels with Python
floats (``math``), independently of the vectorised implementation.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from mmrank.core.anchor_loss import (anchor_heatmap_loss, anchor_loss,
                                     modulating_factor)

DELTA = 0.05


def softplus(x: float) -> float:
    """Stable ``log(1 + exp(x))``."""
    return max(x, 0.) + math.log1p(math.exp(-abs(x)))


def sigmoid(x: float) -> float:
    return 1. / (1. + math.exp(-x)) if x >= 0 else math.exp(x) / (
        1. + math.exp(x))


def neg_log_q(x: float) -> float:
    """-log sigmoid(x)."""
    return softplus(-x)


def neg_log_not_q(x: float) -> float:
    """-log(1 - sigmoid(x))."""
    return softplus(x)


def ref_cls_sample(row, t, gamma, variant, static=None):
    """Eq. (2) / supplement (i)-(iii) for one sample, Python floats."""
    q = [sigmoid(v) for v in row]
    others = [q[k] for k in range(len(q)) if k != t]
    bg_anchor = min(max(q[t] - DELTA, 0.), 1.)
    tg_anchor = min(max((max(others) if others else 0.) + DELTA, 0.), 1.)
    if static is not None:
        bg_anchor = tg_anchor = static
    total = 0.
    for k, v in enumerate(row):
        if k == t:
            factor = (1 - q[k] + tg_anchor)**gamma if variant in (
                'target', 'both') else 1.
            total += factor * neg_log_q(v)
        else:
            factor = (1 + q[k] - bg_anchor)**gamma if variant in (
                'background', 'both') else 1.
            total += factor * neg_log_not_q(v)
    return total


def ref_cls(logits, labels, gamma, variant='background', static=None):
    rows = logits.double().tolist()
    return [
        ref_cls_sample(r, t, gamma, variant, static)
        for r, t in zip(rows, labels.tolist())
    ]


def eq14_background_grad(x: float, anchor: float, gamma: float) -> float:
    """Eq. (14): d/dx of -(1 + q - q*)^g log(1 - q), q* held constant."""
    q = sigmoid(x)
    base = 1 + q - anchor
    return base**(gamma - 1) * (q * base + gamma * q *
                                (1 - q) * neg_log_not_q(x))


def target_grad(x: float, anchor: float, gamma: float) -> float:
    """d/dx of -(1 - q + q*)^g log q, q* held constant."""
    q = sigmoid(x)
    base = 1 - q + anchor
    return -base**(gamma - 1) * ((1 - q) * base + gamma * q *
                                 (1 - q) * neg_log_q(x))


def ref_cls_grad(logits, labels, gamma, variant):
    """Closed-form gradient of the batch mean (eq. 14 for background)."""
    rows = logits.double().tolist()
    grads = []
    for row, t in zip(rows, labels.tolist()):
        q = [sigmoid(v) for v in row]
        bg_anchor = max(q[t] - DELTA, 0.)
        tg_anchor = min(max(q[k] for k in range(len(q)) if k != t) + DELTA,
                        1.)
        g = []
        for k, v in enumerate(row):
            if k == t:
                g.append(
                    target_grad(v, tg_anchor, gamma) if variant in (
                        'target', 'both') else q[k] - 1)
            else:
                g.append(
                    eq14_background_grad(v, bg_anchor, gamma) if variant in (
                        'background', 'both') else q[k])
        grads.append([gk / len(rows) for gk in g])
    return torch.tensor(grads, dtype=torch.float64)


@pytest.fixture
def cls_data(device):
    """Logits and labels on every device of the ``device`` fixture."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 5, generator=gen, dtype=torch.float64) * 3
    labels = torch.tensor([0, 1, 2, 3, 4, 2])
    return logits.to(device), labels.to(device)


@pytest.mark.parametrize('variant', ['background', 'target', 'both'])
@pytest.mark.parametrize('gamma', [0.5, 2.0])
def test_cls_values_and_grads_match_brute_force(cls_data, variant, gamma):
    logits, labels = cls_data
    logits.requires_grad_(True)
    per_sample = anchor_loss(
        logits, labels, gamma=gamma, variant=variant, reduction='none')
    expected = torch.tensor(ref_cls(logits.detach(), labels, gamma, variant),
                            dtype=torch.float64)
    torch.testing.assert_close(per_sample.cpu(), expected)
    per_sample.mean().backward()
    torch.testing.assert_close(
        logits.grad.cpu(),
        ref_cls_grad(logits.detach(), labels, gamma, variant))


def test_cls_static_anchor(cls_data):
    logits, labels = cls_data
    loss = anchor_loss(logits, labels, gamma=1.0, anchor=0.3,
                       variant='both', reduction='none')
    expected = ref_cls(logits, labels, 1.0, 'both', static=0.3)
    torch.testing.assert_close(loss.cpu(),
                               torch.tensor(expected, dtype=torch.float64))


def test_cls_gamma_zero_is_bce(cls_data):
    logits, labels = cls_data
    onehot = F.one_hot(labels, 5).double()
    bce = F.binary_cross_entropy_with_logits(
        logits, onehot, reduction='none').sum(1).mean()
    for variant in ('background', 'target', 'both'):
        torch.testing.assert_close(
            anchor_loss(logits, labels, gamma=0., variant=variant), bce)


@pytest.mark.parametrize('gamma', [0.5, 2.0])
def test_anchor_one_minus_p_is_focal(gamma):
    """Eqs. (10)-(12): q* = 1 - p turns both factors into focal factors."""
    q = torch.linspace(0.01, 0.99, 23, dtype=torch.float64)
    torch.testing.assert_close(
        modulating_factor(q, 1 - torch.ones_like(q), True, gamma),
        (1 - q)**gamma)
    torch.testing.assert_close(
        modulating_factor(q, 1 - torch.zeros_like(q), False, gamma),
        q**gamma)


def test_cls_focal_special_case_loss(cls_data):
    """With a static anchor the factors follow (1 +- (q - q*))^g exactly;
    at q* = 1 the background term is the focal background term."""
    logits, labels = cls_data
    q = logits.sigmoid()
    onehot = F.one_hot(labels, 5).bool()
    focal_bg = torch.where(onehot, -F.logsigmoid(logits),
                           -(q**2) * F.logsigmoid(-logits)).sum(1).mean()
    torch.testing.assert_close(
        anchor_loss(logits, labels, gamma=2., anchor=1.0), focal_bg)


def test_cls_one_hot_target_and_reductions(cls_data):
    logits, labels = cls_data
    onehot = F.one_hot(labels, 5)
    per_sample = anchor_loss(logits, labels, reduction='none')
    torch.testing.assert_close(
        anchor_loss(logits, onehot.float(), reduction='none'), per_sample)
    weight = torch.arange(6, dtype=torch.float64, device=logits.device)
    torch.testing.assert_close(
        anchor_loss(logits, labels, weight=weight, reduction='sum'),
        (per_sample * weight).sum())
    torch.testing.assert_close(
        anchor_loss(logits, labels, avg_factor=3.), per_sample.sum() / 3)


def test_cls_extreme_logits_finite_and_correct(device):
    logits = torch.tensor([[100., -100., -100.], [-100., 100., 100.],
                           [100., 100., -100.]],
                          device=device, requires_grad=True)
    labels = torch.tensor([0, 0, 1], device=device)
    loss = anchor_loss(logits, labels, gamma=0.5, reduction='none')
    assert torch.isfinite(loss).all()
    expected = ref_cls(logits.detach(), labels, 0.5, 'background')
    torch.testing.assert_close(loss.double().cpu(),
                               torch.tensor(expected, dtype=torch.float64))
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()
    # Confident and correct: no gradient; confidently wrong: saturated.
    torch.testing.assert_close(logits.grad[0].cpu(), torch.zeros(3))
    assert logits.grad[1, 0] == pytest.approx(-1.)
    for variant in ('target', 'both'):
        assert torch.isfinite(anchor_loss(logits, labels,
                                          variant=variant)).all()


def test_empty_batches_give_zero_loss(device):
    logits = torch.zeros(0, 4, device=device, requires_grad=True)
    loss = anchor_loss(logits,
                       torch.zeros(0, dtype=torch.long, device=device))
    assert loss.item() == 0
    loss.backward()
    heatmaps = torch.zeros(0, 3, 4, 4, device=device, requires_grad=True)
    loss = anchor_heatmap_loss(heatmaps,
                               torch.zeros(0, 3, 4, 4, device=device))
    assert loss.item() == 0
    loss.backward()


def test_cls_fp16(device):
    gen = torch.Generator().manual_seed(1)
    logits = (torch.randn(8, 10, generator=gen) * 20).half()
    logits[0, 0] = 60000.
    logits = logits.to(device).requires_grad_(True)
    labels = torch.arange(8, device=device)
    loss = anchor_loss(logits, labels)
    assert loss.dtype == torch.float16 and torch.isfinite(loss)
    loss.backward()
    assert logits.grad.dtype == torch.float16
    assert torch.isfinite(logits.grad).all()
    # the brute force of eq. (2) on the same rounded inputs
    ref = torch.tensor(ref_cls(logits.detach().cpu(), labels.cpu(), 0.5),
                       dtype=torch.float64).mean()
    torch.testing.assert_close(loss.double().cpu(), ref, rtol=2e-3, atol=0)


@pytest.mark.parametrize('kwargs, message', [
    (dict(gamma=-1.), 'gamma'),
    (dict(margin=2.), 'margin'),
    (dict(variant='pos'), 'variant'),
    (dict(anchor=1.5), 'anchor'),
    (dict(reduction='avg'), 'reduction'),
    (dict(weight=torch.ones(3)), 'weight'),
    (dict(avg_factor=0.), 'avg_factor'),
])
def test_cls_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        anchor_loss(torch.zeros(2, 3), torch.tensor([0, 1]), **kwargs)


@pytest.mark.parametrize('target', [
    torch.tensor([0, 3]),
    torch.tensor([0., 1.]),
    torch.tensor([[0.9, 0.1, 0.], [0., 1., 0.]]),
    torch.tensor([[1., 1., 0.], [0., 1., 0.]]),
    torch.zeros(2, 4),
])
def test_cls_bad_target(target):
    with pytest.raises(ValueError, match='target'):
        anchor_loss(torch.zeros(2, 3), target)


def test_cls_bad_logits_shape():
    with pytest.raises(ValueError, match='logits'):
        anchor_loss(torch.zeros(2, 3, 4), torch.tensor([0, 1]))


# --------------------------------------------------------------------------
# Pose heatmaps, eqs. (3)-(5)


def ref_heatmap(output, target, gamma, target_weights=None, mask=None):
    """Per-pixel losses of eqs. (3)-(5), weighted, by explicit loops."""
    n_img, n_kpt, height, width = output.shape
    losses = torch.zeros(output.shape, dtype=torch.float64)
    for n in range(n_img):
        for k in range(n_kpt):
            w = 1. if target_weights is None else float(target_weights[n, k])

            def pix_w(i, j, n=n, k=k, w=w):
                m = 1. if mask is None else float(
                    mask[n, min(k, mask.shape[1] - 1), i, j])
                return w * m

            anchor = None
            for i in range(height):
                for j in range(width):
                    if target[n, k, i, j] > 0.5 and pix_w(i, j) > 0:
                        q = sigmoid(float(output[n, k, i, j]))
                        anchor = q if anchor is None else max(anchor, q)
            for i in range(height):
                for j in range(width):
                    x, p = float(output[n, k, i, j]), float(target[n, k, i,
                                                                   j])
                    if p == 0 and anchor is not None:
                        q = sigmoid(x)
                        value = (1 + q - anchor)**gamma * neg_log_not_q(x)
                    else:
                        value = p * neg_log_q(x) + (1 - p) * neg_log_not_q(x)
                    losses[n, k, i, j] = value * pix_w(i, j)
    return losses


def ref_heatmap_grad(output, target, gamma, weights):
    """Closed-form gradient of the mean loss (eq. 14 on background pixels,
    ``q - p`` elsewhere and in heatmaps without an anchor)."""
    grads = torch.zeros(output.shape, dtype=torch.float64)
    for idx in torch.cartesian_prod(*[torch.arange(s)
                                      for s in output.shape]).tolist():
        n, k = idx[:2]
        region = (target[n, k] > 0.5) & (weights[n, k] > 0)
        x, p = float(output[tuple(idx)]), float(target[tuple(idx)])
        if p == 0 and region.any():
            anchor = float(output[n, k][region].sigmoid().max())
            g = eq14_background_grad(x, anchor, gamma)
        else:
            g = sigmoid(x) - p
        grads[tuple(idx)] = g * float(weights[tuple(idx)]) / output.numel()
    return grads


def gaussian_targets(n_img=2, n_kpt=3, height=6, width=5):
    """Truncated Gaussians (exact zeros outside a 3x3 window)."""
    target = torch.zeros(n_img, n_kpt, height, width, dtype=torch.float64)
    window = torch.tensor([[0.05, 0.6, 0.3], [0.6, 1., 0.6], [0.3, 0.6, 0.05]],
                          dtype=torch.float64)
    for n in range(n_img):
        for k in range(n_kpt):
            i, j = 1 + (n + k) % (height - 2), 1 + (2 * n + k) % (width - 2)
            target[n, k, i - 1:i + 2, j - 1:j + 2] = window
    return target


@pytest.fixture
def pose_data(device):
    """Heatmaps and targets on every device of the ``device`` fixture."""
    gen = torch.Generator().manual_seed(2)
    target = gaussian_targets()
    output = torch.randn(target.shape, generator=gen,
                         dtype=torch.float64) * 2
    return output.to(device), target.to(device)


@pytest.mark.parametrize('gamma', [0.5, 2.0])
def test_heatmap_values_and_grads_match_brute_force(pose_data, gamma):
    output, target = pose_data
    output.requires_grad_(True)
    per_pixel = anchor_heatmap_loss(output, target, gamma=gamma,
                                    reduction='none')
    expected = ref_heatmap(output.detach(), target, gamma)
    torch.testing.assert_close(per_pixel.cpu(), expected)
    loss = anchor_heatmap_loss(output, target, gamma=gamma)
    torch.testing.assert_close(loss.cpu(), expected.mean())
    loss.backward()
    torch.testing.assert_close(
        output.grad.cpu(),
        ref_heatmap_grad(output.detach(), target, gamma,
                         torch.ones_like(target)))


def test_heatmap_target_weights_and_mask(pose_data):
    output, target = pose_data
    output.requires_grad_(True)
    target_weights = torch.tensor([[1., 0., 0.5], [0., 1., 1.]],
                                  dtype=torch.float64, device=output.device)
    mask = torch.ones(2, 1, 6, 5, dtype=torch.float64, device=output.device)
    mask[0, 0, :2] = 0  # removes part of a positive region of image 0
    loss = anchor_heatmap_loss(output, target, 2., target_weights, mask,
                               reduction='none')
    expected = ref_heatmap(output.detach(), target, 2., target_weights, mask)
    torch.testing.assert_close(loss.cpu(), expected)
    loss.mean().backward()
    weights = target_weights[:, :, None, None] * mask
    torch.testing.assert_close(
        output.grad.cpu(),
        ref_heatmap_grad(output.detach(), target, 2., weights))
    # A keypoint with zero weight contributes nothing, even when its
    # output is extreme.
    extreme = output.detach().clone()
    extreme[0, 1] = 1e4
    torch.testing.assert_close(
        anchor_heatmap_loss(extreme, target, 2., target_weights, mask),
        loss.detach().mean())


def test_heatmap_without_anchor_is_bce(pose_data):
    output, target = pose_data
    target = target * 0.5  # no pixel above 0.5 anywhere
    torch.testing.assert_close(
        anchor_heatmap_loss(output, target, gamma=2.),
        F.binary_cross_entropy_with_logits(output, target))


def test_heatmap_gamma_zero_is_bce(pose_data):
    output, target = pose_data
    torch.testing.assert_close(
        anchor_heatmap_loss(output, target, gamma=0.),
        F.binary_cross_entropy_with_logits(output, target))


def test_heatmap_extreme_and_fp16(pose_data):
    output, target = pose_data
    extreme = (output.sign() * 100).float().requires_grad_(True)
    loss = anchor_heatmap_loss(extreme, target.float())
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(extreme.grad).all()
    torch.testing.assert_close(
        loss.double().cpu(),
        ref_heatmap(extreme.detach().double(), target, 2.).mean())

    half = output.half().requires_grad_(True)
    loss = anchor_heatmap_loss(half, target.half())
    assert loss.dtype == torch.float16 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(half.grad).all()
    # the brute force of eqs. (3)-(5) on the same rounded inputs
    torch.testing.assert_close(
        loss.double().cpu(),
        ref_heatmap(half.detach().double(), target.half().double(),
                    2.).mean(),
        rtol=2e-3,
        atol=0)


@pytest.mark.parametrize('kwargs, message', [
    (dict(target=torch.zeros(2, 3, 6, 4)), 'target'),
    (dict(target_weights=torch.ones(2, 2)), 'target_weights'),
    (dict(mask=torch.ones(2, 3, 6)), 'mask'),
    (dict(mask=torch.ones(2, 2, 6, 5)), 'mask'),
    (dict(gamma=-0.5), 'gamma'),
    (dict(reduction='batch'), 'reduction'),
])
def test_heatmap_bad_arguments(kwargs, message):
    args = dict(output=torch.zeros(2, 3, 6, 5), target=torch.zeros(2, 3, 6,
                                                                    5))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        anchor_heatmap_loss(**args)

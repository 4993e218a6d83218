"""Anchor Loss in float16 and bfloat16 against the float64 brute force.

``test_anchor_loss.py`` checks the half-precision losses against the same
function run in float64, which cannot catch a mistake shared by both.
Here the half-precision values and gradients are compared with the
Python-float references of eqs. (2)-(5) and (14) in that file, evaluated
on the same rounded inputs; only the rounding of the outputs differs.
"""
import pytest
import torch

from mmrank.core import anchor_heatmap_loss, anchor_loss
from tests.test_core.test_anchor_loss import (gaussian_targets, ref_cls,
                                              ref_cls_grad, ref_heatmap,
                                              ref_heatmap_grad)

#: dtype, relative tolerance (a few units of its rounding), and the
#: absolute tolerance of gradients near 0 (float16 subnormal spacing).
HALF = [(torch.float16, 4e-3, 2**-24), (torch.bfloat16, 2e-2, 1e-6)]


@pytest.mark.parametrize('dtype, rtol, atol', HALF)
@pytest.mark.parametrize('variant', ['background', 'target', 'both'])
def test_cls_half_matches_brute_force(device, dtype, rtol, atol, variant):
    gen = torch.Generator().manual_seed(4)
    logits = (torch.randn(12, 7, generator=gen) * 4).to(dtype)
    logits[0, 3] = 30.0  # saturated sigmoid of a background class
    labels = torch.randint(0, 7, (12, ), generator=gen)
    x = logits.to(device).requires_grad_()
    loss = anchor_loss(x, labels.to(device), gamma=2.0, variant=variant)
    loss.backward()
    assert loss.dtype == x.grad.dtype == dtype
    expected = torch.tensor(ref_cls(logits, labels, 2.0, variant),
                            dtype=torch.float64).mean()
    torch.testing.assert_close(loss.double().cpu(), expected, rtol=rtol,
                               atol=0)
    torch.testing.assert_close(x.grad.double().cpu(),
                               ref_cls_grad(logits, labels, 2.0, variant),
                               rtol=rtol, atol=atol)


@pytest.mark.parametrize('dtype, rtol, atol', HALF)
def test_heatmap_half_matches_brute_force(device, dtype, rtol, atol):
    gen = torch.Generator().manual_seed(5)
    target = gaussian_targets().to(dtype)
    output = (torch.randn(target.shape, generator=gen) * 3).to(dtype)
    x = output.to(device).requires_grad_()
    loss = anchor_heatmap_loss(x, target.to(device), gamma=2.0)
    loss.backward()
    assert loss.dtype == x.grad.dtype == dtype
    expected = ref_heatmap(output.double(), target.double(), 2.0).mean()
    torch.testing.assert_close(loss.double().cpu(), expected, rtol=rtol,
                               atol=0)
    torch.testing.assert_close(
        x.grad.double().cpu(),
        ref_heatmap_grad(output.double(), target.double(), 2.0,
                         torch.ones(target.shape, dtype=torch.float64)),
        rtol=rtol, atol=atol)

"""The public ranking losses with ``impl='triton'`` against brute force.

``test_triton_ranking.py`` compares the kernels with the torch path on at
most three blocks. Here the losses run through ``impl='triton'`` on 16
blocks and a partial one (without a GPU: Triton's interpreter on CPU
tensors, about a second per pass), and are compared with the independent
brute-force reference of the aLRP paper's equations in
``test_ranking.py``: values, logit gradients (positives and negatives in
every block, including the end slots that the kernel sums per block) and
the ``loc_errors`` gradient. Batches without a positive, or whose
negatives all lie below every window, go through ``impl='triton'`` too.
"""
import pytest
import torch

from mmrank.core.ranking import alrp_loss, ap_loss, rank_sort_loss
from tests.test_core.test_ranking import assert_close, reference
from tests.test_core.test_triton_ranking import kernel_device  # noqa: F401

pytest.importorskip('triton', reason='triton is not installed (torch CUDA '
                    'wheels bring it)')

NUM = 16 * 1024 + 300  # 17 blocks of the kernels' 1024 entries


def many_block_case(dtype: torch.dtype):
    """~160 positives spread over all blocks; negatives on a 1/4 lattice
    (ties, exact window bounds), whole blocks above every positive (the
    end slot) and below every window (skipped), some ignored entries."""
    gen = torch.Generator().manual_seed(21)
    logits = torch.randint(-16, 17, (NUM, ), generator=gen) / 4.0
    logits[2048:3072] = 50.0 + torch.rand(1024, generator=gen)  # above all
    logits[5120:6144] = -50.0  # below every window
    targets = (torch.rand(NUM, generator=gen) < 0.01).long()
    targets[2048:3072] = 0
    targets[5120:6144] = 0
    targets[torch.rand(NUM, generator=gen) < 0.03] = -1
    targets[[0, NUM - 1]] = 1  # a positive in the first and the last block
    logits[targets == 1] += 1.0
    num_pos = int((targets == 1).sum())
    loc_errors = torch.rand(num_pos, generator=gen, dtype=torch.float64)
    return logits.to(dtype), targets, loc_errors


def test_alrp_on_17_blocks_matches_reference(kernel_device):
    logits, targets, loc_errors = many_block_case(torch.float32)
    ref = reference(logits, targets, loc_errors)
    x = logits.to(kernel_device).requires_grad_()
    errors = loc_errors.to(kernel_device).requires_grad_()
    loss_cls, loss_loc = alrp_loss(x, targets.to(kernel_device), errors,
                                   impl='triton')
    (loss_cls + loss_loc).backward()
    assert_close(loss_cls, ref['loss_cls'])
    assert_close(loss_loc, ref['loss_loc'])
    assert_close(x.grad, ref['alrp_grad'], atol=1e-9)
    assert_close(errors.grad, ref['loc_grad'])
    # The case reaches what it is meant to: negatives with a gradient in
    # every block but the one below all windows, the end slot populated.
    per_block = torch.zeros(17).index_add_(
        0, torch.arange(NUM) // 1024, (x.grad.cpu() != 0).float() *
        (targets == 0).float())
    assert (per_block[torch.arange(17) != 5] > 0).all()
    assert per_block[5] == 0
    above_all = ref['alrp_grad'][2048:3072][targets[2048:3072] == 0]
    assert above_all.min() > 0


@pytest.mark.parametrize('dtype, rtol, atol', [(torch.bfloat16, 1e-2, 1e-9),
                                               (torch.float16, 2e-3, 2**-24)])
def test_ap_half_precision_on_17_blocks_matches_reference(
        kernel_device, dtype, rtol, atol):
    # The reference sees the same rounded logits in float64. Float16
    # gradients below 2^-14 are subnormal: absolute spacing 2^-24.
    logits, targets, _ = many_block_case(dtype)
    ref = reference(logits, targets, None)
    x = logits.to(kernel_device).requires_grad_()
    loss = ap_loss(x, targets.to(kernel_device), impl='triton')
    loss.backward()
    assert loss.dtype == x.grad.dtype == dtype
    assert_close(loss, ref['ap_loss'], rtol=rtol, atol=1e-9)
    assert_close(x.grad, ref['ap_grad'], rtol=rtol, atol=atol)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
def test_no_positive_through_triton(kernel_device, dtype):
    gen = torch.Generator().manual_seed(3)
    logits = (torch.randn(3000, generator=gen) * 3).to(dtype)
    targets = torch.zeros(3000, dtype=torch.long)
    targets[::7] = -1
    x = logits.to(kernel_device).requires_grad_()
    errors = torch.zeros(0, device=kernel_device, requires_grad=True)
    t = targets.to(kernel_device)
    losses = [
        *alrp_loss(x, t, errors, impl='triton'),
        ap_loss(x, t, impl='triton'),
        *rank_sort_loss(x, t, impl='triton')
    ]
    sum(losses).backward()
    assert all(v.item() == 0 for v in losses)
    assert [v.dtype for v in losses] == [dtype, torch.float32] + [dtype] * 3
    assert x.grad.dtype == dtype and torch.count_nonzero(x.grad) == 0
    assert errors.grad is None or errors.grad.numel() == 0


def test_negatives_all_below_the_windows_through_triton(kernel_device):
    # Positives exist but every negative lies below min_i s_i - delta: the
    # kernels skip all of them; N_FP = 0, so every loss and gradient is 0.
    logits = torch.cat([torch.tensor([3.0, 4.0, 5.0]), torch.full((2500, ),
                                                                 -3.0)])
    targets = torch.cat([torch.ones(3), torch.zeros(2500)]).long()
    x = logits.to(kernel_device).requires_grad_()
    loss = ap_loss(x, targets.to(kernel_device), impl='triton')
    loss.backward()
    ref = reference(logits, targets, None)
    assert_close(loss, ref['ap_loss'], atol=0)
    assert loss.item() == 0 and torch.count_nonzero(x.grad) == 0

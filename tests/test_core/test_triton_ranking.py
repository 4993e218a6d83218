"""The fused Triton passes against the torch path of the ranking core.

Without a GPU the kernels run on CPU tensors under Triton's interpreter
(``tests/conftest.py`` sets ``TRITON_INTERPRET=1`` before anything imports
triton, which reads it at import). On a GPU machine the cuda variants run
the compiled kernels, and the cpu variants only where the variable is set
for the run. The reference is the torch path of the ranking engine:
``rank_positives`` (windows, ``N_FP``) and ``step_sums``.
"""
import os
import subprocess
import sys

import pytest
import torch

from mmrank.core.ranking import engine, steps
from mmrank.core.ranking import triton_passes
from mmrank.core.ranking.backends import logit_pass_impl

from ..conftest import repo_path

triton = pytest.importorskip(
    'triton', reason='triton is not installed (torch CUDA wheels bring it)')

DELTA = 1.0


@pytest.fixture
def kernel_device(device):
    """The ``device`` fixture; CPU tensors need the interpreter."""
    if device == 'cpu' and not triton_passes.available('cpu'):
        pytest.skip('CPU tensors need the Triton interpreter: run with '
                    'TRITON_INTERPRET=1 set (the cuda variants test the '
                    'compiled kernels)')
    return device


def centre_and_bound(logits, pos_index, delta):
    """The centre and the bound of the relevant negatives, as
    ``engine.rank_positives``."""
    sorted_logits = logits.index_select(0, pos_index).double().sort().values
    bound = sorted_logits[0] - delta
    bound = bound - (bound.abs() + 1) / 64
    return sorted_logits[sorted_logits.numel() // 2], bound.to(logits.dtype)


def check_case(logits, targets, device, delta=DELTA, out_dtype=None):
    """Both kernels against the torch path on one flat batch."""
    pos_index = torch.nonzero(targets > 0).squeeze(1)
    ranking = engine.rank_positives(logits, targets, pos_index, delta)
    ref = ranking.negatives
    centre, bound = centre_and_bound(logits, pos_index, delta)
    args = [t.to(device) for t in (logits, targets, centre, bound)]
    scores = ref.scores.to(device)
    num_fp = triton_passes.false_positive_counts(scores, *args, delta)
    assert num_fp.dtype == torch.float64 and num_fp.shape == scores.shape
    torch.testing.assert_close(
        num_fp.cpu(),
        steps.false_positive_counts(ref.scores, ref.neg_scores, ref.lo,
                                    ref.hi, delta),
        rtol=1e-5,
        atol=1e-5 * max(1.0, float(ranking.num_fp.max())))

    share = torch.rand(scores.numel(), dtype=torch.float64) + 0.1
    expected = steps.step_sums(ref.scores, share, ref.neg_scores, ref.lo,
                               ref.hi, delta)
    out_dtype = out_dtype or torch.promote_types(logits.dtype, torch.float32)
    out = torch.full(logits.shape,
                     float('nan'),
                     dtype=out_dtype,
                     device=device)
    triton_passes.negative_gradient(scores, share.to(device), *args, delta,
                                     out)
    out = out.cpu()
    written = torch.zeros(logits.shape, dtype=torch.bool)
    written[ref.neg_index] = True
    assert out[~written].isnan().all(), 'an entry outside the relevant ' \
        'negatives was written'
    assert not out[written].isnan().any(), 'a relevant negative was skipped'
    scale = float(expected.abs().max()) if expected.numel() else 1.0
    torch.testing.assert_close(out[ref.neg_index].double(),
                               expected.to(out_dtype).double(),
                               rtol=1e-5,
                               atol=1e-5 * scale)
    return ref


def random_case(seed, num=2000, num_pos=40, dtype=torch.float64, ignored=0.05):
    gen = torch.Generator().manual_seed(seed)
    targets = torch.zeros(num, dtype=torch.long)
    targets[torch.rand(num, generator=gen) < ignored] = -1
    targets[torch.randperm(num, generator=gen)[:num_pos]] = 1
    logits = torch.randn(num, generator=gen, dtype=torch.float64) * 1.5 - 1
    logits[targets == 1] += 1
    return logits.to(dtype), targets


def test_runs_interpreted_on_cpu(kernel_device, monkeypatch):
    if kernel_device == 'cuda':
        pytest.skip('the cuda variant runs the compiled kernels')
    from mmrank.core.ranking.triton_kernels import negatives_pass
    assert type(negatives_pass).__name__ == 'InterpretedFunction'
    monkeypatch.delenv('TRITON_INTERPRET')
    assert not triton_passes.available('cpu')


@pytest.mark.parametrize('seed', [0, 1])
def test_random(kernel_device, seed):
    check_case(*random_case(seed), kernel_device)


def test_many_positives_and_small_delta(kernel_device):
    # 300 positives: nine binary-search halvings, narrow windows.
    check_case(*random_case(2, num=3000, num_pos=300),
               kernel_device,
               delta=0.25)


@pytest.mark.parametrize(
    'dtype', [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_logit_dtypes(kernel_device, dtype):
    check_case(*random_case(3, dtype=dtype), kernel_device)


def test_ties_in_scores(kernel_device):
    # Integer logits: positives tied among themselves and with negatives.
    logits, targets = random_case(4, num=1500, num_pos=60)
    check_case(logits.round(), targets, kernel_device)


def test_entries_exactly_at_window_bounds(kernel_device):
    # Positives at multiples of 0.5; negatives exactly at s_i +- delta (and
    # at s_i) for delta = 0.5, all exact in float64 and float32.
    pos = torch.tensor([-1.0, 0.0, 0.0, 0.5, 2.0])
    neg = torch.cat([pos + 0.5, pos - 0.5, pos, torch.tensor([-3.0, 9.0])])
    logits = torch.cat([pos, neg, neg]).float()
    targets = torch.cat([torch.ones(5), torch.zeros(2 * neg.numel())]).long()
    ref = check_case(logits, targets, kernel_device, delta=0.5)
    assert (ref.hi > ref.lo).any() and (ref.hi == ref.lo).any()


def test_one_positive(kernel_device):
    logits, targets = random_case(5, num=500, num_pos=1)
    check_case(logits, targets, kernel_device)


def test_negatives_all_below(kernel_device):
    logits, targets = random_case(6, num=600, num_pos=10)
    logits[targets == 1] += 20
    ref = check_case(logits, targets, kernel_device)
    assert ref.neg_index.numel() == 0


def test_ignored_entries_and_continuous_targets(kernel_device):
    # Rank & Sort targets: positives in (0, 1], negatives 0, ignored -1.
    logits, targets = random_case(7, num=1200, num_pos=30, ignored=0.3)
    gen = torch.Generator().manual_seed(7)
    quality = torch.rand(targets.shape, generator=gen) * 0.9 + 0.1
    targets = torch.where(targets == 1, quality, targets.float())
    check_case(logits.float(), targets, kernel_device)


def test_bool_targets_and_float64_out(kernel_device):
    logits, targets = random_case(8, num=800, num_pos=20, ignored=0)
    check_case(logits.float(),
               targets == 1,
               kernel_device,
               out_dtype=torch.float64)


COMPILE_FOR_HOPPER = """
import importlib.util, sys
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
spec = importlib.util.spec_from_file_location('kernels', sys.argv[1])
kernels = sys.modules['kernels'] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kernels)
negatives_pass = kernels.negatives_pass
signature = dict(
    logits_ptr='*bf16', targets_ptr='*fp32', lower_ptr='*fp64',
    upper_ptr='*fp64', centre_ptr='*fp64', bound_ptr='*bf16',
    table_ptr='*fp64', out_ptr='*fp32', num='i32', num_pos='i32',
    STEPS='constexpr', GRADIENT='constexpr', BLOCK='constexpr')
for gradient in (False, True):
    source = ASTSource(fn=negatives_pass, signature=signature,
                       constexprs=dict(STEPS=11, GRADIENT=gradient,
                                       BLOCK=1024))
    ptx = triton.compile(source, target=GPUTarget('cuda', 90, 32)).asm['ptx']
    print(gradient, 'atom.global' in ptx)
"""


def test_compiles_for_hopper_without_a_gpu():
    # Front end, LLVM and ptxas of the compiled kernel, in a process
    # without the interpreter.
    env = {k: v for k, v in os.environ.items() if k != 'TRITON_INTERPRET'}
    proc = subprocess.run([
        sys.executable, '-c', COMPILE_FOR_HOPPER,
        repo_path('mmrank', 'core', 'ranking', 'triton_kernels.py')
    ],
                          capture_output=True,
                          text=True,
                          env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Atomics in the counting pass only.
    assert proc.stdout.split() == ['False', 'True', 'True', 'False']


def test_impl_resolution(monkeypatch):
    cpu_kernels = triton_passes.available('cpu')
    assert logit_pass_impl('auto', 'cpu') == 'torch'
    assert logit_pass_impl('torch', 'cpu') == 'torch'
    if cpu_kernels:
        assert logit_pass_impl('triton', 'cpu') == 'triton'
    with pytest.raises(ValueError, match='impl must be one of'):
        logit_pass_impl('cuda', 'cpu')
    monkeypatch.delenv('TRITON_INTERPRET', raising=False)
    with pytest.raises(ValueError, match='impl="triton".*TRITON_INTERPRET'):
        logit_pass_impl('triton', 'cpu')


def test_bad_arguments(monkeypatch):
    logits, targets = random_case(9, num=100, num_pos=5)
    pos_index = torch.nonzero(targets > 0).squeeze(1)
    centre, bound = centre_and_bound(logits, pos_index, DELTA)
    scores = logits[pos_index].sort().values - centre
    fp = triton_passes.false_positive_counts
    with pytest.raises(ValueError, match='scores'):
        fp(scores.float(), logits, targets, centre, bound, DELTA)
    with pytest.raises(ValueError, match='targets'):
        fp(scores, logits, targets[1:], centre, bound, DELTA)
    with pytest.raises(ValueError, match='bound'):
        fp(scores, logits, targets, centre, bound.float(), DELTA)
    with pytest.raises(ValueError, match='share'):
        triton_passes.negative_gradient(scores, scores[1:], logits,
                                         targets, centre, bound, DELTA,
                                         torch.zeros(100))
    for out in (torch.zeros(3), torch.zeros(100, dtype=torch.bfloat16)):
        with pytest.raises(ValueError, match='out must be'):
            triton_passes.negative_gradient(scores, scores, logits, targets,
                                             centre, bound, DELTA, out)
    monkeypatch.delenv('TRITON_INTERPRET', raising=False)
    with pytest.raises(ValueError, match='TRITON_INTERPRET'):
        fp(scores, logits, targets, centre, bound, DELTA)


@pytest.mark.parametrize('loss', ['alrp', 'ap', 'rank_sort'])
@pytest.mark.parametrize('seed', [0, 1])
def test_losses_through_impl_triton_equal_torch(kernel_device, loss, seed):
    """The public losses with impl='triton' (interpreted on CPU): values
    and logit gradients equal to the torch path."""
    from mmrank.core.ranking import alrp_loss, ap_loss, rank_sort_loss
    gen = torch.Generator().manual_seed(seed)
    num = 3000
    logits = (torch.randn(num, generator=gen) * 2).to(kernel_device)
    targets = (torch.rand(num, generator=gen) < 0.02).float()
    targets[torch.rand(num, generator=gen) < 0.05] = -1
    num_pos = int((targets == 1).sum())
    loc_errors = torch.rand(num_pos, generator=gen).to(kernel_device)
    if loss == 'rank_sort':
        targets[targets == 1] = torch.rand(num_pos, generator=gen) * 0.9 + 0.1
    targets = targets.to(kernel_device)
    fns = dict(
        alrp=lambda x, impl: alrp_loss(x, targets, loc_errors, impl=impl),
        ap=lambda x, impl: (ap_loss(x, targets, impl=impl), ),
        rank_sort=lambda x, impl: rank_sort_loss(x, targets, impl=impl))
    results = []
    for impl in ('torch', 'triton'):
        x = logits.clone().requires_grad_()
        values = fns[loss](x, impl)
        sum(values).backward()
        results.append((torch.stack(values), x.grad))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-5,
                               atol=1e-7)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-5,
                               atol=1e-9)
    assert results[0][1].abs().sum() > 0


def test_loss_modules_take_impl():
    from mmdet.registry import MODELS
    import mmrank  # noqa: F401
    assert MODELS.build(dict(type='RankSortLoss', impl='triton')).impl == \
        'triton'
    with pytest.raises(ValueError, match='impl'):
        MODELS.build(dict(type='aLRPLoss', impl='cuda'))

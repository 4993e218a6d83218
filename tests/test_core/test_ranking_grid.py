"""The ranking engine on >= 1e5 queries (the CPU lookup-grid path).

On the CPU the engine finds the window of each negative among the sorted
positives through a uniform grid once there are at least 2^16 relevant
negatives, with a binary search only for the queries whose cell holds a
window bound. The other tests feed a few hundred logits with the grid
forced on; here 150,000 negatives take the default path. Logits on a
1/16 lattice put many negatives exactly on window bounds (``s_i +- delta``)
and tie positives, where an off-by-one in a cell or a bound shows.

The reference is the AP Loss of the aLRP paper's equations, written out
with explicit positive x negative blocks of ``H(x_ij)`` in float64 (chunked
over the negatives to keep memory at a few tens of MB).
"""
from typing import Dict, Tuple

import torch
from torch import Tensor

from mmrank.core.ranking import ap_loss, ranking_statistics

NUM_NEG, NUM_POS, DELTA = 150_000, 300, 0.5
CHUNK = 25_000


def smoothed_step(x: Tensor) -> Tensor:
    return (x / (2 * DELTA) + 0.5).clamp(0, 1)


def chunked_reference(logits: Tensor, targets: Tensor) -> Dict[str, Tensor]:
    """``rank+``, ``N_FP``, AP Loss and its gradient by brute force."""
    s = logits.double()
    pos, neg = s[targets == 1], s[targets == 0]
    num_pos = pos.numel()
    h_pp = smoothed_step(pos[None, :] - pos[:, None])
    rank_pos = 1 + h_pp.sum(1) - 0.5  # k = i adds H(0) = 1/2
    num_fp = torch.zeros(num_pos, dtype=torch.float64)
    for start in range(0, neg.numel(), CHUNK):
        block = neg[start:start + CHUNK]
        num_fp += smoothed_step(block[None, :] - pos[:, None]).sum(1)
    rank = rank_pos + num_fp
    precision = rank_pos / rank
    # Interpolated precision: the best precision at or below the score.
    interpolated = torch.stack(
        [precision[pos <= pos[i]].max() for i in range(num_pos)])
    scale = torch.where(precision < interpolated,
                        (1 - interpolated) / (1 - precision),
                        torch.ones_like(precision))
    coef = scale / rank / num_pos
    neg_grad = torch.cat([
        (coef[:, None] *
         smoothed_step(neg[start:start + CHUNK][None, :] - pos[:, None])
         ).sum(0) for start in range(0, neg.numel(), CHUNK)
    ])
    grad = torch.zeros_like(s)
    grad[targets == 1] = -(1 - interpolated) / num_pos
    grad[targets == 0] = neg_grad
    return dict(rank_pos=rank_pos, num_fp=num_fp,
                loss=(1 - interpolated).mean(), grad=grad)


def lattice_case(seed: int) -> Tuple[Tensor, Tensor]:
    """Float32 logits on a 1/16 lattice (exact window bounds and ties),
    a tenth of them off the lattice; 300 positives, some ignored."""
    gen = torch.Generator().manual_seed(seed)
    num = NUM_NEG + NUM_POS + 1000
    logits = torch.randint(-48, 49, (num, ), generator=gen) / 16.0
    off = torch.rand(num, generator=gen) < 0.1
    logits[off] += torch.rand(int(off.sum()), generator=gen) / 16
    targets = torch.zeros(num, dtype=torch.long)
    perm = torch.randperm(num, generator=gen)
    targets[perm[:NUM_POS]] = 1
    targets[perm[NUM_POS:NUM_POS + 1000]] = -1
    # Positives in a narrower band, so that negatives fall on every side.
    logits[targets == 1] = logits[targets == 1] / 2
    return logits, targets


def test_grid_path_on_150k_queries_matches_brute_force():
    logits, targets = lattice_case(0)
    ref = chunked_reference(logits, targets)
    # Every negative is relevant (none below min_i s_i - delta would be
    # dropped): the engine sees >= 1e5 queries.
    pos_min = logits[targets == 1].min()
    assert int(((logits > pos_min - DELTA) & (targets == 0)).sum()) >= 1e5
    lattice = (logits * 16 == (logits * 16).round()) & (targets == 0)
    on_bound = (logits[lattice][:, None] - logits[targets == 1][None, :]
                ).abs().eq(DELTA).any(1)
    assert int(on_bound.sum()) > 1e4  # many queries exactly on a bound

    rank_pos, num_fp = ranking_statistics(logits, targets, DELTA)
    torch.testing.assert_close(rank_pos, ref['rank_pos'], rtol=1e-9, atol=0)
    torch.testing.assert_close(num_fp, ref['num_fp'], rtol=1e-9, atol=1e-9)
    leaf = logits.double().requires_grad_()
    loss = ap_loss(leaf, targets, DELTA)
    loss.backward()
    torch.testing.assert_close(loss, ref['loss'], rtol=1e-9, atol=0)
    torch.testing.assert_close(leaf.grad, ref['grad'], rtol=1e-7,
                               atol=1e-13)

"""Rank correlation ρ and gradient balance on hand-made cases."""
import math

import pytest
import torch

from mmrank.models.utils import average_ranks, gradient_ratio, rank_correlation


def test_average_ranks_with_ties():
    ranks = average_ranks(torch.tensor([0.3, 0.1, 0.3, 0.9, 0.3]))
    torch.testing.assert_close(
        ranks, torch.tensor([3., 1., 3., 5., 3.], dtype=torch.float64))


def test_rank_correlation_hand_made():
    # score ranks 1 3 2 4, IoU ranks 1 2 3 4: Spearman 1 - 6*2/(4*15) = 0.8.
    rho = rank_correlation(
        torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([.5, .6, .7, .9]))
    assert rho == pytest.approx(0.8)
    # Reversed order: -1.
    assert rank_correlation(torch.tensor([3., 2., 1.]),
                            torch.tensor([.1, .5, .9])) == pytest.approx(-1.0)


def test_rank_correlation_ties():
    # score ranks (1.5, 1.5, 3), IoU ranks (1, 2, 3): centred (-.5,-.5,1) and
    # (-1, 0, 1); rho = 1.5 / sqrt(1.5 * 2).
    rho = rank_correlation(torch.tensor([1., 1., 2.]),
                           torch.tensor([.2, .4, .6]))
    assert rho == pytest.approx(1.5 / math.sqrt(3.0))


def test_rank_correlation_undefined():
    assert rank_correlation(torch.tensor([1.]), torch.tensor([.5])) is None
    assert rank_correlation(torch.tensor([1., 1.]),
                            torch.tensor([.5, .6])) is None
    with pytest.raises(ValueError, match='same shape'):
        rank_correlation(torch.zeros(2), torch.zeros(3))


def test_gradient_ratio_hand_made():
    targets = torch.tensor([1, 0, 0, -1, 1])
    grad = torch.tensor([-0.5, 0.2, 0.3, 9.0, -0.25])
    # negatives 0.2 + 0.3, positives 0.5 + 0.25; ignored entry excluded.
    assert gradient_ratio(grad, targets) == pytest.approx(0.5 / 0.75)
    assert gradient_ratio(torch.zeros(5), targets) is None
    with pytest.raises(ValueError, match='same shape'):
        gradient_ratio(grad, targets[:3])

"""The loss side of the ranking protocol: what each PositiveInput value
makes the loss read, the balanced weight's name and the mask-balancing
value."""
import pytest
import torch
from mmdet.registry import MODELS

import mmrank  # noqa: F401
from mmrank.models.ranking_protocol import (PositiveBoxes, PositiveInput,
                                            RankingLossProtocol)

LOSSES = {
    'APLoss': PositiveInput.NONE,
    'aLRPLoss': PositiveInput.LOC_ERROR,
    'RankSortLoss': PositiveInput.QUALITY,
}


def _batch(shift: float):
    """Logits, targets and positives whose predicted boxes are shifted
    right by ``shift`` (a larger shift: a lower IoU, a larger error)."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(40, generator=gen) * 2
    targets = torch.zeros(40, dtype=torch.long)
    targets[[3, 11, 19, 27]] = 1
    target = torch.tensor([[0., 0., 10., 10.]]).expand(4, 4)
    offsets = torch.tensor([[1., 0., 1., 0.]]) * shift * torch.arange(
        1., 5.)[:, None]
    positives = PositiveBoxes(target + offsets, target.clone(),
                              torch.randn(4, 3, generator=gen))
    return logits, targets, positives


@pytest.mark.parametrize('name,value', sorted(LOSSES.items()))
def test_each_loss_declares_its_positive_input(name, value):
    loss = MODELS.build(dict(type=name))
    assert isinstance(loss, RankingLossProtocol)
    assert loss.positive_input is value


@pytest.mark.parametrize('name', ['aLRPLoss', 'RankSortLoss'])
def test_loss_needing_positives_refuses_to_run_without(name):
    logits, targets, _ = _batch(1.)
    with pytest.raises(ValueError, match='needs the positives'):
        MODELS.build(dict(type=name))(logits, targets)


def test_none_ignores_the_positives():
    logits, targets, positives = _batch(1.)
    loss = MODELS.build(dict(type='APLoss'))
    alone = loss(logits, targets).losses
    with_boxes = loss(logits, targets, _batch(3.)[2]).losses
    assert set(alone) == set(with_boxes) == {'loss_cls'}
    torch.testing.assert_close(alone['loss_cls'], with_boxes['loss_cls'])


def test_loc_error_reads_the_boxes_as_localisation_errors():
    loss = MODELS.build(dict(type='aLRPLoss'))
    logits, targets, close = _batch(0.5)
    far = _batch(2.)[2]
    near_out = loss(logits, targets, close).losses
    far_out = loss(logits, targets, far).losses
    # Worse boxes: a larger localisation error, the same ranking of logits.
    assert far_out['loss_bbox'] > near_out['loss_bbox']
    pred = close.pred.clone().requires_grad_()
    loss(logits, targets, close._replace(pred=pred)).losses[
        'loss_bbox'].backward()
    assert pred.grad is not None and bool(pred.grad.abs().sum() > 0)


def test_quality_reads_the_ious_as_ranking_labels():
    loss = MODELS.build(dict(type='RankSortLoss'))
    logits, targets, close = _batch(0.5)
    far = _batch(2.)[2]
    # The sorting targets are the IoUs: other boxes, another L_sort.
    sort_close = loss(logits, targets, close).losses['loss_sort']
    sort_far = loss(logits, targets, far).losses['loss_sort']
    assert not torch.allclose(sort_close, sort_far)


def test_balanced_weight_name():
    assert MODELS.build(dict(type='aLRPLoss')).balanced_weight_name == \
        'loc_weight'
    for name in ('APLoss', 'RankSortLoss'):
        assert MODELS.build(dict(type=name)).balanced_weight_name is None


def test_mask_balance_value_is_the_classification_loss():
    loss = MODELS.build(dict(type='RankSortLoss'))
    logits, targets, positives = _batch(0.5)
    losses = loss(logits, targets, positives).losses
    torch.testing.assert_close(
        loss.mask_balance_value(losses),
        losses['loss_rank'] + losses['loss_sort'])

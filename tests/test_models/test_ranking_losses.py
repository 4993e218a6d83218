"""Ranking loss modules: core wrapping, localisation error, contracts."""
import pytest
import torch
from mmdet.registry import MODELS

import mmrank  # noqa: F401
from mmrank.core.ranking import alrp_loss, ap_loss


def _random_case(seed: int, num: int = 60, num_pos: int = 6):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(num, generator=gen, dtype=torch.float64) * 2
    targets = torch.zeros(num, dtype=torch.long)
    targets[torch.randperm(num, generator=gen)[:num_pos]] = 1
    targets[torch.randperm(num, generator=gen)[:5]] = -1
    num_pos = int((targets == 1).sum())
    loc_errors = torch.rand(num_pos, generator=gen, dtype=torch.float64)
    return logits, targets, loc_errors


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_alrp_module_matches_core(seed):
    logits, targets, loc_errors = _random_case(seed)
    loss = MODELS.build(dict(type='aLRPLoss', delta=0.5, loss_weight=0.2))
    x1 = logits.clone().requires_grad_()
    e1 = loc_errors.clone().requires_grad_()
    boxes = _boxes_with_errors(e1)
    output = loss(x1, targets, boxes)
    cls1, loc1 = output.losses['loss_cls'], output.losses['loss_bbox'] / 50
    (cls1 + 3 * loc1).backward()
    x2 = logits.clone().requires_grad_()
    e2 = loc_errors.clone().requires_grad_()
    cls2, loc2 = alrp_loss(x2, targets, e2, delta=0.5)
    (0.2 * cls2 + 0.6 * loc2).backward()
    # bbox_overlaps adds eps = 1e-6 to areas: the errors agree to ~1e-6.
    close = dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(cls1, 0.2 * cls2, **close)
    torch.testing.assert_close(loc1, 0.2 * loc2, **close)
    torch.testing.assert_close(x1.grad, x2.grad, **close)
    torch.testing.assert_close(e1.grad, e2.grad, **close)
    torch.testing.assert_close(output.balance_terms,
                               torch.stack([cls2, loc2]).detach().float(),
                               **close)


def test_ap_module_matches_core():
    logits, targets, _ = _random_case(4)
    loss = MODELS.build(dict(type='APLoss', loss_weight=2.0))
    x1 = logits.clone().requires_grad_()
    x2 = logits.clone().requires_grad_()
    output = loss(x1, targets)
    assert set(output.losses) == {'loss_cls'} and output.balance_terms is None
    output.losses['loss_cls'].backward()
    (2.0 * ap_loss(x2, targets, delta=1.0)).backward()
    torch.testing.assert_close(output.losses['loss_cls'],
                               2.0 * ap_loss(logits, targets))
    torch.testing.assert_close(x1.grad, x2.grad)


def _boxes_with_errors(errors):
    """Positives whose 1 - GIoU equals ``errors`` (in [0, 1)): a unit box
    and a box of the same height shifted so that its GIoU = 1 - e."""
    # Unit square [0,1]^2 vs [0, w] x [0, 1] with w = 1 / (1 - e) >= 1:
    # IoU = 1 / w, hull = union, so GIoU = IoU = 1 - e.
    width = 1 / (1 - errors)
    zeros = torch.zeros_like(width)
    pred = torch.stack([zeros, zeros, width, torch.ones_like(width)], 1)
    target = torch.tensor([[0., 0., 1., 1.]],
                          dtype=errors.dtype).expand_as(pred)
    from mmrank.models.losses import PositiveBoxes
    return PositiveBoxes(pred, target, torch.zeros(len(errors), 3,
                                                   dtype=errors.dtype))


def _giou_by_hand(a, b):
    """GIoU of two x1y1x2y2 boxes, written out for the test."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    union = area - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (
        max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union, inter / union - (hull - union) / hull


@pytest.mark.parametrize('loc_error,tau', [('giou', 0.5), ('iou', 0.5),
                                           ('giou', 0.7)])
def test_localisation_errors(loc_error, tau):
    pred = torch.tensor([[0., 0., 2., 2.], [10., 10., 20., 30.],
                         [0., 0., 4., 4.]])
    gt = torch.tensor([[1., 1., 3., 3.], [10., 10., 20., 30.],
                       [5., 5., 6., 6.]])
    loss = MODELS.build(dict(type='aLRPLoss', loc_error=loc_error, tau=tau))
    expected = []
    for a, b in zip(pred.tolist(), gt.tolist()):
        iou, giou = _giou_by_hand(a, b)
        if loc_error == 'giou':
            expected.append((1 - giou) / 2 / (1 - tau))
        else:
            expected.append((1 - iou) / (1 - tau))
    torch.testing.assert_close(
        loss.localisation_errors(pred, gt), torch.tensor(expected))
    # tau = 0.5 with GIoU is E_loc = 1 - GIoU (paper Sec. 4.1).
    if (loc_error, tau) == ('giou', 0.5):
        assert abs(expected[0] - (1 - _giou_by_hand(pred[0].tolist(),
                                                    gt[0].tolist())[1])) < 1e-9
    # Gradient reaches the predicted boxes.
    pred.requires_grad_()
    loss.localisation_errors(pred, gt).sum().backward()
    assert pred.grad.abs().sum() > 0


def test_localisation_errors_empty_and_mismatch():
    loss = MODELS.build(dict(type='aLRPLoss'))
    assert loss.localisation_errors(torch.zeros(0, 4),
                                    torch.zeros(0, 4)).shape == (0, )
    with pytest.raises(ValueError, match='same shape'):
        loss.localisation_errors(torch.zeros(2, 4), torch.zeros(3, 4))


@pytest.mark.parametrize('cfg,match', [
    (dict(type='aLRPLoss', delta=0.0), 'delta'),
    (dict(type='APLoss', delta=-1.0), 'delta'),
    (dict(type='aLRPLoss', use_sigmoid=False), 'use_sigmoid'),
    (dict(type='aLRPLoss', loc_error='l1'), 'loc_error'),
    (dict(type='aLRPLoss', tau=1.0), 'tau'),
])
def test_bad_arguments(cfg, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_custom_cls_channels_contract():
    """mmdet's BBoxHead reads these; multiclass_nms drops the last column."""
    loss = MODELS.build(dict(type='aLRPLoss'))
    assert loss.custom_cls_channels and loss.custom_activation
    assert loss.get_cls_channels(7) == 7
    logits = torch.tensor([[0., 2., -1.], [5., -5., 0.]])
    scores = loss.get_activation(logits)
    assert scores.shape == (2, 4)
    torch.testing.assert_close(scores[:, :3], logits.sigmoid())
    assert torch.all(scores[:, 3] == 0)
    # Predictions: class 1 (logit 2 > 0) and class 0 (logit 5).
    acc = loss.get_accuracy(logits, torch.tensor([1, 2]))
    torch.testing.assert_close(acc['acc'], torch.tensor(50.))
    # All logits <= 0 predicts background (label 3).
    acc = loss.get_accuracy(-logits.abs(), torch.tensor([3, 0]))
    torch.testing.assert_close(acc['acc'], torch.tensor(50.))
    assert loss.get_accuracy(torch.zeros(0, 3),
                             torch.zeros(0, dtype=torch.long))['acc'] == 0


def test_rank_sort_module():
    """IoU targets, score-weighted GIoU, value balancing (RS paper)."""
    from mmrank.core.ranking import rank_sort_loss
    from mmrank.models.losses import PositiveBoxes
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    targets = torch.zeros(5, 3, dtype=torch.int8)
    targets[[0, 2, 3], [1, 0, 2]] = 1
    targets[4] = -1
    target = torch.tensor([[0., 0., 10., 10.]] * 3, dtype=torch.float64)
    # IoU 1, 0.5 (half-width box) and 0 (disjoint: a negative for ranking).
    pred = torch.tensor([[0., 0., 10., 10.], [0., 0., 5., 10.],
                         [20., 20., 30., 30.]],
                        dtype=torch.float64).requires_grad_()
    pos_logits = logits[[0, 2, 3]]
    loss = MODELS.build(dict(type='RankSortLoss', loss_weight=0.2))
    output = loss(logits.flatten(), targets.flatten(),
                  PositiveBoxes(pred, target, pos_logits))
    quality = torch.zeros(15, dtype=torch.float64)
    quality.view(5, 3)[4] = -1
    quality.view(5, 3)[0, 1], quality.view(5, 3)[2, 0] = 1.0, 0.5
    loss_rank, loss_sort = rank_sort_loss(logits.flatten(), quality)
    # Disjoint: IoU 0, hull 30 x 30, union 200.
    giou = torch.tensor([1.0, 0.5, -(900 - 200) / 900], dtype=torch.float64)
    weights = pos_logits.sigmoid().max(dim=1).values
    box = ((1 - giou) * weights).sum() / weights.sum()
    ranking = loss_rank + loss_sort
    assert set(output.losses) == {'loss_rank', 'loss_sort', 'loss_bbox',
                                  'box_weight'}
    close = dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(output.losses['loss_rank'], 0.2 * loss_rank,
                               **close)
    torch.testing.assert_close(output.losses['loss_sort'], 0.2 * loss_sort,
                               **close)
    torch.testing.assert_close(output.losses['box_weight'], ranking / box,
                               **close)
    # The box loss is balanced to the ranking loss's value ...
    torch.testing.assert_close(output.losses['loss_bbox'], 0.2 * ranking,
                               **close)
    # ... with a gradient that flows only through the boxes.
    output.losses['loss_bbox'].backward()
    assert pred.grad.abs().sum() > 0


def test_rank_sort_module_without_positives():
    from mmrank.models.losses import PositiveBoxes
    loss = MODELS.build(dict(type='RankSortLoss'))
    logits = torch.randn(12, requires_grad=True)
    output = loss(logits, torch.zeros(12, dtype=torch.int8),
                  PositiveBoxes(torch.zeros(0, 4), torch.zeros(0, 4),
                                torch.zeros(0, 3)))
    total = sum(v for k, v in output.losses.items() if 'loss' in k)
    total.backward()
    assert total.item() == 0 and torch.count_nonzero(logits.grad) == 0


@pytest.mark.parametrize('loss_type', ['aLRPLoss', 'APLoss', 'RankSortLoss'])
def test_called_like_a_stock_loss_names_the_ranking_heads(loss_type):
    """What a stock head (e.g. RetinaHead) does with its loss_cls."""
    loss = MODELS.build(dict(type=loss_type))
    cls_score, labels = torch.randn(6, 3), torch.zeros(6, dtype=torch.long)
    with pytest.raises(TypeError) as info:
        loss(cls_score, labels, torch.ones(6), avg_factor=2.0)
    message = str(info.value)
    assert loss_type in message and 'avg_factor' in message
    for head in ('RankingRetinaHead', 'RankingFoveaHead', 'RankingRPNHead',
                 'RankingShared2FCBBoxHead'):
        assert head in message
    assert "model.bbox_head.type='RankingRetinaHead'" in message

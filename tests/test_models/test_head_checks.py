"""Misuse of the ranking heads stops with a message naming the fix.

* A class label the classifier has no logit for (``num_classes`` too small
  for the dataset) stops every ranking head, as stock mmdet heads stop;
  ignored objects and priors stay ignored, background is fine.
* A ranking loss in a stock head gives the message naming the ranking heads
  before training, whichever ranking hooks are configured.
"""
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.structures import InstanceData
from torch import nn

from mmrank.engine.hooks import RankingAnalysisHook, SelfBalancingHook
from tests.test_engine.test_self_balancing_hook import FakeRunner
from tests.test_models.ranking_helpers import (ToyRankingHead, build_detector,
                                               demo_batch, load_config)

#: Config, the ranking head that sees the class labels, and its type.
DETECTORS = [
    ('alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py', 'bbox_head',
     'RankingRetinaHead'),
    ('alrp_loss/alrp-loss_fovea_r18_fpn_digits.py', 'bbox_head',
     'RankingFoveaHead'),
    ('rs_loss/rs-loss_atss_r18_fpn_digits.py', 'bbox_head',
     'RankingRetinaHead'),
    ('alrp_loss/alrp-loss_faster-rcnn_r18_fpn_digits.py',
     'roi_head.bbox_head', 'RankingShared2FCBBoxHead'),
]


def _loss(model, data):
    return model.loss(data['inputs'], data['data_samples'])


@pytest.mark.parametrize('name,head,head_type', DETECTORS,
                         ids=[d[0].split('/')[1] for d in DETECTORS])
def test_label_not_below_num_classes_stops(name, head, head_type):
    """Digits (10 classes) with num_classes=5 in the head: label 5 would be
    background, label 7 no positive at all.

    The RoI box head sees the labels of the positive proposals only, so
    every object of an image gets the label (the RPN, initialised with a
    fixed seed, matches some).
    """
    torch.manual_seed(0)
    cfg = load_config(name)
    cfg.model.backbone.init_cfg = None
    owner = cfg.model.roi_head if head.startswith('roi_head') else cfg.model
    owner.bbox_head.num_classes = 5
    model = MODELS.build(cfg.model)
    for label in (5, 7):
        data = demo_batch(model, num_items=[2, 3], num_classes=5)
        data['data_samples'][1].gt_instances.labels[:] = label
        with pytest.raises(ValueError) as info:
            _loss(model, data)
        message = str(info.value)
        assert f'{head_type} got class label {label}' in message
        assert 'num_classes=5' in message
        assert f'model.{head}.num_classes' in message
        assert f'at least {label + 1}' in message
    # Labels below num_classes train.
    losses = _loss(model, demo_batch(model, num_items=[2, 3], num_classes=5))
    assert torch.isfinite(sum(v for k, v in losses.items() if 'loss' in k))


def test_negative_label_stops():
    model = build_detector(DETECTORS[0][0])
    data = demo_batch(model, num_items=[2])
    data['data_samples'][0].gt_instances.labels[0] = -1
    with pytest.raises(ValueError,
                       match=r'RankingRetinaHead got class label -1: class '
                       r'values must be in \[0, num_classes=10\)'):
        _loss(model, data)


def test_ignored_objects_stay_ignored():
    """An ignored object's label is not checked (it trains nothing)."""
    model = build_detector(DETECTORS[0][0])
    data = demo_batch(model, num_items=[2, 1])
    sample = data['data_samples'][0]
    sample.ignored_instances = InstanceData(
        bboxes=sample.gt_instances.bboxes[:1].clone(),
        labels=torch.tensor([99]))
    losses = _loss(model, data)
    assert torch.isfinite(sum(v for k, v in losses.items() if 'loss' in k))


def test_prior_labels_checked_unless_ignored():
    """:meth:`ranking_loss` allows background (num_classes) and ignores the
    labels of priors whose weight is 0."""
    head = ToyRankingHead(num_classes=3)
    feats = torch.randn(6, 8)
    labels = torch.tensor([0, 3, 3, 1, 9, 3])
    weights = torch.tensor([1., 1., 1., 1., 0., 1.])
    pos_inds = torch.tensor([0, 3])
    boxes = torch.tensor([[0., 0., 10., 10.]]).repeat(2, 1)
    losses = head.ranking_loss(
        head.fc_cls(feats), labels, weights, pos_inds, boxes, boxes)
    assert torch.isfinite(losses['loss_cls'])
    with pytest.raises(ValueError,
                       match='ToyRankingHead got class label 9 but has '
                       'num_classes=3'):
        head.ranking_loss(head.fc_cls(feats), labels, None, pos_inds, boxes,
                          boxes)


def _stock_retinanet(loss_type: str) -> nn.Module:
    cfg = load_config('alrp_loss/alrp-loss_retinanet_r18_fpn_digits.py')
    cfg.model.backbone.init_cfg = None
    cfg.model.bbox_head.type = 'RetinaHead'
    cfg.model.bbox_head.loss_cls = dict(type=loss_type, use_sigmoid=True)
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('loss_type', ['aLRPLoss', 'APLoss', 'RankSortLoss'])
@pytest.mark.parametrize('hook_type',
                         [SelfBalancingHook, RankingAnalysisHook])
def test_ranking_loss_in_stock_head_named_first(loss_type, hook_type):
    """The hooks, which run before the first loss, give the loss's own
    message (the ranking heads), not 'found no head'."""
    model = _stock_retinanet(loss_type)
    with pytest.raises(TypeError) as info:
        hook_type().before_train(FakeRunner(model))
    message = str(info.value)
    assert message.startswith(f'{loss_type} is a batch-wide ranking loss')
    assert 'found in RetinaHead bbox_head.loss_cls' in message
    assert "model.bbox_head.type='RankingRetinaHead'" in message
    assert 'found no head' not in message


def test_ranking_loss_in_stock_head_without_hooks():
    """Without the hooks the first loss gives the same advice."""
    model = _stock_retinanet('aLRPLoss')
    data = demo_batch(model, num_items=[2])
    with pytest.raises(TypeError,
                       match="aLRPLoss is a batch-wide ranking loss.*"
                       "model.bbox_head.type='RankingRetinaHead'"):
        _loss(model, data)

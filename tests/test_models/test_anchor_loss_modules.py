"""Registered Anchor Loss modules inside mmpretrain and mmpose heads."""
import pytest
import torch
import torch.nn.functional as F

from mmrank.core.anchor_loss import anchor_heatmap_loss, anchor_loss
from mmrank.models.losses import AnchorHeatmapLoss, AnchorLoss


def cls_batch(num_classes=5, batch=6, seed=0, device='cpu'):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, num_classes, generator=gen) * 3
    labels = torch.randint(num_classes, (batch, ), generator=gen)
    return logits.to(device), labels.to(device)


def test_anchor_loss_module_matches_core(device):
    logits, labels = cls_batch(device=device)
    module = AnchorLoss(gamma=1.0, variant='both', loss_weight=2.0)
    torch.testing.assert_close(
        module(logits, labels, avg_factor=4),
        2.0 * anchor_loss(logits, labels, gamma=1.0, variant='both',
                          avg_factor=4))
    weight = torch.rand(6).to(device)
    torch.testing.assert_close(
        module(logits, labels, weight=weight, reduction_override='none'),
        2.0 * anchor_loss(logits, labels, gamma=1.0, variant='both',
                          weight=weight, reduction='none'))


def test_anchor_loss_warmup_switch(device):
    logits, labels = cls_batch(device=device)
    module = AnchorLoss(gamma=0.5, warmup_epochs=2)
    with pytest.raises(RuntimeError, match='LossWarmupHook'):
        module(logits, labels)
    for epoch in (0, 1):
        module.set_epoch(epoch)
        assert module.in_warmup
        torch.testing.assert_close(
            module(logits, labels, avg_factor=6),
            F.cross_entropy(logits, labels))
        torch.testing.assert_close(
            module(logits, F.one_hot(labels, 5), avg_factor=6),
            F.cross_entropy(logits, labels))
    module.set_epoch(2)
    assert not module.in_warmup
    torch.testing.assert_close(
        module(logits, labels, avg_factor=6),
        anchor_loss(logits, labels, gamma=0.5))
    assert not AnchorLoss(warmup_epochs=0).in_warmup


@pytest.mark.parametrize('kwargs, message', [
    (dict(gamma=-1), 'gamma'),
    (dict(margin=-0.1), 'margin'),
    (dict(variant='neg'), 'variant'),
    (dict(anchor=-0.1), 'anchor'),
    (dict(warmup_epochs=-1), 'warmup_epochs'),
    (dict(warmup_epochs=1.5), 'warmup_epochs'),
    (dict(reduction='avg'), 'reduction'),
])
def test_anchor_loss_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AnchorLoss(**kwargs)


def test_linear_cls_head_with_anchor_loss(device):
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    head = MODELS.build(
        dict(
            type='LinearClsHead',
            num_classes=5,
            in_channels=8,
            loss=dict(type='AnchorLoss', gamma=0.5))).to(device)
    assert isinstance(head.loss_module, AnchorLoss)
    feats = (torch.randn(6, 8).to(device), )
    _, labels = cls_batch(device=device)
    samples = [DataSample().set_gt_label(int(t)).to(device) for t in labels]
    losses = head.loss(feats, samples)
    expected = anchor_loss(head(feats), labels, gamma=0.5)
    torch.testing.assert_close(losses['loss'], expected)
    losses['loss'].backward()
    assert head.fc.weight.grad.abs().sum() > 0
    # One-hot gt_score (the batch-augmentation format) is accepted too.
    for sample, t in zip(samples, labels):
        sample.set_gt_score(F.one_hot(t, 5).float())
    torch.testing.assert_close(head.loss(feats, samples)['loss'], expected)


def heatmap_batch(seed=0, device='cpu'):
    gen = torch.Generator().manual_seed(seed)
    output = torch.randn(2, 3, 8, 6, generator=gen)
    target = torch.zeros(2, 3, 8, 6)
    target[:, :, 3:6, 2:5] = 0.4
    target[:, :, 4, 3] = 1.
    weights = torch.tensor([[1., 0., 1.], [0.5, 1., 1.]])
    return output.to(device), target.to(device), weights.to(device)


def test_anchor_heatmap_loss_module(device):
    output, target, weights = heatmap_batch(device=device)
    module = AnchorHeatmapLoss(gamma=2., use_target_weight=True,
                               loss_weight=3.)
    torch.testing.assert_close(
        module(output, target, weights),
        3. * anchor_heatmap_loss(output, target, 2., weights))
    mask = torch.ones(2, 1, 8, 6, device=device)
    mask[..., :2] = 0
    torch.testing.assert_close(
        module(output, target, weights, mask),
        3. * anchor_heatmap_loss(output, target, 2., weights, mask))
    unweighted = AnchorHeatmapLoss(gamma=2.)
    torch.testing.assert_close(
        unweighted(output, target, weights),
        anchor_heatmap_loss(output, target, 2.))
    with pytest.raises(ValueError, match='gamma'):
        AnchorHeatmapLoss(gamma=-2.)


def test_heatmap_head_with_anchor_heatmap_loss(device):
    from mmpose.registry import MODELS
    from mmpose.testing import get_packed_inputs
    head = MODELS.build(
        dict(
            type='HeatmapHead',
            in_channels=8,
            out_channels=17,
            deconv_out_channels=None,
            loss=dict(type='AnchorHeatmapLoss',
                      use_target_weight=True))).to(device)
    assert isinstance(head.loss_module, AnchorHeatmapLoss)
    samples = [
        s.to(device) for s in get_packed_inputs(
            batch_size=2, with_heatmap=True,
            heatmap_size=(16, 16))['data_samples']
    ]
    feats = (torch.randn(2, 8, 16, 16).to(device), )
    losses = head.loss(feats, samples)
    target = torch.stack([s.gt_fields.heatmaps for s in samples])
    weights = torch.cat(
        [s.gt_instance_labels.keypoint_weights for s in samples])
    expected = anchor_heatmap_loss(head.forward(feats), target, 2., weights)
    torch.testing.assert_close(losses['loss_kpt'], expected)
    losses['loss_kpt'].backward()
    assert head.final_layer.weight.grad.abs().sum() > 0

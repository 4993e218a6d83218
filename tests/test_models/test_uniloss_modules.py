"""Registered UniLoss modules inside mmpretrain and mmpose heads."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmrank.core.uniloss import (AnchorConfig, uniloss_accuracy,
                                 uniloss_average_precision, uniloss_pckh)
from mmrank.models.losses import (UniLossAccuracy, UniLossBinaryAP,
                                  UniLossPCKh)


def cls_batch(num_classes=5, batch=8, seed=0, device='cpu'):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, num_classes, generator=gen) * 3
    labels = torch.randint(num_classes, (batch, ), generator=gen)
    return logits.to(device), labels.to(device)


def seeded(fn, seed=5):
    torch.manual_seed(seed)
    return fn()


def cls_head(num_classes, in_channels, loss, device='cpu'):
    """mmpretrain's LinearClsHead with the given loss config."""
    from mmpretrain.registry import MODELS
    return MODELS.build(
        dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=in_channels,
            loss=loss)).to(device)


def test_linear_cls_head_with_uniloss_accuracy(device):
    from mmpretrain.structures import DataSample
    head = cls_head(
        5, 8, dict(type='UniLossAccuracy', num_good=4, loss_weight=2.0),
        device)
    assert isinstance(head.loss_module, UniLossAccuracy)
    feats = (torch.randn(8, 8).to(device), )
    _, labels = cls_batch(device=device)
    samples = [DataSample().set_gt_label(int(t)).to(device) for t in labels]
    loss = seeded(lambda: head.loss(feats, samples)['loss'])
    cfg = AnchorConfig(num_good=4)
    expected = seeded(
        lambda: 2.0 * uniloss_accuracy(head(feats), labels, cfg=cfg))
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert head.fc.weight.grad.abs().sum() > 0
    # one-hot gt_score (the batch-augmentation format) is accepted
    for sample, t in zip(samples, labels):
        sample.set_gt_score(F.one_hot(t, 5).float())
    torch.testing.assert_close(
        seeded(lambda: head.loss(feats, samples)['loss']), expected)


def test_uniloss_accuracy_rejects_soft_labels_and_weights():
    logits, labels = cls_batch()
    module = UniLossAccuracy()
    soft = F.one_hot(labels, 5).float() * 0.9 + 0.02
    with pytest.raises(ValueError, match='one-hot'):
        module(logits, soft)
    with pytest.raises(ValueError, match='weight'):
        module(logits, labels, weight=torch.ones(8))


def test_uniloss_binary_ap_score_layouts(device):
    logits, _ = cls_batch(num_classes=2, batch=10, device=device)
    labels = torch.tensor([1, 0, 0, 1, 0, 0, 0, 1, 0, 0], device=device)
    module = UniLossBinaryAP(num_random=5)
    cfg = AnchorConfig(num_random=5)
    two = seeded(lambda: module(logits, labels))
    torch.testing.assert_close(
        two,
        seeded(lambda: uniloss_average_precision(
            logits[:, 1] - logits[:, 0], labels, cfg)))
    one = seeded(lambda: module(logits[:, 1:], F.one_hot(labels, 2)))
    torch.testing.assert_close(
        one,
        seeded(lambda: uniloss_average_precision(logits[:, 1], labels,
                                                 cfg)))
    with pytest.raises(ValueError, match='cls_score'):
        module(torch.randn(10, 3, device=device), labels)
    squashed = UniLossBinaryAP(num_random=5, squash_scores=True)
    torch.testing.assert_close(
        seeded(lambda: squashed(logits, labels)),
        seeded(lambda: uniloss_average_precision(
            (logits[:, 1] - logits[:, 0]).sigmoid(), labels, cfg)))


def test_uniloss_binary_ap_without_positives_in_head(device):
    from mmpretrain.structures import DataSample
    head = cls_head(2, 4, dict(type='UniLossBinaryAP'), device)
    samples = [DataSample().set_gt_label(0).to(device) for _ in range(6)]
    loss = head.loss((torch.randn(6, 4).to(device), ), samples)['loss']
    loss.backward()
    assert loss.item() == 0
    assert torch.all(head.fc.weight.grad == 0)


def codec_targets(keypoints, sigma, heatmap_size=(24, 20)):
    """Targets of mmpose's MSRAHeatmap codec for ``(K, 2)`` keypoints."""
    from mmpose.codecs import MSRAHeatmap
    codec = MSRAHeatmap(
        input_size=(heatmap_size[0] * 4, heatmap_size[1] * 4),
        heatmap_size=heatmap_size,
        sigma=sigma)
    encoded = codec.encode(keypoints[None] * 4,
                           torch.ones(1, len(keypoints)).numpy())
    return torch.from_numpy(encoded['heatmaps'])


@pytest.mark.parametrize('sigma, radius', [(2.0, 3.0), (1.0, 2.0),
                                           (2.0, 1.5)])
def test_positives_read_off_codec_targets_are_the_disc(sigma, radius):
    keypoints = torch.tensor([[5., 7.], [12., 10.], [18., 3.]]).numpy()
    target = codec_targets(keypoints, sigma)
    module = UniLossPCKh(sigma=sigma, radius=radius)
    positive = target >= module.threshold
    ys, xs = torch.meshgrid(
        torch.arange(20), torch.arange(24), indexing='ij')
    for k, (x, y) in enumerate(keypoints):
        disc = (xs - x)**2 + (ys - y)**2 <= radius**2
        assert torch.equal(positive[k], disc), k
    assert math.isclose(module.threshold,
                        math.exp(-radius**2 / (2 * sigma**2)) * (1 - 1e-4))


def test_uniloss_pckh_module_matches_core_and_weights(device):
    keypoints = torch.tensor([[5., 7.], [12., 10.]]).numpy()
    target = codec_targets(keypoints, 2.0)[None].repeat(2, 1, 1, 1)
    target = target.to(device)
    output = torch.rand(2, 2, 20, 24).to(device).requires_grad_()
    weights = torch.tensor([[1., 0.], [1., 1.]], device=device)
    module = UniLossPCKh(sigma=2.0, radius=3.0, num_random=3)
    loss = seeded(lambda: module(output, target, weights))
    positive = target >= module.threshold
    torch.testing.assert_close(
        loss,
        seeded(lambda: uniloss_pckh(output, positive, weights > 0, None,
                                    AnchorConfig(num_random=3))))
    loss.backward()
    assert output.grad[0, 1].abs().sum() == 0  # zero target weight
    assert output.grad[0, 0].abs().sum() > 0
    with pytest.raises(ValueError, match='target shape'):
        module(output, target[:, :1])
    with pytest.raises(ValueError, match='radius'):
        UniLossPCKh(radius=0)


def test_heatmap_head_with_uniloss_pckh(device):
    from mmpose.registry import MODELS
    from mmpose.testing import get_packed_inputs
    head = MODELS.build(
        dict(
            type='HeatmapHead',
            in_channels=8,
            out_channels=17,
            deconv_out_channels=None,
            loss=dict(type='UniLossPCKh', sigma=2.0,
                      radius=2.0))).to(device)
    assert isinstance(head.loss_module, UniLossPCKh)
    samples = [
        s.to(device) for s in get_packed_inputs(
            batch_size=2, with_heatmap=True,
            heatmap_size=(16, 16))['data_samples']
    ]
    feats = (torch.randn(2, 8, 16, 16).to(device), )
    losses = head.loss(feats, samples)
    assert 0 <= losses['loss_kpt'].item() <= 1
    losses['loss_kpt'].backward()
    assert head.final_layer.weight.grad.abs().sum() > 0

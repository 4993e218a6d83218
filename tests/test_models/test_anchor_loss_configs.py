"""Every Anchor Loss config parses and builds its loss; representative
configs build their whole model and run one loss step."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmrank.models.losses import AnchorHeatmapLoss, AnchorLoss
from tests.conftest import repo_path

CONFIG_DIR = repo_path('configs', 'anchor_loss')
CONFIGS = sorted(
    glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True))


def registry(cfg):
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmpose':
        from mmpose.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    return MODELS


def test_configs_found():
    assert len(CONFIGS) >= 30


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_parses_and_builds_loss(path):
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    assert cfg.custom_imports.imports == ['mmrank']
    loss = registry(cfg).build(cfg.model.head.loss)
    if 'anchor' in name:
        assert isinstance(loss, AnchorHeatmapLoss if cfg.default_scope
                          == 'mmpose' else AnchorLoss)
        if cfg.default_scope == 'mmpose':
            assert cfg.model.head.decoder.type == 'SigmoidMSRAHeatmap'
    if 'warmup' in name:
        assert loss.warmup_epochs > 0
        assert {'type': 'LossWarmupHook'} in cfg.custom_hooks
    if 'resnet110' in name:
        assert cfg.model.backbone == dict(type='CifarResNet', depth=110)
        assert cfg.param_scheduler.milestones == [160, 180]
        assert cfg.train_cfg.max_epochs == 200


@pytest.mark.parametrize('name, shape', [
    ('resnet110_1xb128-200e_cifar100_anchor-g0.5-warmup5.py', (3, 32, 32)),
    ('tiny/resnet20_cifar10-npz-1k_focal-g2.py', (3, 32, 32)),
    ('tiny/mlp_1xb16-5e_mnist5k_anchor-g0.5.py', (1, 28, 28)),
])
def test_classifier_loss_step(name, shape):
    """One loss evaluation and backward pass on a random batch."""
    from mmpretrain.structures import DataSample
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    model = registry(cfg).build(cfg.model)
    if isinstance(model.head.loss_module, AnchorLoss):
        model.head.loss_module.set_epoch(100)
    num_classes = cfg.model.head.num_classes
    samples = [DataSample().set_gt_label(i * 7 % num_classes)
               for i in range(2)]
    losses = model.loss(torch.randn(2, *shape), samples)
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()


@pytest.mark.parametrize('name', [
    'resnet50_8xb32_in1k_anchor-g0.5.py',
    'td-hm_hourglass52-2stack_8xb64-210e_mpii-256x256_anchor-g2.py',
])
def test_large_models_build(name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    model = registry(cfg).build(cfg.model)
    if 'hourglass' in name:
        assert model.backbone.num_stacks == 2
        assert model.head.num_stages == 2
        assert isinstance(model.head.loss_module, AnchorHeatmapLoss)
    else:
        assert model.backbone.depth == 50
        assert isinstance(model.head.loss_module, AnchorLoss)

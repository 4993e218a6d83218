"""UniLoss configs parse and build; the three losses train on real data."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

from mmrank.models.losses import (UniLossAccuracy, UniLossBinaryAP,
                                  UniLossPCKh)
from tests.conftest import repo_path, shared_data
from tests.test_core.test_uniloss import ordinary_ap

CONFIGS = sorted(
    glob.glob(repo_path('configs', 'uniloss', '**', '*.py'), recursive=True))
TINY = {
    'ap': 'tiny/mlp_1xb16-5e_mnist5k-0-vs-rest_uniloss-ap.py',
    'accuracy': 'tiny/resnet20_1xb64-15e_cifar10-npz-2k_uniloss.py',
    'pckh': 'tiny/td-hm_mobilenetv2-0.5_coco-mini-128x96_uniloss-pckh.py',
}


def registries(cfg):
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmpose':
        from mmpose.registry import DATASETS, MODELS
    else:
        from mmpretrain.registry import DATASETS, MODELS
    return MODELS, DATASETS


def expected_loss_type(name):
    for key, loss in (('uniloss-ap', UniLossBinaryAP),
                      ('uniloss-pckh', UniLossPCKh), ('uniloss',
                                                      UniLossAccuracy)):
        if key in name:
            return loss
    return torch.nn.Module


def test_configs_found():
    assert len(CONFIGS) >= 18


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmrank']
    models, _ = registries(cfg)
    model = models.build(cfg.model)
    assert isinstance(model.head.loss_module,
                      expected_loss_type(osp.basename(path)))
    if 'uniloss-pckh' in path:  # mmpose's decoder drops maxima <= 0
        assert cfg.model.head.decoder.type == 'RankingMSRAHeatmap'


@pytest.mark.parametrize(
    'path', [p for p in CONFIGS if 'td-hm' not in p], ids=osp.basename)
def test_classification_config_loss_step(path):
    """One loss evaluation and backward pass on a random batch."""
    from mmpretrain.structures import DataSample
    cfg = Config.fromfile(path)
    models, _ = registries(cfg)
    model = models.build(cfg.model)
    num_classes = cfg.model.head.num_classes
    shape = (1, 28, 28) if 'mnist' in path else (3, 32, 32)
    samples = [DataSample().set_gt_label(i % num_classes) for i in range(8)]
    losses = model.loss(torch.randn(8, *shape), samples)
    assert 0 <= losses['loss'].item() <= 1 or 'ce' in path
    losses['loss'].backward()
    assert model.head.fc.weight.grad.abs().sum() > 0


def real_batch(name, indices):
    """A fixed batch of the tiny config's training data and its model."""
    cfg = Config.fromfile(repo_path('configs', 'uniloss', TINY[name]))
    if name == 'accuracy':
        shared_data('cifar10', 'cifar10_jpeg.npz')
    elif name == 'pckh':
        shared_data('coco_mini', 'annotations')
    models, datasets = registries(cfg)
    set_random_seed(0)  # the pose pipeline's augmentations draw from numpy
    model = models.build(cfg.model)
    dataset = datasets.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in indices])
    return model, model.data_preprocessor(batch, True)


def train_steps(model, data, steps, lr):
    """Adam steps on one fixed batch; the total loss of each step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        total, _ = model.parse_losses(
            model.loss(data['inputs'], data['data_samples']))
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        losses.append(total.item())
    assert all(0 <= v <= 1 for v in losses), losses
    return losses


@pytest.mark.parametrize('name, indices, steps, lr', [
    ('accuracy', range(0, 2000, 250), 10, 1e-3),
    ('pckh', range(4), 8, 2e-5),
])
def test_tiny_config_trains_on_real_data(name, indices, steps, lr):
    model, data = real_batch(name, indices)
    losses = train_steps(model, data, steps, lr)
    assert sum(losses[-3:]) < sum(losses[:3]) - 0.05, losses


def test_tiny_ap_config_learns_digit_zero_in_one_epoch(tmp_path):
    """One epoch of the tiny UniLoss-AP config (250 iterations on 4,000
    real digits) lifts the test AP of digit 0 from chance (0.1) to > 0.9
    (0.96 for seeds 0-2 when written). On one fixed batch, by contrast, the
    anchors drawn decide whether the batch AP rises or the ranking
    saturates in the configuration it started from: that check was seed
    luck and is not made."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(repo_path('configs', 'uniloss', TINY['ap']))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    model = runner.model

    def test_ap():
        scores, labels = [], []
        with torch.no_grad():
            for data in runner.build_dataloader(cfg.test_dataloader):
                data = model.data_preprocessor(data, False)
                logits = model.head(model.extract_feat(data['inputs']))
                scores.append(logits[:, 1] - logits[:, 0])
                labels += [s.gt_label for s in data['data_samples']]
        return ordinary_ap(torch.cat(scores), torch.cat(labels).bool())

    assert test_ap() < 0.5
    runner.train()
    assert test_ap() > 0.9

"""CE warm-up of Anchor Loss driven by LossWarmupHook, with resume.

Short real trainings (ResNet-20, 10 real CIFAR-10 images, one iteration per
epoch) with mmengine's Runner: three epochs with a two-epoch warm-up, then
resumed runs from its checkpoints.
"""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmrank.engine.hooks import LossWarmupHook
from mmrank.models.losses import AnchorLoss
from tests.conftest import repo_path, shared_data

CONFIG = ('configs/anchor_loss/tiny/'
          'resnet20_cifar10-npz-1k_anchor-g0.5-warmup1.py')


class PhaseRecorder(Hook):
    """Record ``(epoch, in_warmup, loss)`` after every training iteration."""

    priority = 'LOWEST'

    def __init__(self):
        self.records = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        loss_module = runner.model.head.loss_module
        self.records.append((runner.epoch, loss_module.in_warmup,
                             float(outputs['loss'].detach())))


def tiny_cfg(work_dir, max_epochs, warmup_epochs=2, **overrides):
    shared_data('cifar10', 'cifar10_jpeg.npz')
    cfg = Config.fromfile(repo_path(CONFIG))
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.batch_size = 10
    cfg.train_dataloader.dataset.num_per_class = 1
    cfg.train_dataloader.dataset.data_root = str(
        shared_data('cifar10'))
    cfg.model.head.loss.warmup_epochs = warmup_epochs
    cfg.train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'WARNING'
    cfg.merge_from_dict(overrides)
    return cfg


def train(cfg):
    runner = Runner.from_cfg(cfg)
    recorder = PhaseRecorder()
    runner.register_hook(recorder)
    runner.train()
    return recorder.records


def phases(records):
    """Map epoch -> in_warmup (checking it is constant within an epoch)."""
    out = {}
    for epoch, warm, loss in records:
        assert out.setdefault(epoch, warm) == warm
        assert loss == loss and loss < 1e3  # finite, no NaN
    return out


@pytest.fixture(scope='module')
def first_run(tmp_path_factory):
    """Three epochs, warm-up of two; returns (records, work_dir)."""
    work_dir = tmp_path_factory.mktemp('warmup_run')
    return train(tiny_cfg(work_dir, max_epochs=3)), work_dir


def test_warmup_switches_at_the_right_epoch(first_run):
    records, _ = first_run
    assert len(records) == 3
    assert phases(records) == {0: True, 1: True, 2: False}


@pytest.mark.parametrize('resume_epoch, expected', [
    (1, {1: True, 2: False}),
    (2, {2: False}),
])
def test_warmup_phase_is_right_after_resume(first_run, tmp_path,
                                            resume_epoch, expected):
    checkpoint = osp.join(first_run[1], f'epoch_{resume_epoch}.pth')
    assert osp.isfile(checkpoint)
    cfg = tiny_cfg(tmp_path, max_epochs=3, resume=True, load_from=checkpoint)
    assert phases(train(cfg)) == expected


def test_hook_sets_epoch_on_wrapped_and_plain_models():
    from mmpretrain.registry import HOOKS, MODELS
    assert HOOKS.get('LossWarmupHook') is LossWarmupHook
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='CifarResNet', depth=20),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=10,
                in_channels=64,
                loss=dict(type='AnchorLoss', warmup_epochs=3))))

    class FakeRunner:
        epoch = 3

    FakeRunner.model = model
    hook = LossWarmupHook()
    hook.before_train(FakeRunner)
    hook.before_train_epoch(FakeRunner)
    assert isinstance(model.head.loss_module, AnchorLoss)
    assert model.head.loss_module.epoch == 3
    assert not model.head.loss_module.in_warmup


def test_hook_without_epoch_aware_loss_raises(tmp_path):
    cfg = tiny_cfg(tmp_path, max_epochs=1)
    cfg.model.head.loss = dict(type='CrossEntropyLoss')
    with pytest.raises(RuntimeError, match='set_epoch'):
        Runner.from_cfg(cfg).train()

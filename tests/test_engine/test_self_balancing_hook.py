"""SelfBalancingHook: weight rule, intervals, 2-process gloo, resume."""
import os.path as osp
import re
import socket
import sys

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, Runner
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from mmrank.engine.hooks import SelfBalancingHook
from tests.conftest import repo_path
from tests.test_models.ranking_helpers import ToyRankingHead


class FakeRunner:
    """What the hook reads from a runner."""

    def __init__(self, model: nn.Module, loop_type=EpochBasedTrainLoop,
                 dataloader_length: int = 5):
        self.model = model
        self.train_loop = loop_type.__new__(loop_type)
        self.train_dataloader = range(dataloader_length)
        self.message_hub = MessageHub.get_instance('sb_hook_test')
        self.iter = 0


def weight(head) -> float:
    """The head's self-balancing weight w_r."""
    return float(head.loss_cls.loc_weight)


def _run_iters(hook, runner, head, components):
    for cls_loc in components:
        head.feed_balance_terms(torch.tensor(cls_loc))
        hook.after_train_iter(runner, runner.iter)
        runner.iter += 1


def test_weight_after_epoch():
    head = ToyRankingHead()
    runner = FakeRunner(nn.ModuleDict(dict(head=head)))
    hook = SelfBalancingHook()
    hook.before_train(runner)
    _run_iters(hook, runner, head, [(0.6, 0.02), (0.4, 0.03)])
    assert weight(head) == 50.0  # initial weight until epoch end
    assert runner.message_hub.get_scalar(
        'train/head.loc_weight').current() == 50.0
    hook.after_train_epoch(runner)
    # mean(L_cls + L_loc) / mean(L_loc) = (1.0 + 0.05) / 0.05
    assert weight(head) == pytest.approx(21.0)
    # A period without localisation loss (no positives) keeps the weight.
    _run_iters(hook, runner, head, [(0.0, 0.0)])
    hook.after_train_epoch(runner)
    assert weight(head) == pytest.approx(21.0)
    # So does a period in which the head computed no loss at all.
    hook.after_train_epoch(runner)
    assert weight(head) == pytest.approx(21.0)


def test_weight_from_ranking_loss():
    """The components come from the head's real aLRP Loss."""
    torch.manual_seed(0)
    head = ToyRankingHead()
    runner = FakeRunner(nn.ModuleDict(dict(head=head)))
    hook = SelfBalancingHook()
    hook.before_train(runner)
    labels = torch.tensor([0, 3, 3, 1, 3, 2, 3, 3])
    boxes = torch.tensor([[0., 0., 10., 10.]]).repeat(8, 1)
    losses = head.loss(torch.randn(8, 8), labels, boxes)
    terms = head.pop_balance_terms()
    loss_cls, loss_loc = terms.tolist()
    torch.testing.assert_close(losses['loss_bbox'],
                               50 * torch.tensor(loss_loc))
    head.feed_balance_terms(terms)
    hook.after_train_iter(runner, 0)
    assert head.pop_balance_terms() is None  # popped by the hook
    hook.after_train_epoch(runner)
    assert weight(head) == pytest.approx(
        (loss_cls + loss_loc) / loss_loc, rel=1e-6)


def test_iteration_interval():
    head = ToyRankingHead()
    runner = FakeRunner(nn.ModuleDict(dict(head=head)), IterBasedTrainLoop)
    hook = SelfBalancingHook(interval=2)
    hook.before_train(runner)
    _run_iters(hook, runner, head, [(0.3, 0.1)])
    assert weight(head) == 50.0
    _run_iters(hook, runner, head, [(0.5, 0.1)])
    assert weight(head) == pytest.approx(5.0)


def test_iteration_loop_updates_once_per_pass_over_the_data():
    head = ToyRankingHead()
    runner = FakeRunner(
        nn.ModuleDict(dict(head=head)), IterBasedTrainLoop,
        dataloader_length=3)
    hook = SelfBalancingHook()
    hook.before_train(runner)
    _run_iters(hook, runner, head, [(0.3, 0.1), (0.5, 0.1)])
    assert weight(head) == 50.0
    _run_iters(hook, runner, head, [(0.4, 0.1)])
    # (1.2 + 0.3) / 0.3 after len(train_dataloader) = 3 iterations.
    assert weight(head) == pytest.approx(5.0)


def test_large_jump_is_logged(monkeypatch):
    from mmrank.engine.hooks import self_balancing_hook
    logged = []
    monkeypatch.setattr(self_balancing_hook, 'print_log',
                        lambda msg, logger, level=20: logged.append(
                            (level, msg)))
    head = ToyRankingHead()
    runner = FakeRunner(nn.ModuleDict(dict(head=head)), IterBasedTrainLoop,
                        dataloader_length=2)
    hook = SelfBalancingHook()
    hook.before_train(runner)
    _run_iters(hook, runner, head, [(0.9, 3.5e-4), (0.9, 3.5e-4)])
    assert weight(head) == pytest.approx((0.9 + 3.5e-4) / 3.5e-4)
    warning = [msg for level, msg in logged if level == 30]
    assert len(warning) == 1 and 'changed from 50 to 2572' in warning[0]
    assert 'mean L_cls = 0.9' in warning[0] and \
        'mean L_loc = 0.00035' in warning[0] and 'interval' in warning[0]
    # A moderate change is not a warning.
    _run_iters(hook, runner, head, [(0.9, 1e-3), (0.9, 1e-3)])
    assert len([msg for level, msg in logged if level == 30]) == 1


def test_two_stage_heads_balanced_separately():
    rpn, roi = ToyRankingHead(), ToyRankingHead()
    runner = FakeRunner(nn.ModuleDict(dict(rpn_head=rpn, roi_head=roi)))
    hook = SelfBalancingHook()
    hook.before_train(runner)
    rpn.feed_balance_terms(torch.tensor([0.9, 0.1]))
    roi.feed_balance_terms(torch.tensor([0.3, 0.1]))
    hook.after_train_iter(runner, 0)
    hook.after_train_epoch(runner)
    assert weight(rpn) == pytest.approx(10.0)
    assert weight(roi) == pytest.approx(4.0)


def test_configuration_errors():
    with pytest.raises(ValueError, match='interval'):
        SelfBalancingHook(interval=0)
    with pytest.raises(ValueError, match='no head'):
        SelfBalancingHook().before_train(FakeRunner(nn.Linear(2, 2)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _gloo_worker(rank: int, port: int, out_dir: str) -> None:
    torch_dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=2)
    try:
        head = ToyRankingHead()
        runner = FakeRunner(nn.ModuleDict(dict(head=head)))
        hook = SelfBalancingHook()
        hook.before_train(runner)
        _run_iters(hook, runner, head,
                   [(0.1 * (rank + 1) * (it + 1), 0.01 * (rank + 2))
                    for it in range(3)])
        hook.after_train_epoch(runner)
        with open(osp.join(out_dir, f'{rank}.txt'), 'w') as f:
            f.write(repr(weight(head)))
    finally:
        torch_dist.destroy_process_group()


def test_two_gloo_processes_agree(tmp_path):
    mp.spawn(_gloo_worker, args=(_free_port(), str(tmp_path)), nprocs=2)
    weights = [float((tmp_path / f'{r}.txt').read_text()) for r in (0, 1)]
    # Sums over both ranks: L_cls 0.1 * (1 + 2) * (1 + 2 + 3) = 1.8,
    # L_loc 3 * (0.02 + 0.03) = 0.15; per rank it would be 11 and 14.33.
    assert weights[0] == weights[1] == pytest.approx((1.8 + 0.15) / 0.15)


class ToyDetector(BaseModel):
    """A BaseModel around :class:`ToyRankingHead` for a real Runner."""

    def __init__(self):
        super().__init__()
        self.head = ToyRankingHead()

    def forward(self, feats, labels, boxes, mode='loss'):
        return self.head.loss(feats[0], labels[0], boxes[0])


class ToyDataset(torch.utils.data.Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, index):
        gen = torch.Generator().manual_seed(index)
        labels = torch.randint(0, 6, (16, ), generator=gen).clamp(max=3)
        boxes = torch.rand(16, 2, generator=gen) * 50
        return dict(
            feats=torch.randn(16, 8, generator=gen),
            labels=labels,
            boxes=torch.cat([boxes, boxes + 20], dim=1))


class RecordWeightHook(Hook):
    """Record the weight at the start of each epoch."""

    def __init__(self):
        self.weights = []

    def before_train_epoch(self, runner):
        self.weights.append(weight(runner.model.head))


def _runner(work_dir, max_epochs, **kwargs):
    return Runner(
        model=ToyDetector(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=1,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        **kwargs)


def test_resume_restores_weight(tmp_path):
    record = RecordWeightHook()
    runner = _runner(
        str(tmp_path), 2, custom_hooks=[SelfBalancingHook(), record])
    runner.train()
    assert record.weights[0] == 50.0 and record.weights[1] != 50.0
    # mmengine's loader, which mmrank keeps weights-only.
    checkpoint = _load_checkpoint(osp.join(str(tmp_path), 'epoch_1.pth'))
    assert float(checkpoint['state_dict']['head.loss_cls.loc_weight']) == \
        pytest.approx(record.weights[1])

    resumed = RecordWeightHook()
    runner = _runner(
        str(tmp_path / 'resumed'),
        2,
        custom_hooks=[SelfBalancingHook(), resumed],
        load_from=osp.join(str(tmp_path), 'epoch_1.pth'),
        resume=True)
    runner.train()
    assert resumed.weights == [pytest.approx(record.weights[1])]


def test_runs_on_an_iteration_based_schedule(tmp_path, tiny_digits):
    """The aLRP digits detector on the iteration-based loop of mmdet's
    retinanet_r50_fpn_90k_coco.py, with SelfBalancingHook() as shipped:
    it updates once per pass over the 16 training canvases (2 batches)."""
    from tests.test_tools.test_train_test_tools import data_options, run
    config = tmp_path / 'alrp_iter.py'
    base = repo_path('configs', 'alrp_loss',
                     'alrp-loss_retinanet_r18_fpn_digits.py')
    config.write_text(
        f"_base_ = {base!r}\n"
        "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', "
        "max_iters=4, val_interval=4)\n"
        "train_dataloader = dict(sampler=dict(type='InfiniteSampler'))\n"
        "param_scheduler = [dict(type='LinearLR', start_factor=0.1, "
        "by_epoch=False, begin=0, end=2)]\n"
        "default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4))\n"
        "log_processor = dict(by_epoch=False)\n")
    log = run([
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', *data_options(tiny_digits)
    ])
    assert 'updating every 2 iterations' in log
    weights = [float(w) for w in re.findall(
        r'bbox_head\.loc_weight: ([0-9.e+-]+)', log)]
    assert len(weights) == 4 and weights[:2] == [50.0, 50.0]
    assert weights[2] != 50.0  # updated after the first pass (2 iterations)


def test_weight_logged_under_the_loss_own_name():
    # The hook asks the loss for the name of the weight it balances.
    head = ToyRankingHead()
    head.loss_cls.balanced_weight_name = 'toy_weight'
    runner = FakeRunner(nn.ModuleDict(dict(head=head)))
    runner.message_hub = MessageHub.get_instance('sb_hook_name_test')
    hook = SelfBalancingHook()
    hook.before_train(runner)
    _run_iters(hook, runner, head, [(0.6, 0.02)])
    assert runner.message_hub.get_scalar(
        'train/head.toy_weight').current() == 50.0
    assert 'train/head.loc_weight' not in runner.message_hub.log_scalars

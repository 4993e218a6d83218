"""RankingAnalysisHook: ρ and gradient balance logged at an interval."""
import pytest
import torch
from mmdet.structures.bbox import bbox_overlaps
from torch import nn

from mmrank.engine.hooks import RankingAnalysisHook
from mmrank.models.utils import rank_correlation
from tests.test_engine.test_self_balancing_hook import FakeRunner
from tests.test_models.ranking_helpers import ToyRankingHead

LABELS = torch.tensor([0, 3, 3, 1, 3, 2, 3, 3, 0, 3])
BOXES = torch.tensor([[0., 0., 10., 10.]]).repeat(10, 1)


def _step(hook, runner, head, feats):
    hook.before_train_iter(runner, runner.iter)
    losses = head.loss(feats, LABELS, BOXES)
    sum(losses.values()).backward()
    hook.after_train_iter(runner, runner.iter)
    runner.iter += 1


def test_logged_at_interval():
    torch.manual_seed(0)
    head = ToyRankingHead()
    runner = FakeRunner(nn.ModuleDict(dict(head=head)))
    runner.message_hub = runner.message_hub.get_instance('analysis_test')
    hook = RankingAnalysisHook(interval=2)
    hook.before_train(runner)
    feats = torch.randn(10, 8)
    _step(hook, runner, head, feats)
    assert 'train/head.rank_corr' not in runner.message_hub.log_scalars
    _step(hook, runner, head, feats)
    scalars = runner.message_hub.log_scalars
    # Theorem 2: the negatives' and positives' gradients balance exactly.
    assert scalars['train/head.grad_ratio'].current() == pytest.approx(1.0)
    pos = LABELS < 3
    with torch.no_grad():
        scores = head.fc_cls(feats)[pos, LABELS[pos]]
        boxes = BOXES[pos] + head.fc_reg(feats[pos])
    expected = rank_correlation(
        scores, bbox_overlaps(boxes, BOXES[pos], is_aligned=True))
    assert scalars['train/head.rank_corr'].current() == pytest.approx(
        expected)
    # Popped by the hook; nothing is recorded until the next request.
    assert head.pop_analysis() == {}
    _step(hook, runner, head, feats)
    assert head.pop_analysis() == {}


def test_bad_interval_and_no_head():
    with pytest.raises(ValueError, match='interval'):
        RankingAnalysisHook(interval=0)
    with pytest.raises(ValueError, match='no head'):
        RankingAnalysisHook().before_train(FakeRunner(nn.Linear(2, 2)))

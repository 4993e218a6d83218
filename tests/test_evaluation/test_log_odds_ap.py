"""AP of saturated softmax classifiers, ranked by the log-odds."""
import pytest
import torch
from mmpretrain.evaluation.metrics import AveragePrecision
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

from mmrank.evaluation.metrics.log_odds_ap import log_odds
from tests.test_core.test_uniloss import ordinary_ap


def samples(logits, labels, device='cpu'):
    """Data samples as mmpretrain's ClsHead stores them (float32 softmax,
    on the model's device) and mmengine's Evaluator hands them to metrics
    (as dicts)."""
    probs = torch.softmax(logits.float().to(device), 1)
    return [
        DataSample().set_pred_score(p).set_gt_label(int(y)).to_dict()
        for p, y in zip(probs, labels)
    ]


def evaluate(metric, logits, labels, device='cpu'):
    metric.process(None, samples(logits, labels, device))
    return metric.evaluate(len(labels))['multi-label/AP_classwise']


def test_recovers_the_ranking_of_large_logit_gaps(device):
    gen = torch.Generator().manual_seed(0)
    labels = torch.rand(400, generator=gen) < 0.2
    # gaps of up to +-80, as a ranking loss lets them grow: most samples'
    # float32 softmax is exactly (0, 1) or (1, 0)
    raw = torch.randn(400, generator=gen, dtype=torch.float64) * 30
    gap = 80 * torch.tanh((raw + 20 * labels) / 80)  # no ties
    logits = torch.stack([torch.zeros_like(gap), gap], 1)
    expected = ordinary_ap(gap, labels)
    ours = evaluate(
        METRICS.build(dict(type='LogOddsAveragePrecision', average=None)),
                    logits, labels.long(), device)
    stock = evaluate(AveragePrecision(average=None), logits, labels.long())
    assert ours[1] / 100 == pytest.approx(expected, abs=1e-6)
    assert ours[0] / 100 == pytest.approx(ordinary_ap(-gap, ~labels),
                                          abs=1e-6)
    assert stock[1] / 100 < expected - 0.03  # ties at probability 1.0


def test_log_odds_equal_logit_log_odds_for_many_classes(device):
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(50, 5, generator=gen, dtype=torch.float64) * 6
    logits[:10, 2] += 40  # one class far ahead: 1 - p_c rounds to 0
    probs = torch.softmax(logits.float().to(device), 1)
    got = torch.stack([log_odds(p) for p in probs]).cpu()
    others = torch.stack([
        torch.logsumexp(torch.cat([row[:c], row[c + 1:]]), 0)
        for row in logits for c in range(5)
    ]).view(50, 5)
    expected = logits - others
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_one_class_scores_are_refused():
    metric = METRICS.build(dict(type='LogOddsAveragePrecision'))
    sample = DataSample().set_pred_score(torch.ones(1)).set_gt_label(
        0).to_dict()
    with pytest.raises(ValueError, match='pred_score'):
        metric.process(None, [sample])

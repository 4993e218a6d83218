"""Tests of the UniLoss core against independent brute-force references."""
import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmrank.core.uniloss import (AccuracyMetric, AnchorConfig,
                                 AveragePrecisionMetric, FlipAnchors,
                                 PCKhMetric, draw_words, flip_sq_dists,
                                 idw_interpolate, packed_full_rows, uniloss,
                                 uniloss_accuracy, uniloss_average_precision,
                                 uniloss_pckh)
from mmrank.core.uniloss import metric as uniloss_metric

# --------------------------------------------------------------------------
# Ordinary metrics, computed without comparisons.


def ordinary_accuracy(scores, labels):
    return (scores.argmax(1) == labels).double().mean().item()


def ordinary_ap(scores, labels):
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    hits, total = 0, 0.0
    for rank, i in enumerate(order, 1):
        if labels[i]:
            hits += 1
            total += hits / rank
    return total / hits


def ordinary_pckh(heatmaps, joints, radius):
    """Fraction of heatmaps whose argmax lies within ``radius`` of the
    joint."""
    num_maps, height, width = heatmaps.shape
    correct = 0
    for m in range(num_maps):
        y, x = divmod(int(heatmaps[m].argmax()), width)
        dist = math.hypot(x - joints[m][0], y - joints[m][1])
        correct += dist <= radius
    return correct / num_maps


def disc_mask(joints, radius, height, width):
    ys, xs = torch.meshgrid(
        torch.arange(height), torch.arange(width), indexing='ij')
    masks = [((xs - x)**2 + (ys - y)**2).double().sqrt() <= radius
             for x, y in joints]
    return torch.stack(masks)


# --------------------------------------------------------------------------
# Brute-force metric values of a dense binary configuration (loops).


def loop_accuracy_value(bits):
    return sum(bool(row.all()) for row in bits) / bits.shape[0]


def loop_ap_value(bits):
    num_pos, num_neg = bits.shape
    above = [set(n for n in range(num_neg) if not bits[p, n])
             for p in range(num_pos)]
    for p in range(num_pos):
        for q in range(num_pos):
            if not (above[p] <= above[q] or above[q] <= above[p]):
                return 0.0  # cyclic: no ranking gives these binaries
    order = sorted(range(num_pos), key=lambda p: len(above[p]))
    return sum((k + 1) / (k + 1 + len(above[p]))
               for k, p in enumerate(order)) / num_pos


def loop_pckh_value(bits, valid, heat_of_row):
    heatmaps = sorted(set(heat_of_row.tolist()))
    correct = 0
    for h in heatmaps:
        rows = [r for r in range(bits.shape[0]) if heat_of_row[r] == h]
        correct += any(bool(bits[r][valid[r]].all()) for r in rows)
    return correct / len(heatmaps)


# --------------------------------------------------------------------------
# Dense reference of the whole loss: t x l anchor matrix, Eq. 4 verbatim.


class Recorder:
    """Wraps a metric's samplers to record the anchors it draws."""

    def __init__(self, metric):
        self.flips, self.words = [], []
        good, nearby, draw = (metric.good_flips, metric.nearby_flips,
                              metric.random_words)

        def good_flips(num):
            self.flips.append(good(num))
            return self.flips[-1]

        def nearby_flips(current, num):
            self.flips.append(nearby(current, num))
            return self.flips[-1]

        def random_words(rows, num_bits, generator, masked=True):
            self.words.append((rows, draw(rows, num_bits, generator, masked),
                               num_bits))
            return self.words[-1][1]

        metric.good_flips = good_flips
        metric.nearby_flips = nearby_flips
        metric.random_words = random_words


def dense_anchors(metric, recorder, words):
    """The t x l anchor matrix the implementation used; ``words`` are the
    random words drawn in the forward pass, block by block."""
    truth = metric.full_valid().reshape(-1)
    current = (metric.full_comparisons() > 0).reshape(-1)
    anchors = [truth, current]
    for flips, base in zip(recorder.flips, (truth, current)):
        for i in range(flips.num):
            anchor = base.clone()
            idx = flips.index[flips.anchor == i]
            anchor[idx] = ~anchor[idx]
            anchors.append(anchor)
    # drawn block by block, each block drawing every plane in turn
    num_planes = sum(rows == words[0][0] for rows, _, _ in words)
    for plane in range(num_planes):
        blocks = words[plane::num_planes]
        full = torch.cat([block for _, block, _ in blocks]).reshape(-1)
        for i in range(blocks[0][2]):
            anchors.append(((full >> i) & 1).bool())
    return torch.stack(anchors)


def dense_uniloss(metric, comparisons, anchors, value_fn, scale):
    """Eq. 4 with every anchor materialised; ``comparisons`` are built
    with autograd from the scores by the test."""
    u = torch.sigmoid(scale * comparisons).reshape(-1)
    u = u * metric.full_valid().reshape(-1)
    shape = comparisons.shape
    values = torch.tensor([value_fn(a.view(shape)) for a in anchors],
                          dtype=u.dtype)
    dists = (u[None] - anchors.to(u.dtype)).square().sum(1).sqrt()
    return 1 - (values / dists).sum() / (1 / dists).sum()


def accuracy_case(seed=0, num=6, classes=5, num_compared=None):
    gen = torch.Generator().manual_seed(seed)
    scores = torch.randn(num, classes, generator=gen, dtype=torch.float64)
    labels = torch.randint(classes, (num, ), generator=gen)

    def comparisons(s):  # target minus every other class, in class order
        others = torch.stack(
            [torch.cat([s[i, :y], s[i, y + 1:]]) for i, y in
             enumerate(labels.tolist())])
        return s.gather(1, labels[:, None]) - others

    return (lambda s: AccuracyMetric(s, labels, num_compared)), scores, \
        lambda bits, metric: loop_accuracy_value(bits), comparisons


def ap_case(seed=0, num=14):
    gen = torch.Generator().manual_seed(seed)
    scores = torch.randn(num, generator=gen, dtype=torch.float64)
    labels = torch.zeros(num, dtype=torch.bool)
    labels[torch.randperm(num, generator=gen)[:4]] = True
    return (lambda s: AveragePrecisionMetric(s, labels)), scores, \
        lambda bits, metric: loop_ap_value(bits), \
        lambda s: s[labels][:, None] - s[~labels][None]


def pckh_case(seed=0):
    gen = torch.Generator().manual_seed(seed)
    joints = [(3, 4), (6, 2), (1, 1)]
    positive = disc_mask(joints, 1.5, 9, 9).reshape(3, -1)
    scores = torch.rand(3, 81, generator=gen, dtype=torch.float64) * 4

    def value(bits, metric):
        return loop_pckh_value(bits, metric.full_valid(), metric.heat_of_row)

    def comparisons(s):  # every positive pixel against its whole heatmap
        heat, pixel = positive.nonzero(as_tuple=True)
        return s[heat, pixel][:, None] - s[heat]

    return (lambda s: PCKhMetric(s, positive)), scores, value, comparisons


CASES = {'accuracy': accuracy_case, 'ap': ap_case, 'pckh': pckh_case}


@pytest.mark.parametrize('block_elements', [2**20, 100])
@pytest.mark.parametrize('task', sorted(CASES))
def test_uniloss_matches_dense_reference(task, block_elements, monkeypatch):
    """Also with blocks of one or a few rows (many blocks, 2 planes)."""
    monkeypatch.setattr(uniloss_metric, 'BLOCK_ELEMENTS', block_elements)
    build, scores, value_fn, comparisons_fn = CASES[task]()
    cfg = AnchorConfig(num_good=5, num_nearby=6, num_random=19, scale=2.0)
    scores = scores.requires_grad_()
    torch.manual_seed(1)
    metric = build(scores)
    recorder = Recorder(metric)
    loss = uniloss(metric, cfg)
    words = list(recorder.words)  # the forward pass's draws
    grad, = torch.autograd.grad(loss, scores)
    assert len(words) == 2 * len(list(metric.row_blocks()))
    assert len(recorder.words) == 2 * len(words)  # drawn again backwards

    ref_scores = scores.detach().clone().requires_grad_()
    ref_metric = build(ref_scores)
    anchors = dense_anchors(ref_metric, recorder, words)
    assert anchors.shape[0] == 2 + 5 + 6 + 19
    ref = dense_uniloss(ref_metric, comparisons_fn(ref_scores), anchors,
                        lambda bits: value_fn(bits, ref_metric), cfg.scale)
    ref_grad, = torch.autograd.grad(ref, ref_scores)
    torch.testing.assert_close(loss, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-8, atol=1e-12)
    assert grad.abs().sum() > 0


@pytest.mark.parametrize('task', sorted(CASES))
def test_uniloss_gradient_matches_finite_differences(task):
    build, scores, _, _ = CASES[task](seed=3)
    cfg = AnchorConfig(num_good=4, num_nearby=4, num_random=9)

    def loss_fn(s):
        torch.manual_seed(7)  # the same anchors at every evaluation
        return uniloss(build(s), cfg)

    assert torch.autograd.gradcheck(
        loss_fn, (scores.requires_grad_(), ),
        eps=1e-7,
        atol=1e-8,
        fast_mode=True)


def test_accuracy_reexpression_equals_accuracy(device):
    for seed in range(5):
        gen = torch.Generator().manual_seed(seed)
        scores = torch.randn(40, 7, generator=gen)
        labels = torch.randint(7, (40, ), generator=gen)
        expected = ordinary_accuracy(scores, labels)
        scores, labels = scores.to(device), labels.to(device)
        for num_compared in (None, 1, 3):
            metric = AccuracyMetric(scores, labels, num_compared)
            assert metric.evaluate(metric.full_comparisons() > 0).item() == \
                pytest.approx(expected)


def test_accuracy_subset_leaves_other_classes_untouched(device):
    scores = torch.tensor([[0.0, 3.0, 1.0, -2.0, 2.0]], device=device,
                          requires_grad=True)
    labels = torch.tensor([0], device=device)
    loss = uniloss_accuracy(scores, labels, num_compared=2)
    loss.backward()
    touched = scores.grad[0] != 0
    # the target and its two highest-scoring rivals (classes 1 and 4)
    assert touched.tolist() == [True, True, False, False, True]
    assert scores.grad[0, 0] < 0  # raising the target lowers the loss


def test_ap_reexpression_equals_ap(device):
    for seed in range(8):
        gen = torch.Generator().manual_seed(seed)
        scores = torch.randn(30, generator=gen)
        labels = torch.rand(30, generator=gen) < 0.3
        labels[0] = True
        metric = AveragePrecisionMetric(scores.to(device), labels.to(device))
        binary = metric.full_comparisons() > 0
        assert metric.evaluate(binary).item() == pytest.approx(
            ordinary_ap(scores, labels), rel=1e-6)


def test_ap_value_of_cyclic_configuration_is_zero():
    metric = AveragePrecisionMetric(
        torch.zeros(4), torch.tensor([1, 1, 0, 0]))
    # p0 > n0 > p1 > n1 > p0 is a cycle
    cyclic = torch.tensor([[True, False], [False, True]])
    assert metric.evaluate(cyclic).item() == 0.0
    assert loop_ap_value(cyclic) == 0.0
    nested = torch.tensor([[True, True], [False, True]])
    # ranking p0 n0 p1 n1: AP = (1 + 2/3) / 2
    assert metric.evaluate(nested).item() == pytest.approx(5 / 6)


def test_ap_values_of_random_configurations_match_loops():
    gen = torch.Generator().manual_seed(0)
    metric = AveragePrecisionMetric(
        torch.zeros(5), torch.tensor([1, 1, 1, 0, 0]))
    nonzero = 0
    for _ in range(200):
        bits = torch.rand(3, 2, generator=gen) < 0.6
        expected = loop_ap_value(bits)
        nonzero += expected > 0
        assert metric.evaluate(bits).item() == pytest.approx(expected)
    assert 20 < nonzero < 200  # both consistent and cyclic ones were seen


def test_pckh_reexpression_equals_pckh(device):
    gen = torch.Generator().manual_seed(0)
    num_maps, size, radius = 12, 16, 2.5
    joints = torch.randint(2, size - 2, (num_maps, 2), generator=gen)
    joints = [tuple(j) for j in joints.tolist()]
    heatmaps = torch.rand(num_maps, size * size, generator=gen)
    # make about half of the maps peak near their joint
    for m, (x, y) in enumerate(joints[::2]):
        heatmaps[2 * m, y * size + x] += 1.0
    positive = disc_mask(joints, radius, size, size).reshape(num_maps, -1)
    metric = PCKhMetric(heatmaps.to(device), positive.to(device))
    expected = ordinary_pckh(heatmaps.view(-1, size, size), joints, radius)
    assert 0 < expected < 1
    binary = metric.full_comparisons() > 0
    assert metric.evaluate(binary).item() == pytest.approx(
        expected)


def test_pckh_counts_from_sorting_equal_counted_bits(device):
    gen = torch.Generator().manual_seed(0)
    # few distinct values: many ties between positives and negatives
    heatmaps = torch.randint(0, 4, (5, 36), generator=gen).float()
    positive = disc_mask([(1, 1), (3, 4), (5, 5), (0, 5), (2, 2)], 1.5, 6,
                         6).reshape(5, -1)
    pixel_valid = torch.rand(5, 36, generator=gen) < 0.8
    metric = PCKhMetric(heatmaps.to(device), positive.to(device),
                        pixel_valid.to(device))
    valid = metric.full_valid()
    current = metric.full_comparisons() > 0
    everywhere = torch.arange(valid.numel(), device=device)
    for config, bits in ((metric.ground_truth(), valid),
                         (metric.binarise(), current)):
        assert config.row_counts.tolist() == bits.sum(1).tolist()
        assert config.col_counts.tolist() == bits.sum(0).tolist()
        assert torch.equal(config.bits_at(everywhere), bits.reshape(-1))
    assert 0 < current.sum() < valid.sum()
    assert not (current & ~valid).any()


def test_flip_sq_dists_equal_dense_distances(device):
    gen = torch.Generator().manual_seed(0)
    u = torch.rand(5, 7, generator=gen, dtype=torch.float64).to(device)
    base = (torch.rand(5, 7, generator=gen) < 0.5).to(device)
    index = [torch.randperm(35, generator=gen)[:k].to(device)
             for k in (1, 4, 9)]
    flips = FlipAnchors.from_lists(index, u.device)
    base_sq = (u - base.double()).square().sum()
    flat_u, flat_base = u.reshape(-1), base.reshape(-1)
    got = flip_sq_dists(flat_u[flips.index],
                        1 - 2 * flat_base[flips.index].double(), base_sq,
                        flips)
    for i, idx in enumerate(index):
        anchor = base.reshape(-1).clone()
        anchor[idx] = ~anchor[idx]
        expected = (u.reshape(-1) - anchor.double()).square().sum()
        assert got[i].item() == pytest.approx(expected.item())


@pytest.mark.parametrize('num_bits', [1, 5, 16])
def test_draw_words_gives_uniform_independent_bits(num_bits):
    gen = torch.Generator().manual_seed(0)
    invalid = torch.rand(301, 499, generator=gen) < 0.3
    words = draw_words((301, 499), invalid, num_bits,
                       torch.Generator().manual_seed(5))
    again = draw_words((301, 499), invalid, num_bits,
                       torch.Generator().manual_seed(5))
    assert words.dtype == torch.int32 and torch.equal(words, again)
    assert (words[invalid] == 0).all()
    assert 0 <= words.min() and words.max() < 2**num_bits
    bits = torch.stack([(words[~invalid] >> i) & 1
                        for i in range(num_bits)]).double()
    # 105k samples per bit: the standard error of a mean is 0.0015
    assert (bits.mean(1) - 0.5).abs().max() < 0.01
    if num_bits > 1:
        corr = torch.corrcoef(bits)
        assert (corr - torch.eye(num_bits)).abs().max() < 0.02


def test_packed_full_rows_equal_loops(device):
    gen = torch.Generator().manual_seed(0)
    # mostly-ones words, so that whole rows survive the prefix check
    words = torch.full((40, 150), 2**5 - 1, dtype=torch.int32)
    holes = torch.rand(40, 150, generator=gen) < 0.004
    words[holes] = torch.randint(0, 31, (int(holes.sum()), ),
                                 generator=gen, dtype=torch.int32)
    valid = torch.rand(40, 150, generator=gen) < 0.9
    got = packed_full_rows(words.to(device), valid.to(device), 5)
    expected = [[all((int(words[r, c]) >> i) & 1 for c in range(150)
                     if valid[r, c]) for r in range(40)] for i in range(5)]
    assert got.tolist() == expected
    assert 0 < got.sum() < got.numel()


def test_idw_coincident_anchor_returns_its_value():
    values = torch.tensor([0.25, 1.0, 0.0])
    sq = torch.tensor([4.0, 0.0, 1.0], requires_grad=True)
    out = idw_interpolate(values, sq, eps=1e-12)
    out.backward()
    assert out.item() == 1.0
    assert torch.count_nonzero(sq.grad) == 0
    sq = torch.tensor([4.0, 1.0])
    expected = (0.25 / 2 + 1.0 / 1) / (1 / 2 + 1)
    assert idw_interpolate(torch.tensor([0.25, 1.0]), sq,
                           1e-12).item() == pytest.approx(expected)


def test_saturated_float32_matches_float64(device):
    """Near-binary relaxations (|c| about 12, 1 - u about 6e-6) keep their
    distances in float32: no cancellation against l-sized sums."""
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(10, (2000, ), generator=gen)
    scores = torch.randn(2000, 10, generator=gen, dtype=torch.float64) * 0.1
    scores[torch.arange(2000), labels] += 12.0
    scores[:3, 0] += 30.0  # a few images wrong, so the metric is not 1
    results = []
    for dtype in (torch.float32, torch.float64):
        s = scores.to(device, dtype).requires_grad_()
        torch.manual_seed(0)
        loss = uniloss_accuracy(s, labels.to(device))
        loss.backward()
        results.append((loss.double(), s.grad.double()))
    # the loss is 1 - g~ with g~ about 0.998: a few float32 ulps of 1
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-4,
                               atol=3e-7)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=5e-3,
                               atol=1e-12)
    assert results[1][1].abs().max() > 0


def test_loss_decreases_on_fixed_batch():
    torch.manual_seed(0)
    scores = torch.randn(32, 6, requires_grad=True)
    labels = torch.randint(6, (32, ))
    optim = torch.optim.SGD([scores], lr=50.0)
    losses = []
    for _ in range(60):
        loss = uniloss_accuracy(scores, labels)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.1
    assert ordinary_accuracy(scores.detach(), labels) > 0.5


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_ap_loss_raises_ap_of_free_scores(seed, device):
    """SGD on the scores themselves (no network) ranks 8 positives among
    40 on top: AP from 0.2-0.45 to 1 (8 of 8 seeds when written)."""
    torch.manual_seed(seed)
    scores = torch.randn(40).to(device).requires_grad_()
    labels = torch.zeros(40, dtype=torch.long)
    labels[torch.randperm(40)[:8]] = 1
    labels = labels.to(device)
    before = ordinary_ap(scores.detach(), labels.bool())
    optim = torch.optim.SGD([scores], lr=10.0)
    for _ in range(60):
        loss = uniloss_average_precision(scores, labels)
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert before < 0.5
    assert ordinary_ap(scores.detach(), labels.bool()) > 0.95


class MaxNumelProbe(TorchDispatchMode):
    """Records the largest tensor any aten op returns."""

    def __init__(self):
        super().__init__()
        self.max_numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out, ):
            if isinstance(t, torch.Tensor):
                self.max_numel = max(self.max_numel, t.numel())
        return out


@pytest.mark.parametrize('num_anchors', [8, 64])
def test_memory_is_per_block_not_per_anchor(num_anchors, monkeypatch):
    """No t x l anchor matrix, and not even the l comparisons: the largest
    tensor is a block of rows or a word-value histogram."""
    block = 2**14
    monkeypatch.setattr(uniloss_metric, 'BLOCK_ELEMENTS', block)
    torch.manual_seed(0)
    positive = disc_mask([(8, 8), (20, 10)] * 4, 3, 32, 32)
    heatmaps = torch.rand(2, 4, 32, 32, requires_grad=True)
    cfg = AnchorConfig(num_anchors, num_anchors, num_anchors)
    with MaxNumelProbe() as probe:
        uniloss_pckh(heatmaps, positive.view(2, 4, 32, 32),
                     cfg=cfg).backward()
    num_comparisons = int(positive.sum()) * 32 * 32  # 237,568
    assert probe.max_numel <= 2**16  # the 16-bit word histogram
    assert probe.max_numel * 3 < num_comparisons


def test_empty_and_degenerate_batches(device):
    scores = torch.randn(6, device=device, requires_grad=True)
    for labels in (torch.zeros(6, dtype=torch.long, device=device),
                   torch.ones(6, dtype=torch.long, device=device)):
        loss = uniloss_average_precision(scores, labels)
        loss.backward()
        assert loss.item() == 0 and torch.all(scores.grad == 0)
    heatmaps = torch.rand(1, 2, 4, 4, device=device, requires_grad=True)
    positive = torch.zeros(1, 2, 4, 4, dtype=torch.bool, device=device)
    loss = uniloss_pckh(heatmaps, positive)
    loss.backward()
    assert loss.item() == 0 and not torch.isnan(heatmaps.grad).any()
    assert uniloss_accuracy(torch.zeros(0, 3, device=device), torch.zeros(
        0, dtype=torch.long, device=device)).item() == 0


def test_invisible_heatmaps_are_left_out(device):
    positive = disc_mask([(2, 2), (5, 5)], 1, 8, 8).view(1, 2, 8, 8)
    heatmaps = torch.rand(1, 2, 8, 8, device=device, requires_grad=True)
    positive = positive.to(device)
    valid = torch.tensor([[True, False]], device=device)
    uniloss_pckh(heatmaps, positive, heatmap_valid=valid).backward()
    assert heatmaps.grad[0, 0].abs().sum() > 0
    assert heatmaps.grad[0, 1].abs().sum() == 0


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='num_compared'):
        uniloss_accuracy(torch.randn(2, 4), torch.tensor([0, 1]), 4)
    with pytest.raises(ValueError, match='labels'):
        uniloss_accuracy(torch.randn(2, 4), torch.tensor([0, 4]))
    with pytest.raises(TypeError, match='labels'):
        uniloss_average_precision(torch.randn(3), torch.rand(3))
    with pytest.raises(ValueError, match='scores'):
        uniloss_average_precision(torch.randn(3, 2), torch.ones(3).long())
    with pytest.raises(ValueError, match='positive'):
        uniloss_pckh(torch.rand(1, 1, 4, 4), torch.ones(1, 1, 4, 4))
    with pytest.raises(ValueError, match='num_random'):
        AnchorConfig(num_random=-1)
    nan = torch.tensor([0.5, float('nan'), 1.0, -1.0])
    with pytest.raises(ValueError, match='scores contain NaN'):
        uniloss_average_precision(nan, torch.tensor([1, 0, 1, 0]))
    with pytest.raises(ValueError, match='scores contain NaN'):
        uniloss_accuracy(nan.view(2, 2), torch.tensor([0, 1]))
    inf = torch.zeros(1, 1, 4, 4)
    inf[0, 0, 1, 1] = float('inf')
    with pytest.raises(ValueError, match='heatmaps contain NaN'):
        uniloss_pckh(inf, torch.ones(1, 1, 4, 4, dtype=torch.bool))

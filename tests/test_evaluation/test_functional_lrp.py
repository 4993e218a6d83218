"""Tests of the numpy LRP / oLRP math (mmrank.evaluation.functional.lrp)."""
import numpy as np
import pytest

from mmrank.evaluation.functional import (COCO_AREA_RANGES, ImageClassMatch,
                                          coco_bbox_iou, eval_lrp, lrp_curve,
                                          match_image_class, optimal_lrp)


def make_image(gt_boxes, det_boxes, det_scores, gt_labels=None,
               det_labels=None, gt_iscrowd=None, gt_areas=None):
    """One image record for eval_lrp from xywh boxes (areas = w * h)."""
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    det_boxes = np.asarray(det_boxes, dtype=np.float64).reshape(-1, 4)
    num_gt, num_det = len(gt_boxes), len(det_boxes)
    return dict(
        gt_regions=gt_boxes,
        gt_labels=np.zeros(num_gt, int) if gt_labels is None else gt_labels,
        gt_iscrowd=np.zeros(num_gt) if gt_iscrowd is None else gt_iscrowd,
        gt_areas=gt_boxes[:, 2] * gt_boxes[:, 3]
        if gt_areas is None else gt_areas,
        det_regions=det_boxes,
        det_scores=np.asarray(det_scores, dtype=np.float64),
        det_labels=np.zeros(num_det, int)
        if det_labels is None else det_labels,
        det_areas=det_boxes[:, 2] * det_boxes[:, 3])


# Three 10x10 objects; detections with IoU 0.8, FP, 0.6, 0.55, FP.
HAND_GT = [[0, 0, 10, 10], [20, 0, 10, 10], [40, 0, 10, 10]]
HAND_DETS = [[0, 0, 10, 8], [50, 50, 10, 10], [20, 0, 10, 6],
             [40, 0, 10, 5.5], [100, 100, 5, 5]]
HAND_SCORES = [0.9, 0.8, 0.7, 0.6, 0.5]


def test_hand_computed_single_class():
    # LRP(s) = (sum(1 - IoU) / 0.5 + FP + FN) / (TP + FP + FN):
    # s=.9: (0.4 + 0 + 2) / 3 = 0.8      s=.8: (0.4 + 1 + 2) / 4 = 0.85
    # s=.7: (1.2 + 1 + 1) / 4 = 0.8      s=.6: (2.1 + 1 + 0) / 4 = 0.775
    # s=.5: (2.1 + 2 + 0) / 5 = 0.82
    result = eval_lrp([make_image(HAND_GT, HAND_DETS, HAND_SCORES)], 1)
    cls = result['all'].classes[0]
    np.testing.assert_allclose(cls.curve.lrp, [0.8, 0.85, 0.8, 0.775, 0.82])
    np.testing.assert_allclose(cls.curve.thresholds, HAND_SCORES)
    assert cls.olrp == pytest.approx(0.775)
    assert cls.threshold == pytest.approx(0.6)
    assert cls.loc == pytest.approx((0.2 + 0.4 + 0.45) / 3)
    assert cls.fp == pytest.approx(0.25)
    assert cls.fn == pytest.approx(0.0)
    summary = result['all']
    assert summary.molrp == pytest.approx(0.775)
    assert summary.loc == pytest.approx(0.35)
    np.testing.assert_allclose(cls.curve.precision, [1, .5, 2 / 3, .75, .6])
    np.testing.assert_allclose(cls.curve.recall, [1 / 3, 1 / 3, 2 / 3, 1, 1])


def test_iou_equal_to_tau_is_tp():
    # The fourth detection now has IoU exactly 0.5 (a TP, as COCO's >=):
    # s=.9: 0.8, s=.8: 0.85, s=.7: 0.8, s=.6: (2.2 + 1) / 4 = 0.8,
    # s=.5: (2.2 + 2) / 5 = 0.84.
    dets = HAND_DETS[:3] + [[40, 0, 10, 5]] + HAND_DETS[4:]
    cls = eval_lrp([make_image(HAND_GT, dets, HAND_SCORES)],
                   1)['all'].classes[0]
    np.testing.assert_allclose(cls.curve.lrp, [0.8, 0.85, 0.8, 0.8, 0.84])
    assert cls.olrp == pytest.approx(0.8)


def test_equal_minima_keep_the_highest_threshold():
    # Two objects: an exact TP at .9 gives (0 + 0 + 1) / 2 = 0.5; adding a
    # TP of IoU 0.5 at .8 gives (1 + 0 + 0) / 2 = 0.5 (exact in binary).
    image = make_image([[0, 0, 10, 10], [20, 0, 10, 10]],
                       [[0, 0, 10, 10], [20, 0, 10, 5]], [.9, .8])
    cls = eval_lrp([image], 1)['all'].classes[0]
    assert cls.curve.lrp.tolist() == [0.5, 0.5]
    assert (cls.threshold, cls.loc, cls.fn) == (0.9, 0.0, 0.5)


def test_detection_order_does_not_matter():
    perm = [3, 0, 4, 2, 1]
    image = make_image(HAND_GT, np.array(HAND_DETS)[perm],
                       np.array(HAND_SCORES)[perm])
    assert eval_lrp([image], 1)['all'].molrp == pytest.approx(0.775)


def test_empty_detections_give_olrp_one():
    image = make_image(HAND_GT, np.zeros((0, 4)), [])
    summary = eval_lrp([image], 1)['all']
    cls = summary.classes[0]
    assert cls.olrp == 1.0 and cls.fn == 1.0
    assert np.isnan(cls.loc) and np.isnan(cls.fp) and np.isnan(cls.threshold)
    assert summary.molrp == 1.0 and summary.fn == 1.0
    assert np.isnan(summary.loc) and np.isnan(summary.fp)


def test_detections_without_any_tp_give_olrp_one():
    image = make_image(HAND_GT, [[60, 60, 5, 5], [80, 80, 5, 5]], [.9, .3])
    cls = eval_lrp([image], 1)['all'].classes[0]
    np.testing.assert_allclose(cls.curve.lrp, [1.0, 1.0])
    assert cls.olrp == 1.0 and cls.fn == 1.0 and np.isnan(cls.loc)


def test_class_without_gt_is_left_out_of_means():
    # Class 0: hand case (0.775). Class 1: only false positives, no GT.
    image = make_image(
        HAND_GT, HAND_DETS + [[0, 0, 10, 10]],
        HAND_SCORES + [0.95],
        det_labels=[0, 0, 0, 0, 0, 1])
    summary = eval_lrp([image], 2)['all']
    assert np.isnan(summary.classes[1].olrp)
    assert summary.classes[1].curve is None
    assert summary.molrp == pytest.approx(0.775)


def test_no_gt_at_all_gives_undefined_means():
    image = make_image(np.zeros((0, 4)), HAND_DETS, HAND_SCORES)
    summary = eval_lrp([image], 1)['all']
    assert np.isnan(summary.molrp) and np.isnan(summary.fn)


def test_multiple_classes_and_images():
    # Class 0 is the hand case split over two images; class 1 has one
    # perfect detection (oLRP 0) and one missed object in another image.
    first = make_image(
        HAND_GT[:2] + [[0, 50, 20, 20]], HAND_DETS[:3] + [[0, 50, 20, 20]],
        HAND_SCORES[:3] + [0.4], gt_labels=[0, 0, 1], det_labels=[0, 0, 0, 1])
    second = make_image(
        HAND_GT[2:] + [[70, 70, 10, 10]], HAND_DETS[3:], HAND_SCORES[3:],
        gt_labels=[0, 1])
    summary = eval_lrp([first, second], 2)['all']
    assert summary.classes[0].olrp == pytest.approx(0.775)
    # class 1: TP with IoU 1 at s=.4, 1 FN: LRP = (0 + 0 + 1) / 2 = 0.5.
    cls1 = summary.classes[1]
    assert (cls1.olrp, cls1.loc, cls1.fp, cls1.fn) == pytest.approx(
        (0.5, 0.0, 0.0, 0.5))
    assert summary.molrp == pytest.approx((0.775 + 0.5) / 2)
    assert summary.fn == pytest.approx(0.25)


def test_crowd_regions_are_ignored_and_absorb_detections():
    gt = [[0, 0, 100, 100], [200, 200, 10, 10]]
    dets = [[10, 10, 10, 10], [200, 200, 10, 10], [12, 12, 10, 10],
            [300, 300, 10, 10]]
    image = make_image(gt, dets, [.9, .8, .7, .6], gt_iscrowd=[1, 0])
    cls = eval_lrp([image], 1)['all'].classes[0]
    assert cls.num_gt == 1
    # Both detections inside the crowd region are ignored; TP at .8 gives 0.
    np.testing.assert_allclose(cls.curve.thresholds, [.8, .6])
    assert cls.olrp == 0.0 and cls.threshold == pytest.approx(0.8)
    # Without the crowd flag the crowd box is an object: the first
    # detection (IoU 0.01) is a FP and the region an FN.
    plain = make_image(gt, dets, [.9, .8, .7, .6])
    assert eval_lrp([plain], 1)['all'].classes[0].olrp > 0.5


def test_crowd_iou_uses_detection_area():
    iou = coco_bbox_iou([[10, 10, 10, 10], [90, 90, 20, 20]],
                        [[0, 0, 100, 100]], [1])
    np.testing.assert_allclose(iou, [[1.0], [0.25]])
    np.testing.assert_allclose(
        coco_bbox_iou([[0, 0, 10, 10]], [[5, 0, 10, 10]], [0]), [[50 / 150]])
    with pytest.raises(ValueError, match='gt_iscrowd'):
        coco_bbox_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]], [0, 1])


def test_regular_gt_preferred_over_crowd():
    # The detection overlaps a regular object (IoU 0.6) and a crowd region
    # (IoU 1): COCO matches it to the regular object.
    ious = np.array([[1.0, 0.6]])
    match = match_image_class(ious, [0.5], [100.], [1, 0], [1e4, 100.])
    assert match.matched_gt.tolist() == [1] and match.is_tp.tolist() == [True]
    assert match.ious[0] == pytest.approx(0.6)


def test_greedy_matching_by_score():
    # Both detections overlap the one object; the higher score takes it
    # even with the lower IoU, the other is a FP.
    ious = np.array([[0.9], [0.7]])
    match = match_image_class(ious, [0.2, 0.8], [1., 1.], [0], [1.])
    assert match.det_index.tolist() == [1, 0]
    assert match.is_tp.tolist() == [True, False]
    assert match.ious.tolist() == [0.7, 0.0]


def test_equal_scores_keep_input_order():
    # COCO sorts with a stable sort: among equal scores, input order.
    scores = np.random.default_rng(0).integers(0, 3, 300) / 2
    match = match_image_class(np.zeros((300, 0)), scores, np.ones(300),
                              np.zeros(0), np.zeros(0), max_dets=300)
    expected = [i for v in (1.0, 0.5, 0.0) for i in np.flatnonzero(
        scores == v)]
    assert match.det_index.tolist() == expected


def test_max_dets_keeps_top_scores():
    ious = np.eye(3)
    match = match_image_class(ious, [.1, .9, .5], np.ones(3), np.zeros(3),
                              np.ones(3), max_dets=2)
    assert match.det_index.tolist() == [1, 2]
    with pytest.raises(ValueError, match='max_dets'):
        match_image_class(ious, [.1, .9, .5], np.ones(3), np.zeros(3),
                          np.ones(3), max_dets=0)


def test_area_ranges():
    # small object (20x20=400) detected, large object (100x100) missed;
    # an unmatched small detection is a FP for 'small', ignored for 'large'.
    gt = [[0, 0, 20, 20], [100, 100, 100, 100]]
    dets = [[0, 0, 20, 20], [300, 300, 10, 10]]
    areas = {k: COCO_AREA_RANGES[k] for k in ('all', 'small', 'large')}
    result = eval_lrp([make_image(gt, dets, [.9, .8])], 1, area_ranges=areas)
    assert result['small'].molrp == 0.0
    assert result['small'].classes[0].num_gt == 1
    assert result['large'].molrp == 1.0
    assert result['all'].molrp == pytest.approx(0.5)
    # COCO's bounds are inclusive: a 32x32 object is small and medium.
    border = eval_lrp([make_image([[0, 0, 32, 32]], [[0, 0, 32, 32]], [1.])],
                      1, area_ranges=areas | {'medium': COCO_AREA_RANGES[
                          'medium']})
    assert border['small'].molrp == 0.0 and border['medium'].molrp == 0.0
    assert np.isnan(border['large'].molrp)
    # 'medium' has no ground truth: undefined.
    medium = eval_lrp([make_image(gt, dets, [.9, .8])], 1,
                      area_ranges={'medium': COCO_AREA_RANGES['medium']})
    assert np.isnan(medium['medium'].molrp)


def brute_force_lrp(scores, is_tp, ious, num_gt, tau):
    """LRP at every distinct score threshold by explicit loops."""
    values = {}
    for s in sorted(set(scores), reverse=True):
        tp = fp = 0
        loc = 0.0
        for score, t, iou in zip(scores, is_tp, ious):
            if score >= s:
                if t:
                    tp += 1
                    loc += (1 - iou) / (1 - tau)
                else:
                    fp += 1
        fn = num_gt - tp
        values[s] = (loc + fp + fn) / (tp + fp + fn)
    return values


@pytest.mark.parametrize('seed', range(5))
def test_lrp_curve_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = 40
    scores = rng.integers(0, 12, n) / 12.0  # many ties
    is_tp = rng.random(n) < 0.5
    ious = rng.uniform(0.5, 1.0, n)
    num_gt = int(is_tp.sum()) + 3
    curve = lrp_curve(scores, is_tp, ious, num_gt, 0.5)
    expected = brute_force_lrp(scores.tolist(), is_tp, ious, num_gt, 0.5)
    np.testing.assert_allclose(curve.thresholds, list(expected))
    np.testing.assert_allclose(curve.lrp, list(expected.values()))
    # optimal_lrp takes the highest threshold among equal minima.
    best = min(expected, key=lambda s: (expected[s], -s))
    order = np.argsort(-scores, kind='mergesort')
    match = ImageClassMatch(
        det_index=order,
        scores=scores[order],
        matched_gt=np.where(is_tp[order], 0, -1),
        ious=np.where(is_tp, ious, 0.)[order],
        ignored=np.zeros(n, dtype=bool),
        num_gt=num_gt)
    cls = optimal_lrp([match])
    assert cls.olrp == pytest.approx(expected[best])
    assert cls.threshold == best


def test_optimal_components_match_definition():
    rng = np.random.default_rng(7)
    n = 30
    scores = rng.random(n)
    is_tp = rng.random(n) < 0.6
    ious = rng.uniform(0.5, 1.0, n)
    num_gt = 25
    curve = lrp_curve(scores, is_tp, ious, num_gt)
    i = int(np.argmin(curve.lrp))
    kept = scores >= curve.thresholds[i]
    tp = (kept & is_tp).sum()
    fp = (kept & ~is_tp).sum()
    assert curve.loc[i] == pytest.approx((1 - ious[kept & is_tp]).mean())
    assert curve.fp[i] == pytest.approx(fp / (tp + fp))
    assert curve.fn[i] == pytest.approx((num_gt - tp) / num_gt)
    # LRP is the weighted combination of its components (TPAMI Eq. 4).
    total = tp + fp + (num_gt - tp)
    recombined = (tp * curve.loc[i] / 0.5 + fp + (num_gt - tp)) / total
    assert curve.lrp[i] == pytest.approx(recombined)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='num_gt'):
        lrp_curve([0.5], [True], [0.9], 0)
    with pytest.raises(ValueError, match='iou_thr'):
        lrp_curve([0.5], [True], [0.9], 1, iou_thr=1.0)
    with pytest.raises(ValueError, match='num_classes'):
        eval_lrp([], 0)
    image = make_image(HAND_GT, HAND_DETS, HAND_SCORES)
    with pytest.raises(ValueError, match='labels outside'):
        eval_lrp([dict(image, det_labels=[0, 0, 0, 0, 3])], 2)
    with pytest.raises(ValueError, match='lacks keys'):
        eval_lrp([{k: v for k, v in image.items() if k != 'gt_areas'}], 1)

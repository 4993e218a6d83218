"""Tests of LRPMetric and of the LRP matching against pycocotools' COCOeval.

The real-data tests use ``../shared/data/coco_mini`` (real COCO val2017
annotations) with detections made by perturbing the ground truth, and skip
when it is absent.
"""
import copy
import json
import os.path as osp
import socket

import numpy as np
import pytest

from mmrank.evaluation.functional import (COCO_AREA_RANGES, coco_bbox_iou,
                                          eval_lrp, match_image_class)

torch = pytest.importorskip('torch')
pytest.importorskip('pycocotools')
pytest.importorskip('mmengine')

from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

from mmrank.evaluation.metrics.lrp_metric import LRPMetric  # noqa: E402

COCO_MINI_ANN = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'shared', 'data', 'coco_mini',
    'annotations', 'instances_val2017.json')
needs_coco_mini = pytest.mark.skipif(
    not osp.exists(COCO_MINI_ANN),
    reason='real COCO annotations ../shared/data/coco_mini are absent')


def perturbed_detections(dataset: dict, seed: int = 0) -> list:
    """COCO results made from the ground truth: jittered boxes (scores
    correlated with the jitter), misses, duplicates, wrong classes,
    detections inside crowd regions and background false positives."""
    rng = np.random.default_rng(seed)
    cat_ids = [c['id'] for c in dataset['categories']]
    images = {im['id']: im for im in dataset['images']}
    dets = []

    def add(image_id, cat_id, box, score):
        dets.append(
            dict(image_id=image_id, category_id=int(cat_id),
                 bbox=[float(v) for v in box], score=float(score)))

    for ann in dataset['annotations']:
        x, y, w, h = ann['bbox']
        if ann['iscrowd']:
            add(ann['image_id'], ann['category_id'],
                [x + w / 4, y + h / 4, w / 3, h / 3], rng.uniform(0.1, 0.9))
            continue
        for _ in range(1 + int(rng.random() < 0.2)):
            if rng.random() < 0.15:
                continue
            noise = rng.normal(0, 0.12, 4)
            box = [x + noise[0] * w, y + noise[1] * h,
                   w * np.exp(noise[2]), h * np.exp(noise[3])]
            quality = 1 - np.abs(noise).mean() * 3
            cat = ann['category_id'] if rng.random() > 0.05 else rng.choice(
                cat_ids)
            add(ann['image_id'], cat, box,
                np.clip(0.6 * quality + 0.4 * rng.random(), 0.01, 1))
    for image_id, image in images.items():
        for _ in range(rng.poisson(3)):
            w, h = rng.uniform(10, 200, 2)
            add(image_id, rng.choice(cat_ids),
                [rng.uniform(0, image['width'] - w),
                 rng.uniform(0, image['height'] - h), w, h],
                rng.uniform(0.01, 0.7))
    return dets


@pytest.fixture(scope='module')
def coco_mini():
    """(annotation dict, COCO api, perturbed detections, COCOeval at 0.5)."""
    if not osp.exists(COCO_MINI_ANN):
        pytest.skip('real COCO annotations ../shared/data/coco_mini absent')
    with open(COCO_MINI_ANN) as f:
        dataset = json.load(f)
    gt_api = COCO(COCO_MINI_ANN)
    dets = perturbed_detections(dataset)
    coco_eval = COCOeval(gt_api, gt_api.loadRes(copy.deepcopy(dets)), 'bbox')
    coco_eval.params.iouThrs = np.array([0.5])
    coco_eval.params.maxDets = [100]
    coco_eval.evaluate()
    return dataset, gt_api, dets, coco_eval


def _image_class_inputs(gt_api, dets_by_key, img_id, cat_id):
    """Our inputs for one (image, class), in COCOeval's orders."""
    anns = gt_api.loadAnns(gt_api.getAnnIds(imgIds=[img_id], catIds=[cat_id]))
    dets = dets_by_key.get((img_id, cat_id), [])
    det_boxes = np.array([d['bbox'] for d in dets]).reshape(-1, 4)
    gt_boxes = np.array([a['bbox'] for a in anns]).reshape(-1, 4)
    crowd = np.array([a['iscrowd'] for a in anns])
    return anns, dets, dict(
        ious=coco_bbox_iou(det_boxes, gt_boxes, crowd),
        det_scores=[d['score'] for d in dets],
        det_areas=det_boxes[:, 2] * det_boxes[:, 3],
        gt_iscrowd=crowd,
        gt_areas=[a['area'] for a in anns])


@needs_coco_mini
def test_matching_equals_cocoeval_on_coco_mini(coco_mini):
    """TP / FP / ignored detection sets and IoUs equal COCOeval's at 0.5."""
    _, gt_api, _, coco_eval = coco_mini
    dets_by_key = {}
    for det in coco_eval.cocoDt.dataset['annotations']:
        dets_by_key.setdefault((det['image_id'], det['category_id']),
                               []).append(det)
    area_of = {tuple(r): n for n, r in zip(coco_eval.params.areaRngLbl,
                                           coco_eval.params.areaRng)}
    checked = num_tp = num_crowd_ignored = 0
    for e in coco_eval.evalImgs:
        if e is None:
            continue
        anns, dets, inputs = _image_class_inputs(gt_api, dets_by_key,
                                                 e['image_id'],
                                                 e['category_id'])
        coco_ious = coco_eval.ious[e['image_id'], e['category_id']]
        if len(coco_ious):
            order = np.argsort([-d['score'] for d in dets], kind='mergesort')
            np.testing.assert_allclose(inputs['ious'][order], coco_ious,
                                       atol=1e-12)
        match = match_image_class(
            area_range=COCO_AREA_RANGES[area_of[tuple(e['aRng'])]], **inputs)
        det_ids = np.array([dets[i]['id'] for i in match.det_index])
        assert det_ids.tolist() == e['dtIds']
        coco_tp = (e['dtMatches'][0] > 0) & ~e['dtIgnore'][0].astype(bool)
        coco_fp = (e['dtMatches'][0] == 0) & ~e['dtIgnore'][0].astype(bool)
        assert match.is_tp.tolist() == coco_tp.tolist()
        assert match.is_fp.tolist() == coco_fp.tolist()
        gt_ids = [a['id'] for a in anns]
        matched_ids = [gt_ids[g] if g >= 0 else 0 for g in match.matched_gt]
        np.testing.assert_array_equal(matched_ids, e['dtMatches'][0])
        assert match.num_gt == int((e['gtIgnore'] == 0).sum())
        checked += 1
        num_tp += int(coco_tp.sum())
        num_crowd_ignored += int(
            (e['dtIgnore'][0].astype(bool) & (e['dtMatches'][0] > 0)).sum())
    # The comparison is not vacuous: many evaluations, TPs and crowd hits.
    assert checked > 500 and num_tp > 300 and num_crowd_ignored > 0


def cocoeval_brute_force_olrp(coco_eval, area='all', tau=0.5):
    """Per-category oLRP from COCOeval's matches, by explicit loops over
    the distinct score thresholds (independent of mmrank's accumulation)."""
    a = coco_eval.params.areaRngLbl.index(area)
    per_cat = {}
    num_imgs = len(coco_eval.params.imgIds)
    for k, cat_id in enumerate(coco_eval.params.catIds):
        evals = coco_eval.evalImgs[(k * 4 + a) * num_imgs:(k * 4 + a + 1) *
                                   num_imgs]
        dets, num_gt = [], 0
        for e in evals:
            if e is None:
                continue
            num_gt += int((e['gtIgnore'] == 0).sum())
            ious = coco_eval.ious[e['image_id'], cat_id]
            gt_index = {g: i for i, g in enumerate(
                gt['id'] for gt in coco_eval._gts[e['image_id'], cat_id])}
            for d, score in enumerate(e['dtScores']):
                if e['dtIgnore'][0, d]:
                    continue
                gt_id = int(e['dtMatches'][0, d])
                iou = ious[d, gt_index[gt_id]] if gt_id else 0.0
                dets.append((score, gt_id > 0, iou))
        if num_gt == 0:
            continue
        best = (1.0, None)
        for s in sorted({d[0] for d in dets}, reverse=True):
            tp = sum(1 for d in dets if d[0] >= s and d[1])
            fp = sum(1 for d in dets if d[0] >= s and not d[1])
            loc = sum(1 - d[2] for d in dets if d[0] >= s and d[1])
            lrp = (loc / (1 - tau) + fp + num_gt - tp) / (num_gt + fp)
            if tp and lrp < best[0]:
                best = (lrp, s)
        per_cat[cat_id] = best
    return per_cat


@needs_coco_mini
def test_metric_equals_cocoeval_brute_force_on_coco_mini(coco_mini, tmp_path):
    dataset, _, dets, coco_eval = coco_mini
    metric = LRPMetric(ann_file=COCO_MINI_ANN, area_ranges=True,
                       classwise=True, out_dir=str(tmp_path))
    values = metric.evaluate_coco_json(dets)
    reference = cocoeval_brute_force_olrp(coco_eval)
    expected = np.mean([v[0] for v in reference.values()])
    assert values['bbox_oLRP'] == pytest.approx(expected, abs=1e-3)
    assert 0.2 < expected < 0.8  # a realistic, non-degenerate detector
    with open(tmp_path / 'bbox_lrp_thresholds.json') as f:
        thresholds = json.load(f)
    names = {c['id']: c['name'] for c in dataset['categories']}
    for cat_id, (olrp, thr) in reference.items():
        entry = thresholds[names[cat_id]]
        assert entry['oLRP'] == pytest.approx(olrp, abs=1e-12)
        if thr is None:
            assert entry['threshold'] is None
        else:
            assert entry['threshold'] == pytest.approx(thr, abs=1e-12)
    small = cocoeval_brute_force_olrp(coco_eval, 'small')
    assert values['bbox_oLRP_s'] == pytest.approx(
        np.mean([v[0] for v in small.values()]), abs=1e-3)


def mm_sample(img_id, boxes, scores, labels, gt=None, masks=None,
              shape=(100, 120), device='cpu'):
    """An mmdet-style data sample dict (as Evaluator passes them), with the
    predictions on ``device`` (where the model left them)."""
    pred = dict(
        bboxes=torch.tensor(boxes, dtype=torch.float32,
                            device=device).reshape(-1, 4),
        scores=torch.tensor(scores, dtype=torch.float32, device=device),
        labels=torch.tensor(labels, dtype=torch.int64, device=device))
    if masks is not None:
        pred['masks'] = torch.as_tensor(masks, dtype=torch.bool,
                                        device=device)
    sample = dict(img_id=img_id, ori_shape=shape, pred_instances=pred)
    if gt is not None:
        sample['instances'] = gt
    return sample


def gt_instances(boxes, labels, ignore=None):
    ignore = ignore or [0] * len(boxes)
    return [
        dict(bbox=b, bbox_label=l, ignore_flag=i)
        for b, l, i in zip(boxes, labels, ignore)
    ]


def test_metric_process_and_compute_without_ann_file(tmp_path, device):
    # Image 0 is the hand-computed case of test_functional_lrp (0.775 at
    # 0.6) as xyxy boxes; image 1 has a class-1 object and a crowd region.
    samples = [
        mm_sample(0, [[0, 0, 10, 8], [50, 50, 60, 60], [20, 0, 30, 6],
                      [40, 0, 50, 5.5], [100, 100, 105, 105]],
                  [.9, .8, .7, .6, .5], [0] * 5,
                  gt=gt_instances([[0, 0, 10, 10], [20, 0, 30, 10],
                                   [40, 0, 50, 10]], [0, 0, 0]),
                  device=device),
        mm_sample(1, [[0, 0, 20, 20], [60, 60, 70, 70]], [.8, .9], [1, 1],
                  gt=gt_instances([[0, 0, 20, 20], [50, 50, 100, 100]],
                                  [1, 1], ignore=[0, 1]), device=device),
    ]
    metric = LRPMetric(classwise=True, out_dir=str(tmp_path),
                       save_plots=True)
    metric.dataset_meta = dict(classes=('cell', 'digit', 'unused'))
    metric.process({}, samples[:1])
    metric.process({}, samples[1:])
    values = metric.evaluate(size=2)
    # class 1: the score-.9 detection lies in the crowd region (ignored),
    # the .8 one is exact: oLRP 0. Class 2 has no ground truth.
    assert values['lrp/bbox_oLRP'] == pytest.approx((0.775 + 0) / 2,
                                                    abs=1e-3)
    assert values['lrp/bbox_cell_oLRP'] == pytest.approx(0.775)
    assert values['lrp/bbox_digit_oLRP'] == 0.0
    assert np.isnan(values['lrp/bbox_unused_oLRP'])
    assert values['lrp/bbox_oLRP_FN'] == 0.0
    thresholds = json.loads(
        (tmp_path / 'bbox_lrp_thresholds.json').read_text())
    assert thresholds['cell']['threshold'] == pytest.approx(0.6)
    assert thresholds['unused']['oLRP'] is None
    plots = sorted(p.name for p in (tmp_path / 'bbox_lrp_plots').iterdir())
    assert plots == ['000_cell.png', '001_digit.png']


def test_metric_with_ann_file_keeps_unpredicted_images(tmp_path):
    ann = dict(
        images=[dict(id=i, width=100, height=100) for i in (1, 2)],
        categories=[dict(id=7, name='a'), dict(id=3, name='b')],
        annotations=[
            dict(id=1, image_id=1, category_id=7, bbox=[0, 0, 10, 10],
                 area=100, iscrowd=0),
            dict(id=2, image_id=2, category_id=3, bbox=[0, 0, 10, 10],
                 area=100, iscrowd=0),
        ])
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(ann))
    metric = LRPMetric(ann_file=str(ann_file),
                       outfile_prefix=str(tmp_path / 'res'))
    metric.dataset_meta = dict(classes=('a', 'b'))
    # Only image 1 is predicted (label 0 = category 7): class 'b' is missed.
    metric.process({}, [mm_sample(1, [[0, 0, 10, 10]], [.5], [0])])
    values = metric.evaluate(size=1)
    assert values['lrp/bbox_oLRP'] == pytest.approx(0.5)
    assert values['lrp/bbox_oLRP_loc'] == 0.0
    dumped = json.loads((tmp_path / 'res.bbox.json').read_text())
    assert dumped == [dict(image_id=1, bbox=[0., 0., 10., 10.], score=0.5,
                           category_id=7)]


def test_format_only_dumps_and_returns_nothing(tmp_path):
    with pytest.raises(ValueError, match='outfile_prefix'):
        LRPMetric(format_only=True)
    metric = LRPMetric(format_only=True, outfile_prefix=str(tmp_path / 'x'))
    metric.dataset_meta = dict(classes=('a', ))
    metric.process({}, [
        mm_sample(4, [[0, 0, 5, 5]], [.3], [0],
                  gt=gt_instances([[0, 0, 5, 5]], [0]))
    ])
    assert metric.compute_metrics(metric.results) == {}
    assert json.loads((tmp_path / 'x.bbox.json').read_text())[0]['score'] \
        == pytest.approx(0.3)


def test_bad_arguments():
    with pytest.raises(ValueError, match='metric'):
        LRPMetric(metric='proposal')
    with pytest.raises(ValueError, match='iou_thr'):
        LRPMetric(iou_thr=1.5)
    with pytest.raises(ValueError, match='max_dets'):
        LRPMetric(max_dets=0)
    metric = LRPMetric()
    metric.dataset_meta = dict(classes=('a', ))
    with pytest.raises(ValueError, match='instances'):
        metric.process({}, [mm_sample(0, [[0, 0, 1, 1]], [.5], [0])])


def test_segm_uses_mask_iou(device):
    gt_mask = np.zeros((40, 40), dtype=bool)
    gt_mask[0:20, 0:20] = True
    good = gt_mask.copy()
    shifted = np.zeros_like(gt_mask)
    shifted[0:20, 5:25] = True  # IoU 300 / 500 = 0.6 with the object
    from pycocotools import mask as mask_util
    rle = mask_util.encode(np.asfortranarray(gt_mask[:, :, None]).astype(
        np.uint8))[0]
    gt = gt_instances([[0, 0, 20, 20]], [0])
    gt[0]['mask'] = rle
    metric = LRPMetric(metric=['bbox', 'segm'])
    metric.dataset_meta = dict(classes=('a', ))
    # Boxes are exact for both detections; only the masks differ.
    metric.process({}, [
        mm_sample(0, [[0, 0, 20, 20]], [.9], [0], gt=gt,
                  masks=shifted[None], shape=(40, 40), device=device)
    ])
    values = metric.evaluate(size=1)
    assert values['lrp/bbox_oLRP'] == 0.0
    # segm: one TP with IoU 0.6: LRP = (0.4 / 0.5) / 1.
    assert values['lrp/segm_oLRP'] == pytest.approx(0.8)
    assert values['lrp/segm_oLRP_loc'] == pytest.approx(0.4)
    metric.process({}, [
        mm_sample(0, [[0, 0, 20, 20]], [.9], [0], gt=gt, masks=good[None],
                  shape=(40, 40), device=device)
    ])
    assert metric.evaluate(size=1)['lrp/segm_oLRP'] == 0.0


def test_beside_coco_metric_in_one_evaluator(tmp_path):
    """CocoMetric and LRPMetric in one Evaluator: distinct keys."""
    pytest.importorskip('mmdet')
    from mmengine.evaluator import Evaluator

    from mmdet.evaluation import CocoMetric
    ann = dict(
        images=[dict(id=1, width=100, height=100)],
        categories=[dict(id=1, name='a')],
        annotations=[
            dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 40, 40],
                 area=1600, iscrowd=0)
        ])
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(ann))
    evaluator = Evaluator([
        CocoMetric(ann_file=str(ann_file)),
        LRPMetric(ann_file=str(ann_file))
    ])
    evaluator.dataset_meta = dict(classes=('a', ))
    # The model's output: DetDataSample objects, as in a Runner's test loop.
    from mmengine.structures import InstanceData

    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(img_id=1, ori_shape=(100, 100)))
    sample.pred_instances = InstanceData(**mm_sample(
        1, [[0, 0, 40, 40], [50, 50, 90, 90]], [.9, .8],
        [0, 0])['pred_instances'])
    evaluator.process([sample])
    values = evaluator.evaluate(1)
    assert values['coco/bbox_mAP_50'] == 1.0
    assert values['lrp/bbox_oLRP'] == 0.0
    assert values['lrp/bbox_oLRP_FP'] == 0.0


def _xywh(boxes: np.ndarray) -> np.ndarray:
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1)


def random_samples(num_images=6, seed=0, device='cpu'):
    """mmdet-style samples with ground truth, and the same data as
    eval_lrp images (integer boxes, float32 scores: exact in tensors)."""
    rng = np.random.default_rng(seed)
    samples, images = [], []
    for img_id in range(num_images):
        corner = rng.integers(0, 50, (5, 2))
        gt_boxes = np.concatenate([corner, corner + rng.integers(5, 40,
                                                                 (5, 2))], 1)
        gt_labels = rng.integers(0, 3, 5)
        det_boxes = np.concatenate([
            gt_boxes + rng.integers(-3, 4, gt_boxes.shape),
            np.sort(rng.integers(0, 90, (3, 4)), 1)
        ]).astype(np.float64)
        scores = rng.random(8).astype(np.float32).astype(np.float64)
        labels = np.concatenate([gt_labels, rng.integers(0, 3, 3)])
        samples.append(
            mm_sample(img_id, det_boxes, scores, labels,
                      gt=gt_instances(gt_boxes.tolist(), gt_labels.tolist()),
                      device=device))
        det_xywh, gt_xywh = _xywh(det_boxes), _xywh(gt_boxes.astype(float))
        images.append(
            dict(det_regions=det_xywh, det_scores=scores, det_labels=labels,
                 det_areas=det_xywh[:, 2] * det_xywh[:, 3],
                 gt_regions=gt_xywh, gt_labels=gt_labels,
                 gt_iscrowd=np.zeros(5),
                 gt_areas=gt_xywh[:, 2] * gt_xywh[:, 3]))
    return samples, images


def test_functional_agrees_with_metric_on_random_data(device):
    """Samples through process() give eval_lrp's values on the same data."""
    samples, images = random_samples(device=device)
    metric = LRPMetric()
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.process({}, samples)
    values = metric.evaluate(size=len(samples))
    expected = eval_lrp(images, 3)['all']
    assert 0 < expected.molrp < 1
    assert values['lrp/bbox_oLRP'] == pytest.approx(expected.molrp, abs=1e-3)
    assert values['lrp/bbox_oLRP_loc'] == pytest.approx(expected.loc,
                                                        abs=1e-3)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _gloo_worker(rank: int, port: int, out_dir: str) -> None:
    torch.distributed.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    try:
        samples, _ = random_samples()
        metric = LRPMetric()
        metric.dataset_meta = dict(classes=('a', 'b', 'c'))
        metric.process({}, samples[rank::2])  # each rank sees half
        values = metric.evaluate(size=len(samples))
        with open(osp.join(out_dir, f'{rank}.json'), 'w') as f:
            json.dump(values, f)
    finally:
        torch.distributed.destroy_process_group()


def test_results_collected_across_two_gloo_ranks(tmp_path):
    torch.multiprocessing.spawn(
        _gloo_worker, args=(_free_port(), str(tmp_path)), nprocs=2)
    per_rank = [json.loads((tmp_path / f'{r}.json').read_text())
                for r in (0, 1)]
    samples, _ = random_samples()
    metric = LRPMetric()
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.process({}, samples)
    full = metric.evaluate(size=len(samples))
    assert per_rank[0] == per_rank[1] == full
    # Not vacuous: one rank's half of the images alone gives other values.
    metric.process({}, samples[0::2])
    assert metric.evaluate(size=len(samples) // 2) != full


def test_outputs_go_to_the_log_directory_by_default(tmp_path):
    """Without out_dir, files go beside the current log file, which in a
    Runner is <work_dir>/<timestamp>/<timestamp>.log."""
    from mmengine.logging import MMLogger
    log_dir = tmp_path / 'work_dir' / '20260101_000000'
    log_dir.mkdir(parents=True)
    MMLogger.get_instance(
        'lrp_metric_test', log_file=str(log_dir / '20260101_000000.log'))
    try:
        metric = LRPMetric()
        metric.dataset_meta = dict(classes=('a', ))
        metric.process({}, [
            mm_sample(0, [[0, 0, 5, 5]], [.3], [0],
                      gt=gt_instances([[0, 0, 5, 5]], [0]))
        ])
        assert metric.evaluate(size=1)['lrp/bbox_oLRP'] == 0.0
    finally:
        # Later tests get a current logger without the file again.
        MMLogger.get_instance('lrp_metric_test_done')
    thresholds = json.loads((log_dir / 'bbox_lrp_thresholds.json').read_text())
    assert thresholds['a']['threshold'] == pytest.approx(0.3)

"""COCO I/O of the LRP evaluation: predictions and ground truth as COCO
records, COCO results json in and out (named as mmdet's ``CocoMetric``
names them)."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.fileio import dump, get_local_path

#: Per-image detections: ``{img_id: dict(bboxes (xywh), scores, labels,
#: masks (optional RLE list))}``.
Detections = Dict[int, Dict[str, object]]


def load_coco_api(ann_file: str, backend_args: Optional[dict] = None):
    """pycocotools ``COCO`` of a COCO-format annotation file."""
    from pycocotools.coco import COCO
    with get_local_path(ann_file, backend_args=backend_args) as local_path:
        return COCO(local_path)


def prediction_record(sample: dict) -> dict:
    """The predictions of one data sample as numpy arrays.

    Args:
        sample: A data sample with ``img_id`` and ``pred_instances``
            (``bboxes`` ``xyxy``, ``scores``, ``labels``, optionally
            ``masks`` (binary or RLE) and ``mask_scores``).

    Returns:
        dict: ``img_id``, ``bboxes``, ``scores``, ``labels`` and, when
        predicted, ``masks`` (RLEs with ``str`` counts) and ``mask_scores``.
    """
    pred = sample['pred_instances']
    record = dict(
        img_id=sample['img_id'],
        bboxes=to_numpy(pred['bboxes']).astype(np.float32),
        scores=to_numpy(pred['scores']).astype(np.float32),
        labels=to_numpy(pred['labels']).astype(np.int64))
    if 'masks' in pred:
        masks = pred['masks']
        record['masks'] = (
            encode_masks(to_numpy(masks)) if hasattr(masks, 'shape') else
            [str_counts(rle) for rle in masks])
    if 'mask_scores' in pred:
        record['mask_scores'] = to_numpy(
            pred['mask_scores']).astype(np.float32)
    return record


def mask_iou(det_rles: list, gt_rles: list,
             gt_iscrowd: np.ndarray) -> np.ndarray:
    """COCO mask IoU (crowd regions as in
    :func:`~.functional.coco_bbox_iou`)."""
    from pycocotools import mask as mask_util
    return np.asarray(
        mask_util.iou(det_rles, gt_rles, [int(c) for c in gt_iscrowd]),
        dtype=np.float64).reshape(len(det_rles), len(gt_rles))


def xyxy_to_xywh(bboxes: np.ndarray) -> np.ndarray:
    """``x1y1x2y2`` boxes (any array-like) as float64 ``xywh`` (N, 4)."""
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([bboxes[:, :2], bboxes[:, 2:] - bboxes[:, :2]], 1)


def to_numpy(value) -> np.ndarray:
    """Tensor (any device) or array-like to a numpy array."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().float().numpy() \
            if value.is_floating_point() else value.detach().cpu().numpy()
    return np.asarray(value)


def str_counts(rle: dict) -> dict:
    """An RLE with ``str`` counts (json-serialisable), as CocoMetric."""
    counts = rle['counts']
    return dict(rle, counts=counts.decode()
                if isinstance(counts, bytes) else counts)


def encode_masks(masks: np.ndarray) -> List[dict]:
    """Binary (N, H, W) masks to COCO RLEs with ``str`` counts."""
    from pycocotools import mask as mask_util
    return [
        str_counts(
            mask_util.encode(
                np.asfortranarray(mask[:, :, None].astype(np.uint8)))[0])
        for mask in masks
    ]


def gt_api_from_samples(gts: Sequence[dict], classes: Sequence[str]):
    """A COCO api over the samples' ground truth (``CocoMetric``'s
    ``gt_to_coco_json``: category id = label, area = box area).

    Args:
        gts: Per image ``img_id``, ``width``, ``height`` and ``anns`` (the
            data sample's ``instances``).
        classes: The class names, by label.
    """
    from pycocotools.coco import COCO
    images, annotations = [], []
    for gt in gts:
        images.append(
            dict(id=gt['img_id'], width=gt['width'],
                 height=gt['height']))
        for ann in gt['anns']:
            x1, y1, x2, y2 = (float(v) for v in ann['bbox'])
            coco_ann = dict(
                id=len(annotations) + 1,
                image_id=gt['img_id'],
                bbox=[x1, y1, x2 - x1, y2 - y1],
                area=(x2 - x1) * (y2 - y1),
                iscrowd=int(ann.get('ignore_flag', 0)),
                category_id=int(ann['bbox_label']))
            if ann.get('mask', None) is not None:
                coco_ann['segmentation'] = ann['mask']
            annotations.append(coco_ann)
    api = COCO()
    api.dataset = dict(
        images=images,
        annotations=annotations,
        categories=[
            dict(id=i, name=name)
            for i, name in enumerate(classes)
        ])
    api.createIndex()
    return api


def class_ids(api, classes: Optional[Sequence[str]] = None
              ) -> Tuple[List[int], List[str]]:
    """Category ids of the label indices, and the class names.

    Args:
        api: pycocotools ``COCO`` of the ground truth.
        classes: The dataset's class names by label; None: every category
            of ``api`` in file order.
    """
    if classes:
        cat_ids = api.getCatIds(catNms=list(classes))
    else:
        cat_ids = api.getCatIds()
    return cat_ids, [api.cats[c]['name'] for c in cat_ids]


def detections_from_results(preds: Sequence[dict],
                            metric: str) -> Detections:
    """Per-image detections from processed predictions.

    Args:
        preds: Results stored by :func:`prediction_record`.
        metric: ``'bbox'`` or ``'segm'`` (segm uses ``mask_scores``
            when present, as ``CocoMetric``).
    """
    detections = {}
    for pred in preds:
        det = dict(
            bboxes=xyxy_to_xywh(pred['bboxes']),
            scores=np.asarray(pred['scores'], dtype=np.float64),
            labels=np.asarray(pred['labels'], dtype=np.int64))
        if metric == 'segm':
            if 'masks' not in pred:
                raise ValueError(
                    "metric 'segm' needs predicted masks "
                    '(pred_instances.masks)')
            det['masks'] = pred['masks']
            det['scores'] = np.asarray(
                pred.get('mask_scores', pred['scores']), np.float64)
        detections[pred['img_id']] = det
    return detections


def detections_from_coco_json(dets: Sequence[dict],
                              cat_ids: Sequence[int],
                              metric: str = 'bbox') -> Detections:
    """Per-image detections from a COCO results list (json).

    Args:
        dets: Dicts with ``image_id``, ``category_id``, ``score`` and
            ``bbox`` (``xywh``) for bbox or ``segmentation`` (RLE) for
            segm.
        cat_ids: Category id of each label index.
        metric: ``'bbox'`` or ``'segm'``.
    """
    label_of = {cat: i for i, cat in enumerate(cat_ids)}
    grouped: Dict[int, List[dict]] = {}
    for det in dets:
        if det['category_id'] in label_of:
            grouped.setdefault(det['image_id'], []).append(det)
    detections = {}
    for img_id, items in grouped.items():
        det = dict(
            scores=np.array([d['score'] for d in items], np.float64),
            labels=np.array([label_of[d['category_id']] for d in items],
                            np.int64))
        if metric == 'segm':
            det['masks'] = [d['segmentation'] for d in items]
        else:
            det['bboxes'] = np.array([d['bbox'] for d in items],
                                     np.float64).reshape(-1, 4)
        detections[img_id] = det
    return detections


def dump_results(preds: Sequence[dict], cat_ids: Sequence[int],
                 outfile_prefix: str) -> Dict[str, str]:
    """Write COCO results json files, named as ``CocoMetric`` does."""
    files = {}
    for metric in ('bbox', 'segm'):
        if metric == 'segm' and not all('masks' in p for p in preds):
            continue
        entries = []
        for img_id, det in detections_from_results(preds, metric).items():
            for i, label in enumerate(det['labels']):
                entry = dict(
                    image_id=img_id,
                    bbox=det['bboxes'][i].tolist(),
                    score=float(det['scores'][i]),
                    category_id=cat_ids[label])
                if metric == 'segm':
                    entry['segmentation'] = det['masks'][i]
                entries.append(entry)
        files[metric] = f'{outfile_prefix}.{metric}.json'
        dump(entries, files[metric])
    return files


def image_records(detections: Detections, api, cat_ids: List[int],
                  metric: str) -> List[dict]:
    """Per-image records of :func:`~.functional.eval_lrp` over the api's
    images (an image without detections has none).

    Args:
        detections: Per-image detections.
        api: pycocotools ``COCO`` of the ground truth.
        cat_ids: Category id of each label index.
        metric: ``'bbox'`` or ``'segm'``.
    """
    from pycocotools import mask as mask_util
    label_of = {cat: i for i, cat in enumerate(cat_ids)}
    images = []
    for img_id in api.getImgIds():
        anns = [
            a for a in api.imgToAnns.get(img_id, [])
            if a['category_id'] in label_of
        ]
        det = detections.get(
            img_id,
            dict(bboxes=np.zeros((0, 4)), scores=np.zeros(0),
                 labels=np.zeros(0, np.int64), masks=[]))
        record = dict(
            det_scores=det['scores'],
            det_labels=det['labels'],
            gt_labels=np.array([label_of[a['category_id']] for a in anns],
                               np.int64),
            gt_iscrowd=np.array([a.get('iscrowd', 0) for a in anns]),
            gt_areas=np.array([a['area'] for a in anns], np.float64))
        if metric == 'segm':
            record['det_regions'] = det['masks']
            record['det_areas'] = np.asarray(
                mask_util.area(det['masks']) if det['masks'] else [],
                np.float64).reshape(-1)
            record['gt_regions'] = [api.annToRLE(a) for a in anns]
        else:
            record['det_regions'] = det['bboxes']
            record['det_areas'] = det['bboxes'][:, 2] * det['bboxes'][:, 3]
            record['gt_regions'] = np.array([a['bbox'] for a in anns],
                                            np.float64).reshape(-1, 4)
        images.append(record)
    return images

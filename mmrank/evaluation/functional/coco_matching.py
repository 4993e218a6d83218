"""Detections matched to ground truth as COCO's evaluation matches them.

Follows ``pycocotools.cocoeval.COCOeval.evaluateImg`` at one IoU threshold:
per image and class, greedily in descending score order; crowd regions
absorb any number of detections and are ignored, as are ground truths
outside the area range and unmatched detections outside it. Nothing here is
specific to LRP. Numpy only; IoUs of masks come from a caller-supplied
``iou_fn`` (e.g. ``pycocotools.mask.iou``).
"""
from dataclasses import dataclass
from typing import Callable, Dict, Tuple

import numpy as np

#: COCO's area ranges (pixels², inclusive bounds), by name.
COCO_AREA_RANGES: Dict[str, Tuple[float, float]] = {
    'all': (0.0, 1e5**2),
    'small': (0.0, 32.0**2),
    'medium': (32.0**2, 96.0**2),
    'large': (96.0**2, 1e5**2),
}

IoUFn = Callable[[object, object, np.ndarray], np.ndarray]


def coco_bbox_iou(det_boxes: np.ndarray, gt_boxes: np.ndarray,
                  gt_iscrowd: np.ndarray) -> np.ndarray:
    """IoU of ``xywh`` boxes as COCO computes it (``maskApi.c: bbIou``).

    For a crowd ground truth the union is the detection's own area, so a
    detection inside a crowd region has IoU 1 with it.

    Args:
        det_boxes: (D, 4) detections, ``[x, y, w, h]``.
        gt_boxes: (G, 4) ground truths, ``[x, y, w, h]``.
        gt_iscrowd: (G,) crowd flags of the ground truths.

    Returns:
        (D, G) IoU matrix.
    """
    det = np.asarray(det_boxes, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    crowd = np.asarray(gt_iscrowd, dtype=bool).reshape(-1)
    if crowd.shape[0] != gt.shape[0]:
        raise ValueError(f'gt_iscrowd has {crowd.shape[0]} flags for '
                         f'{gt.shape[0]} gt_boxes')
    det_x2, det_y2 = det[:, 0] + det[:, 2], det[:, 1] + det[:, 3]
    gt_x2, gt_y2 = gt[:, 0] + gt[:, 2], gt[:, 1] + gt[:, 3]
    width = (np.minimum(det_x2[:, None], gt_x2[None]) -
             np.maximum(det[:, None, 0], gt[None, :, 0])).clip(min=0)
    height = (np.minimum(det_y2[:, None], gt_y2[None]) -
              np.maximum(det[:, None, 1], gt[None, :, 1])).clip(min=0)
    inter = width * height
    det_area = (det[:, 2] * det[:, 3])[:, None]
    gt_area = (gt[:, 2] * gt[:, 3])[None]
    union = np.where(crowd[None], det_area, det_area + gt_area - inter)
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(inter > 0, inter / union, 0.0)
    return iou


@dataclass
class ImageClassMatch:
    """Matching of one image's detections of one class (one area range).

    Attributes:
        det_index: (D,) indices into the caller's detection array of the
            evaluated detections, in descending score order (stable).
        scores: (D,) their scores.
        matched_gt: (D,) index into the caller's ground-truth array of the
            matched ground truth, -1 if unmatched.
        ious: (D,) IoU with the matched ground truth, 0 if unmatched.
        ignored: (D,) True for detections that neither count as TP nor FP
            (matched to an ignored ground truth, or unmatched and outside
            the area range).
        num_gt: number of non-ignored ground truths.
    """
    det_index: np.ndarray
    scores: np.ndarray
    matched_gt: np.ndarray
    ious: np.ndarray
    ignored: np.ndarray
    num_gt: int

    @property
    def is_tp(self) -> np.ndarray:
        """(D,) True for true positives."""
        return (self.matched_gt >= 0) & ~self.ignored

    @property
    def is_fp(self) -> np.ndarray:
        """(D,) True for false positives."""
        return (self.matched_gt < 0) & ~self.ignored


def _in_range(areas: np.ndarray, area_range: Tuple[float, float]) -> bool:
    return (areas >= area_range[0]) & (areas <= area_range[1])


def match_image_class(
        ious: np.ndarray,
        det_scores: np.ndarray,
        det_areas: np.ndarray,
        gt_iscrowd: np.ndarray,
        gt_areas: np.ndarray,
        area_range: Tuple[float, float] = COCO_AREA_RANGES['all'],
        iou_thr: float = 0.5,
        max_dets: int = 100) -> ImageClassMatch:
    """Greedy COCO matching of one image's detections of one class.

    Follows ``COCOeval.evaluateImg`` at a single IoU threshold: detections
    in descending score order (stable) each take the unmatched (or crowd)
    ground truth of highest IoU >= ``iou_thr``, preferring non-ignored
    ground truths; crowd regions may absorb several detections.

    Args:
        ious: (D, G) IoUs between detections and ground truths, in the
            callers' orders (crowd IoUs as in :func:`coco_bbox_iou`).
        det_scores: (D,) detection scores.
        det_areas: (D,) detection areas (box ``w * h`` or mask area).
        gt_iscrowd: (G,) crowd flags.
        gt_areas: (G,) ground-truth areas (the annotation's ``area``).
        area_range: Inclusive (min, max) area of the evaluated objects.
        iou_thr: TP validation threshold τ.
        max_dets: Number of top-scoring detections evaluated.

    Returns:
        The matching, in descending score order.
    """
    det_scores = np.asarray(det_scores, dtype=np.float64).reshape(-1)
    num_det = det_scores.shape[0]
    gt_iscrowd = np.asarray(gt_iscrowd, dtype=bool).reshape(-1)
    num_gt = gt_iscrowd.shape[0]
    ious = np.asarray(ious, dtype=np.float64).reshape(num_det, num_gt)
    if max_dets < 1:
        raise ValueError(f'max_dets must be >= 1, got {max_dets}')
    gt_ignored = gt_iscrowd | ~_in_range(
        np.asarray(gt_areas, dtype=np.float64).reshape(-1), area_range)
    gt_order = np.argsort(gt_ignored, kind='mergesort')
    det_order = np.argsort(-det_scores, kind='mergesort')[:max_dets]
    ious = ious[det_order][:, gt_order]
    crowd, ignored_sorted = gt_iscrowd[gt_order], gt_ignored[gt_order]

    gt_taken = np.zeros(num_gt, dtype=bool)
    matched = np.full(det_order.shape[0], -1, dtype=np.int64)
    matched_iou = np.zeros(det_order.shape[0])
    for d in range(det_order.shape[0]):
        best, best_iou = -1, min(iou_thr, 1 - 1e-10)
        for g in range(num_gt):
            if gt_taken[g] and not crowd[g]:
                continue
            if best > -1 and not ignored_sorted[best] and ignored_sorted[g]:
                break
            if ious[d, g] < best_iou:
                continue
            best, best_iou = g, ious[d, g]
        if best > -1:
            gt_taken[best] = True
            matched[d], matched_iou[d] = best, best_iou

    hit = matched >= 0
    det_areas = np.asarray(det_areas, dtype=np.float64).reshape(-1)
    det_ignored = ~hit & ~_in_range(det_areas[det_order], area_range)
    det_ignored[hit] = ignored_sorted[matched[hit]]
    matched[hit] = gt_order[matched[hit]]
    return ImageClassMatch(
        det_index=det_order,
        scores=det_scores[det_order],
        matched_gt=matched,
        ious=matched_iou,
        ignored=det_ignored,
        num_gt=int((~gt_ignored).sum()))


def _subset(regions, index: np.ndarray):
    """Rows ``index`` of an array, or items of a list (e.g. RLE masks)."""
    if isinstance(regions, np.ndarray):
        return regions[index]
    return [regions[i] for i in index]


def match_image_label(image: dict, label: int, iou_fn: IoUFn,
                      area_ranges: Dict[str, Tuple[float, float]],
                      iou_thr: float,
                      max_dets: int) -> Dict[str, ImageClassMatch]:
    """Match one image's detections of class ``label`` per area range.

    Args:
        image: One image's record (keys :data:`IMAGE_KEYS`, see
            :func:`~.lrp.eval_lrp`).
        label: The class index.
        iou_fn: ``iou_fn(det_regions, gt_regions, gt_iscrowd)`` -> (D, G).
        area_ranges: Named inclusive area ranges.
        iou_thr: TP validation threshold τ.
        max_dets: Detections evaluated per image and class (top scores).

    Returns:
        The matching of each area range, by name.
    """
    det_idx = np.flatnonzero(np.asarray(image['det_labels']) == label)
    gt_idx = np.flatnonzero(np.asarray(image['gt_labels']) == label)
    crowd = np.asarray(image['gt_iscrowd'], dtype=bool)[gt_idx]
    if det_idx.size and gt_idx.size:
        ious = iou_fn(
            _subset(image['det_regions'], det_idx),
            _subset(image['gt_regions'], gt_idx), crowd)
    else:
        ious = np.zeros((det_idx.size, gt_idx.size))
    scores = np.asarray(image['det_scores'], dtype=np.float64)[det_idx]
    det_areas = np.asarray(image['det_areas'], dtype=np.float64)[det_idx]
    gt_areas = np.asarray(image['gt_areas'], dtype=np.float64)[gt_idx]
    return {
        name: match_image_class(ious, scores, det_areas, crowd, gt_areas,
                                area_range, iou_thr, max_dets)
        for name, area_range in area_ranges.items()
    }


IMAGE_KEYS = ('det_regions', 'det_scores', 'det_labels', 'det_areas',
              'gt_regions', 'gt_labels', 'gt_iscrowd', 'gt_areas')

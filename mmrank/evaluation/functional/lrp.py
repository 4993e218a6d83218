"""Localisation-Recall-Precision (LRP) Error and optimal LRP (oLRP).

Implements the performance measure of

    K. Oksuz, B. C. Cam, E. Akbas, S. Kalkan. "Localization Recall
    Precision (LRP): A New Performance Metric for Object Detection",
    ECCV 2018; and "One Metric to Measure them All: Localisation Recall
    Precision (LRP) for Evaluating Visual Detection Tasks", TPAMI 2021.

Detections are matched to ground truth as COCO's evaluation does
(``pycocotools.cocoeval.COCOeval.evaluateImg``: per image and class,
greedily in descending score order, crowd regions absorb any number of
detections and are ignored, as are ground truths outside the area range and
unmatched detections outside it), at the TP validation threshold
``iou_thr`` (τ = 0.5). For a score threshold s, with the detections scoring
at least s (TPAMI Eq. 3)::

    LRP(s) = (Σ_TP (1 - IoU) / (1 - τ) + N_FP + N_FN) / (N_TP + N_FP + N_FN)

Per class, the optimal LRP is the minimum of LRP(s) over the score
thresholds (TPAMI Eq. 9) and the LRP-optimal threshold is its arg-min. Its
components at that threshold (TPAMI Eq. 10) are oLRP_loc (mean 1 - IoU of
the TPs), oLRP_FP = 1 - precision = N_FP / (N_TP + N_FP) and
oLRP_FN = 1 - recall = N_FN / N_GT. moLRP and the mean components average
over classes (TPAMI Eq. 11).

Conventions (identical to the authors' modified pycocotools):

* a class without (non-ignored) ground truth is undefined: NaN everywhere,
  left out of every mean;
* a class with ground truth but no true positive at any threshold (e.g. no
  detections) has oLRP = 1 and oLRP_FN = 1; oLRP_loc, oLRP_FP and the
  threshold are undefined (NaN) and the class is left out of the means of
  oLRP_loc and oLRP_FP (it still counts in moLRP and the mean oLRP_FN);
* at most ``max_dets`` detections per image and class (the top-scoring
  ones) are evaluated, as COCO's ``maxDets=100``.

Score thresholds are the distinct detection scores: a threshold keeps every
detection scoring at least it, so tied detections are kept or dropped
together. (The authors' code also evaluates cut-offs between tied scores,
which no threshold can realise; without ties the two agree exactly.)

This module is numpy only. IoUs of masks come from a caller-supplied
``iou_fn`` (e.g. ``pycocotools.mask.iou``).
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

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


@dataclass
class LRPCurve:
    """LRP and its components at every score threshold of one class.

    All arrays have one entry per distinct score (descending); entry i
    evaluates the detections scoring at least ``thresholds[i]``.
    Undefined components (no TP yet) are NaN.
    """
    thresholds: np.ndarray
    num_tp: np.ndarray
    num_fp: np.ndarray
    num_gt: int
    lrp: np.ndarray
    loc: np.ndarray
    fp: np.ndarray
    fn: np.ndarray

    @property
    def precision(self) -> np.ndarray:
        """Precision at each threshold."""
        return self.num_tp / (self.num_tp + self.num_fp)

    @property
    def recall(self) -> np.ndarray:
        """Recall at each threshold."""
        return self.num_tp / self.num_gt


def lrp_curve(scores: np.ndarray,
              is_tp: np.ndarray,
              tp_ious: np.ndarray,
              num_gt: int,
              iou_thr: float = 0.5) -> LRPCurve:
    """LRP Error (TPAMI Eq. 3) and its components at every score threshold.

    Args:
        scores: (N,) scores of the counted (non-ignored) detections.
        is_tp: (N,) True for TPs, False for FPs.
        tp_ious: (N,) IoU of each TP with its ground truth (any value for
            FPs).
        num_gt: Number of (non-ignored) ground truths, > 0.
        iou_thr: TP validation threshold τ.

    Returns:
        The curve over the distinct scores, highest first.
    """
    if num_gt <= 0:
        raise ValueError(f'num_gt must be positive, got {num_gt}')
    if not 0 <= iou_thr < 1:
        raise ValueError(f'iou_thr must be in [0, 1), got {iou_thr}')
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind='mergesort')
    scores = scores[order]
    is_tp = np.asarray(is_tp, dtype=bool).reshape(-1)[order]
    loc_err = np.where(is_tp, 1 - np.asarray(tp_ious, np.float64)[order], 0.)
    # The last detection of each group of equal scores closes a threshold.
    last = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    if scores.size == 0:
        last = last[:0]
    num_tp = np.cumsum(is_tp)[last].astype(np.float64)
    num_fp = (last + 1) - num_tp
    total_loc = np.cumsum(loc_err)[last]
    num_fn = num_gt - num_tp
    with np.errstate(divide='ignore', invalid='ignore'):
        loc = np.where(num_tp > 0, total_loc / num_tp, np.nan)
        fp = np.where(num_tp > 0, num_fp / (num_tp + num_fp), np.nan)
    return LRPCurve(
        thresholds=scores[last],
        num_tp=num_tp,
        num_fp=num_fp,
        num_gt=int(num_gt),
        lrp=(total_loc / (1 - iou_thr) + num_fp + num_fn) /
        (num_tp + num_fp + num_fn),
        loc=loc,
        fp=fp,
        fn=num_fn / num_gt)


@dataclass
class ClassLRP:
    """Optimal LRP of one class (TPAMI Eqs. 9-10); NaN where undefined.

    Attributes:
        olrp: Optimal LRP.
        loc: oLRP_loc, mean (1 - IoU) of the TPs at the optimum.
        fp: oLRP_FP, 1 - precision at the optimum.
        fn: oLRP_FN, 1 - recall at the optimum.
        threshold: LRP-optimal score threshold.
        num_gt: Number of non-ignored ground truths.
        curve: The LRP curve (None without ground truth).
    """
    olrp: float = np.nan
    loc: float = np.nan
    fp: float = np.nan
    fn: float = np.nan
    threshold: float = np.nan
    num_gt: int = 0
    curve: Optional[LRPCurve] = None


def optimal_lrp(matches: Sequence[ImageClassMatch],
                iou_thr: float = 0.5) -> ClassLRP:
    """Optimal LRP of one class from its per-image matchings.

    Args:
        matches: The class's matchings, one per image (same area range).
        iou_thr: TP validation threshold τ.

    Returns:
        The class's oLRP, components and LRP-optimal threshold.
    """
    num_gt = sum(m.num_gt for m in matches)
    if num_gt == 0:
        return ClassLRP()
    kept = [~m.ignored for m in matches]
    curve = lrp_curve(
        np.concatenate([m.scores[k] for m, k in zip(matches, kept)]),
        np.concatenate([m.is_tp[k] for m, k in zip(matches, kept)]),
        np.concatenate([m.ious[k] for m, k in zip(matches, kept)]),
        num_gt, iou_thr)
    if not (curve.num_tp > 0).any():
        return ClassLRP(olrp=1.0, fn=1.0, num_gt=num_gt, curve=curve)
    best = int(np.argmin(curve.lrp))
    return ClassLRP(
        olrp=float(curve.lrp[best]),
        loc=float(curve.loc[best]),
        fp=float(curve.fp[best]),
        fn=float(curve.fn[best]),
        threshold=float(curve.thresholds[best]),
        num_gt=num_gt,
        curve=curve)


@dataclass
class LRPSummary:
    """oLRP of every class for one area range, and the means over classes.

    Attributes:
        classes: One :class:`ClassLRP` per class index.
        molrp: Mean oLRP over classes with ground truth (TPAMI Eq. 11).
        loc: Mean oLRP_loc over classes with a TP.
        fp: Mean oLRP_FP over classes with a TP.
        fn: Mean oLRP_FN over classes with ground truth.
    """
    classes: List[ClassLRP] = field(default_factory=list)
    molrp: float = np.nan
    loc: float = np.nan
    fp: float = np.nan
    fn: float = np.nan

    @classmethod
    def from_classes(cls, classes: List[ClassLRP]) -> 'LRPSummary':
        """Average the defined per-class values (NaN if none is)."""

        def mean(values: List[float]) -> float:
            values = [v for v in values if not np.isnan(v)]
            return float(np.mean(values)) if values else np.nan

        return cls(
            classes=classes,
            molrp=mean([c.olrp for c in classes]),
            loc=mean([c.loc for c in classes]),
            fp=mean([c.fp for c in classes]),
            fn=mean([c.fn for c in classes]))


def _subset(regions, index: np.ndarray):
    """Rows ``index`` of an array, or items of a list (e.g. RLE masks)."""
    if isinstance(regions, np.ndarray):
        return regions[index]
    return [regions[i] for i in index]


def _image_class_matches(image: dict, label: int, iou_fn: IoUFn,
                         area_ranges: Dict[str, Tuple[float, float]],
                         iou_thr: float,
                         max_dets: int) -> Dict[str, ImageClassMatch]:
    """Match one image's detections of class ``label`` per area range."""
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


_IMAGE_KEYS = ('det_regions', 'det_scores', 'det_labels', 'det_areas',
               'gt_regions', 'gt_labels', 'gt_iscrowd', 'gt_areas')


def eval_lrp(images: Sequence[dict],
             num_classes: int,
             area_ranges: Optional[Dict[str, Tuple[float, float]]] = None,
             iou_thr: float = 0.5,
             max_dets: int = 100,
             iou_fn: IoUFn = coco_bbox_iou) -> Dict[str, LRPSummary]:
    """Optimal LRP of a detector on a dataset, per class and area range.

    Args:
        images: One dict per image with keys ``det_regions`` (boxes
            ``xywh`` (D, 4), or whatever ``iou_fn`` takes), ``det_scores``
            (D,), ``det_labels`` (D,) class indices in
            ``[0, num_classes)``, ``det_areas`` (D,), ``gt_regions``,
            ``gt_labels`` (G,), ``gt_iscrowd`` (G,) and ``gt_areas`` (G,).
        num_classes: Number of classes.
        area_ranges: Named inclusive area ranges; defaults to
            ``{'all': COCO_AREA_RANGES['all']}``.
        iou_thr: TP validation threshold τ.
        max_dets: Detections evaluated per image and class (top scores).
        iou_fn: ``iou_fn(det_regions, gt_regions, gt_iscrowd)`` -> (D, G)
            IoUs; :func:`coco_bbox_iou` for boxes.

    Returns:
        An :class:`LRPSummary` per area-range name.
    """
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    area_ranges = area_ranges or {'all': COCO_AREA_RANGES['all']}
    per_range: Dict[str, List[List[ImageClassMatch]]] = {
        name: [[] for _ in range(num_classes)]
        for name in area_ranges
    }
    for i, image in enumerate(images):
        missing = [k for k in _IMAGE_KEYS if k not in image]
        if missing:
            raise ValueError(f'images[{i}] lacks keys {missing}')
        labels = np.concatenate([
            np.asarray(image['det_labels']).reshape(-1),
            np.asarray(image['gt_labels']).reshape(-1)
        ])
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f'images[{i}] has labels outside '
                             f'[0, num_classes={num_classes})')
        for label in np.unique(labels).astype(int):
            matches = _image_class_matches(image, label, iou_fn, area_ranges,
                                           iou_thr, max_dets)
            for name, match in matches.items():
                per_range[name][label].append(match)
    return {
        name: LRPSummary.from_classes(
            [optimal_lrp(m, iou_thr) for m in class_matches])
        for name, class_matches in per_range.items()
    }

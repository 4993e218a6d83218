"""Localisation-Recall-Precision (LRP) Error and optimal LRP (oLRP).

Implements the performance measure of

    K. Oksuz, B. C. Cam, E. Akbas, S. Kalkan. "Localization Recall
    Precision (LRP): A New Performance Metric for Object Detection",
    ECCV 2018; and "One Metric to Measure them All: Localisation Recall
    Precision (LRP) for Evaluating Visual Detection Tasks", TPAMI 2021.

Detections are matched to ground truth as COCO's evaluation does
(:mod:`.coco_matching`), at the TP validation threshold ``iou_thr``
(τ = 0.5). For a score threshold s, with the detections scoring
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
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .coco_matching import (COCO_AREA_RANGES, IMAGE_KEYS, ImageClassMatch,
                            IoUFn, coco_bbox_iou, match_image_label)

@dataclass
class LRPCurve:
    """LRP and its components at every score threshold of one class.

    All arrays have one entry per distinct score (descending); entry i
    evaluates the detections scoring at least ``thresholds[i]``.
    Undefined components (no TP at or above the threshold) are NaN.
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
        missing = [k for k in IMAGE_KEYS if k not in image]
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
            matches = match_image_label(image, label, iou_fn, area_ranges,
                                        iou_thr, max_dets)
            for name, match in matches.items():
                per_range[name][label].append(match)
    return {
        name: LRPSummary.from_classes(
            [optimal_lrp(m, iou_thr) for m in class_matches])
        for name, class_matches in per_range.items()
    }

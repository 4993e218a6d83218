"""Numpy math of the evaluation: COCO-style matching and LRP."""
from .coco_matching import (COCO_AREA_RANGES, ImageClassMatch, coco_bbox_iou,
                            match_image_class, match_image_label)
from .lrp import (ClassLRP, LRPCurve, LRPSummary, eval_lrp, lrp_curve,
                  optimal_lrp)

__all__ = [
    'COCO_AREA_RANGES', 'ClassLRP', 'ImageClassMatch', 'LRPCurve',
    'LRPSummary', 'coco_bbox_iou', 'eval_lrp', 'lrp_curve',
    'match_image_class', 'match_image_label', 'optimal_lrp'
]

from .lrp import (COCO_AREA_RANGES, ClassLRP, ImageClassMatch, LRPCurve,
                  LRPSummary, coco_bbox_iou, eval_lrp, lrp_curve,
                  match_image_class, optimal_lrp)

__all__ = [
    'COCO_AREA_RANGES', 'ClassLRP', 'ImageClassMatch', 'LRPCurve',
    'LRPSummary', 'coco_bbox_iou', 'eval_lrp', 'lrp_curve',
    'match_image_class', 'optimal_lrp'
]

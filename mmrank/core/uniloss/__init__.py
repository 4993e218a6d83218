"""UniLoss (Liu, Wang and Deng, ECCV 2020) in plain torch."""
from .framework import (AnchorConfig, ComparisonMetric, FlipAnchors,
                        add_random_anchor_sum, flip_sq_dists,
                        idw_interpolate, packed_full_rows, random_anchors,
                        uniloss)
from .losses import (uniloss_accuracy, uniloss_average_precision,
                     uniloss_pckh)
from .tasks import AccuracyMetric, AveragePrecisionMetric, PCKhMetric

__all__ = [
    'AnchorConfig', 'ComparisonMetric', 'FlipAnchors',
    'add_random_anchor_sum', 'flip_sq_dists', 'idw_interpolate',
    'packed_full_rows', 'random_anchors', 'uniloss', 'AccuracyMetric',
    'AveragePrecisionMetric', 'PCKhMetric', 'uniloss_accuracy',
    'uniloss_average_precision', 'uniloss_pckh'
]

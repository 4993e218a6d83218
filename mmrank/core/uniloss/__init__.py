"""UniLoss (Liu, Wang and Deng, ECCV 2020) in plain torch."""
from .anchors import AnchorConfig, FlipAnchors, flip_sq_dists, idw_interpolate
from .bits import draw_words, packed_full_rows
from .framework import uniloss
from .losses import (uniloss_accuracy, uniloss_average_precision,
                     uniloss_pckh)
from .metric import (ComparisonMetric, Configuration, MaterialisedComparisons,
                     RandomCounts, RowAllMetric)
from .tasks import AccuracyMetric, AveragePrecisionMetric, PCKhMetric

__all__ = [
    'AnchorConfig', 'ComparisonMetric', 'Configuration', 'FlipAnchors',
    'MaterialisedComparisons', 'RandomCounts', 'RowAllMetric', 'draw_words',
    'flip_sq_dists', 'idw_interpolate', 'packed_full_rows', 'uniloss',
    'AccuracyMetric', 'AveragePrecisionMetric', 'PCKhMetric',
    'uniloss_accuracy', 'uniloss_average_precision', 'uniloss_pckh'
]

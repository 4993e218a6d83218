"""UniLoss (Liu, Wang and Deng, ECCV 2020) in plain torch."""
from .framework import (AnchorConfig, ComparisonMetric, Configuration,
                        FlipAnchors, MaterialisedComparisons, RowAllMetric,
                        draw_words, flip_sq_dists, idw_interpolate,
                        packed_full_rows, uniloss)
from .losses import (uniloss_accuracy, uniloss_average_precision,
                     uniloss_pckh)
from .tasks import AccuracyMetric, AveragePrecisionMetric, PCKhMetric

__all__ = [
    'AnchorConfig', 'ComparisonMetric', 'Configuration', 'FlipAnchors',
    'MaterialisedComparisons', 'RowAllMetric', 'draw_words', 'flip_sq_dists',
    'idw_interpolate', 'packed_full_rows', 'uniloss', 'AccuracyMetric',
    'AveragePrecisionMetric', 'PCKhMetric', 'uniloss_accuracy',
    'uniloss_average_precision', 'uniloss_pckh'
]

"""Deployment helpers."""
from .lrp_thresholds import (apply_lrp_thresholds, read_lrp_thresholds,
                             thresholded_predictions, thresholds_by_label)

__all__ = [
    'apply_lrp_thresholds', 'read_lrp_thresholds', 'thresholded_predictions',
    'thresholds_by_label'
]

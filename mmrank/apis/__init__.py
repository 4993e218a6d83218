"""Deployment API: a detector at its class-wise LRP-optimal thresholds
(the thresholds file is owned by :mod:`mmrank.evaluation.lrp_thresholds`)."""
from mmrank.evaluation.lrp_thresholds import (apply_lrp_thresholds,
                                              read_lrp_thresholds,
                                              thresholded_predictions,
                                              thresholds_by_label)

__all__ = [
    'apply_lrp_thresholds', 'read_lrp_thresholds', 'thresholded_predictions',
    'thresholds_by_label'
]

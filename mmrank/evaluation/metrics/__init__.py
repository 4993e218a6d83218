"""Registered evaluation metrics."""
from mmrank.registry import host_available, register_missing
from .lrp_metric import LRPMetric  # noqa: F401

if host_available('mmpretrain'):
    from .log_odds_ap import LogOddsAveragePrecision  # noqa: F401
else:  # subclasses mmpretrain's AveragePrecision
    register_missing('LogOddsAveragePrecision', 'mmpretrain', 'METRICS')

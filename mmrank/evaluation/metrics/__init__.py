"""Registered evaluation metrics."""
from .lrp_metric import LRPMetric  # noqa: F401

"""Evaluation: metric math (functional) and registered metrics."""
from . import functional, metrics  # noqa: F401

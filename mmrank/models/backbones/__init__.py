"""Backbones used by the papers' experiments."""
from .mlp import MLPNet  # noqa: F401

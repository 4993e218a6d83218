"""Backbones used by the papers' experiments."""

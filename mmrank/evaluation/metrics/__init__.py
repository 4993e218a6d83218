"""Registered evaluation metrics."""

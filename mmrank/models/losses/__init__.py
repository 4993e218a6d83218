"""Registered loss modules (thin wrappers around mmrank.core)."""

"""Utilities shared by mmrank's tools and modules."""
from .compat import allow_mmengine_checkpoints
from .launch import load_config, setup_cpu_distributed

"""Utilities shared by mmrank's tools and modules."""
from .compat import allow_mmengine_checkpoints, load_from_local
from .launch import load_config, setup_cpu_distributed

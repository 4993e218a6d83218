"""Utilities shared by mmrank's tools and modules."""
from .checkpoint import (TRUST_ENV, UntrustedCheckpointError,
                         install_checkpoint_loader, load_from_local,
                         trust_checkpoints)
from .launch import (add_trust_checkpoint_argument, apply_trust_checkpoint,
                     build_runner, load_config, setup_cpu_distributed)

"""Utilities shared by mmrank's tools and modules."""
from .checkpoint import (TRUST_ENV, UntrustedCheckpointError,
                         install_checkpoint_loader, load_from_local,
                         trust_checkpoints)
from .host_compat import (explain_multimodal_placeholders,
                          guard_mmpretrain_multimodal)
from .launch import (add_trust_checkpoint_argument, apply_trust_checkpoint,
                     build_runner, close_distributed, load_config,
                     setup_cpu_distributed)

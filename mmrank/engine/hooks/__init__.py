"""mmengine hooks."""
from .loss_warmup_hook import LossWarmupHook  # noqa: F401

"""Epoch-driven switch of losses with a warm-up phase (Anchor Loss)."""
from typing import List

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from mmrank.registry import register


def epoch_aware_modules(model: nn.Module) -> List[nn.Module]:
    """Return the submodules of ``model`` that define ``set_epoch``."""
    if is_model_wrapper(model):
        model = model.module
    return [m for m in model.modules() if callable(getattr(m, 'set_epoch',
                                                           None))]


@register('mmpretrain', 'HOOKS')
class LossWarmupHook(Hook):
    """Tell epoch-aware losses (e.g. ``AnchorLoss``) the training epoch.

    Before every training epoch the hook calls ``set_epoch(runner.epoch)``
    on each submodule of the model that defines ``set_epoch``. The epoch is
    the runner's, restored from the checkpoint on resume, so a resumed run
    continues in the right phase without extra state. It runs before the
    other hooks of the stage (priority ``'VERY_HIGH'``).

    Raises:
        RuntimeError: At the start of training if the model has no
            epoch-aware module (the hook would do nothing).
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        if not epoch_aware_modules(runner.model):
            raise RuntimeError(
                'LossWarmupHook: the model has no module with set_epoch() '
                '(e.g. AnchorLoss with warmup_epochs); remove the hook or '
                'use such a loss')

    def before_train_epoch(self, runner) -> None:
        for module in epoch_aware_modules(runner.model):
            module.set_epoch(runner.epoch)

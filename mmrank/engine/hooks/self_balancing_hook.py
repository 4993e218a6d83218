"""Self-balancing (SB) of aLRP Loss, paper Sec. 4.2."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmrank.models.utils import RankingHeadMixin, ranking_heads
from mmrank.registry import register


@register('mmdet', 'HOOKS')
class SelfBalancingHook(Hook):
    """Set w_r = mean(L_cls + L_loc) / mean(L_loc) of the previous period.

    aLRP Loss is L_cls + w_r · L_loc. Every iteration this hook collects the
    unweighted components of each head with aLRP Loss; at the end of each
    epoch (or every ``interval`` iterations) it sums them over all ranks
    (``mmengine.dist.all_reduce``, a no-op in one process), so every rank
    gets the same w_r, and writes it into the head's ``loc_weight`` buffer,
    which is saved in checkpoints and restored by ``--resume``. The heads of
    a two-stage detector (RPN, RoI) are balanced separately. The initial
    w_r is the head's ``loc_weight`` argument (50 in the paper). The current
    weight is logged as ``<head name>.loc_weight``.

    Because the sums are reset at each update, a run resumed in the middle
    of an ``interval`` (iteration-based schedules) averages the rest of that
    period only.

    Args:
        interval: Update every ``interval`` training iterations; None
            updates at the end of each epoch (epoch-based loops only).
    """

    priority = 'NORMAL'  # 50: before the logger (60) and checkpoint hooks

    def __init__(self, interval: Optional[int] = None) -> None:
        if interval is not None and (not isinstance(interval, int)
                                     or interval < 1):
            raise ValueError(
                f'interval must be a positive int or None, got {interval!r}')
        self.interval = interval
        self.heads: Dict[str, RankingHeadMixin] = {}
        self.sums: Dict[str, torch.Tensor] = {}

    def before_train(self, runner) -> None:
        """Find the self-balanced heads and check the schedule."""
        if self.interval is None and not isinstance(runner.train_loop,
                                                    EpochBasedTrainLoop):
            raise ValueError(
                'SelfBalancingHook(interval=None) updates at epoch ends; '
                f'{type(runner.train_loop).__name__} has no epochs: set '
                'interval (e.g. the number of iterations of one epoch)')
        self.heads = ranking_heads(runner.model, self_balanced_only=True)
        if not self.heads:
            raise ValueError('SelfBalancingHook found no head trained with '
                             'aLRPLoss in the model')
        self._reset()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[Sequence] = None) -> None:
        """Collect (L_cls, L_loc); update every ``interval`` iterations."""
        for name, head in self.heads.items():
            if head.sb_components is not None:
                self.sums[name] += torch.cat(
                    [head.sb_components.detach().double().cpu(),
                     torch.ones(1, dtype=torch.float64)])
                head.sb_components = None
            runner.message_hub.update_scalar(f'train/{name}.loc_weight',
                                             float(head.loc_weight))
        if self.interval is not None and self.every_n_train_iters(
                runner, self.interval):
            self.update_weights()

    def after_train_epoch(self, runner) -> None:
        """Update at the end of each epoch when no interval is set."""
        if self.interval is None:
            self.update_weights()

    def update_weights(self) -> None:
        """All-reduce the sums, set w_r on each head and reset the sums.

        A head that saw no L_loc > 0 in the period (e.g. no positives) keeps
        its weight.
        """
        for name, head in self.heads.items():
            sums = self.sums[name]
            all_reduce(sums, op='sum')
            loss_cls, loss_loc, _ = sums.tolist()
            if loss_loc > 0:
                head.loc_weight.fill_((loss_cls + loss_loc) / loss_loc)
        self._reset()

    def _reset(self) -> None:
        """Zero the per-head sums of (L_cls, L_loc, iterations)."""
        self.sums = {
            name: torch.zeros(3, dtype=torch.float64)
            for name in self.heads
        }

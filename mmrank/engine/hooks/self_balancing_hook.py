"""Self-balancing (SB) of aLRP Loss, paper Sec. 4.2."""
from typing import Dict, Optional, Sequence

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from mmrank.models.utils import RankingHeadMixin, ranking_heads
from mmrank.registry import register

#: A weight change above this factor in one update is logged as a warning.
SUSPICIOUS_CHANGE = 10.0


@register('mmdet', 'HOOKS')
class SelfBalancingHook(Hook):
    """Update the balancing weight of self-balancing ranking losses.

    For aLRP Loss, L_cls + w_r · L_loc, the rule is w_r = mean(L_cls +
    L_loc) / mean(L_loc) over the previous period. Every iteration this
    hook pops the balance terms of each head whose loss self-balances
    (:meth:`RankingHeadMixin.pop_balance_terms`); at the end of each period
    it sums them over all ranks (``mmengine.dist.all_reduce``, a no-op in
    one process), so every rank gets the same weight, and hands the sums to
    the head (:meth:`RankingHeadMixin.apply_balance`), whose loss keeps the
    weight in a buffer saved in checkpoints and restored by ``--resume``.
    The heads of a two-stage detector (RPN, RoI) are balanced separately.
    The initial w_r is the loss's ``loc_weight`` (50 in the paper). The
    current weight is logged under the name the loss gives it
    (``balanced_weight_name``): ``<head name>.loc_weight`` for aLRP Loss.

    The period is one pass over the training set: the epoch of an
    epoch-based loop, or ``len(train_dataloader)`` iterations of an
    iteration-based one, unless ``interval`` is given. The paper updates
    once per COCO epoch (3,665 iterations at batch 32); a much shorter
    period averages few iterations, and early in training, when almost no
    positive is ranked above the negatives, L_loc is tiny and w_r jumps.
    An update that changes a weight more than 10x is logged as a warning
    with the mean terms that caused it.

    Because the sums are reset at each update, a run resumed in the middle
    of a period averages the rest of that period only.

    Args:
        interval: Update every ``interval`` training iterations; None
            updates once per pass over the training set.
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
        self.counts: Dict[str, int] = {}
        self._period: Optional[int] = None

    def before_train(self, runner) -> None:
        """Find the self-balancing heads and fix the period."""
        self.heads = ranking_heads(runner.model, self_balancing_only=True)
        if not self.heads:
            raise ValueError('SelfBalancingHook found no head whose loss '
                             'self-balances (e.g. aLRPLoss) in the model')
        self._period = self.interval
        if self._period is None and not isinstance(runner.train_loop,
                                                   EpochBasedTrainLoop):
            self._period = len(runner.train_dataloader)
            print_log(
                f'SelfBalancingHook: {type(runner.train_loop).__name__} '
                f'has no epochs; updating every {self._period} iterations '
                '(one pass over the training set; set interval to change)',
                logger='current')
        self._reset()

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[Sequence] = None) -> None:
        """Collect the balance terms; update at the end of a period."""
        for name, head in self.heads.items():
            terms = head.pop_balance_terms()
            if terms is not None:
                self.sums[name] += terms.detach().double().cpu()
                self.counts[name] += 1
            runner.message_hub.update_scalar(
                f'train/{name}.{head.balanced_weight_name}',
                head.balance_weight())
        if self._period is not None and self.every_n_train_iters(
                runner, self._period):
            self.update_weights()

    def after_train_epoch(self, runner) -> None:
        """Update at the end of each epoch when the period is the epoch."""
        if self._period is None:
            self.update_weights()

    def update_weights(self) -> None:
        """All-reduce the sums, update each head's weight, reset the sums.

        Every rank takes part for every head, also one that saw no terms
        (its sums are zeros).
        """
        for name, head in self.heads.items():
            count = torch.tensor([float(self.counts[name])],
                                 dtype=torch.float64)
            packed = torch.cat([self.sums[name], count])
            all_reduce(packed, op='sum')
            before = head.balance_weight()
            head.apply_balance(packed[:-1])
            self._warn_if_jump(name, head, before, packed)
        self._reset()

    @staticmethod
    def _warn_if_jump(name: str, head: RankingHeadMixin, before: float,
                      packed: torch.Tensor) -> None:
        """Log a warning for a change of more than 10x in one update."""
        after = head.balance_weight()
        if before > 0 and after > 0 and max(
                after / before, before / after) > SUSPICIOUS_CHANGE:
            means = packed[:-1] / packed[-1].clamp(min=1)
            terms = ', '.join(
                f'mean {term} = {value:.3g}' for term, value in zip(
                    head.balance_term_names, means.tolist()))
            print_log(
                f'SelfBalancingHook: {name} weight changed from {before:.4g} '
                f'to {after:.4g} in one update over {int(packed[-1])} '
                f'iterations ({terms}). A small mean L_loc early in training '
                'makes the weight jump; if this persists, lengthen the '
                'period (interval).',
                logger='current',
                level=30)

    def _reset(self) -> None:
        """Zero the per-head sums (one per balance term) and counts."""
        self.sums = {
            name: torch.zeros(
                len(head.balance_term_names), dtype=torch.float64)
            for name, head in self.heads.items()
        }
        self.counts = {name: 0 for name in self.heads}

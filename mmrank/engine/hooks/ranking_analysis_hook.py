"""Periodic diagnostics of ranking-loss heads (aLRP paper, Sec. 5)."""
from typing import Dict, Optional, Sequence

from mmengine.hooks import Hook

from mmrank.models.utils import RankingHeadMixin, ranking_heads
from mmrank.registry import register


@register('mmdet', 'HOOKS')
class RankingAnalysisHook(Hook):
    """Log ρ and the gradient balance of every ranking head at an interval.

    Every ``interval`` training iterations each head trained with a ranking
    loss records, for that iteration, the Pearson correlation between the
    ranks of its positives' classification scores and the ranks of their
    IoUs (``<head>.rank_corr``, paper Tables 2 and 5) and the ratio of the
    summed gradient magnitudes of the negatives to those of the positives
    (``<head>.grad_ratio``, paper Fig. 4; 1 by Theorem 2 for aLRP and AP
    Loss; with RS Loss the sorting part moves gradient among the positives,
    so the ratio is below 1).

    Args:
        interval: Analyse every ``interval`` iterations.
    """

    priority = 'NORMAL'  # before the logger hook (60)

    def __init__(self, interval: int = 50) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f'interval must be a positive int, got {interval!r}')
        self.interval = interval
        self.heads: Dict[str, RankingHeadMixin] = {}

    def before_train(self, runner) -> None:
        """Find the heads trained with a ranking loss."""
        self.heads = ranking_heads(runner.model)
        if not self.heads:
            raise ValueError('RankingAnalysisHook found no head trained with '
                             'a ranking loss in the model')

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Ask the heads to analyse this iteration."""
        if self.every_n_train_iters(runner, self.interval):
            for head in self.heads.values():
                head.request_analysis()

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[Sequence] = None) -> None:
        """Log what the heads recorded (after the backward pass)."""
        if not self.every_n_train_iters(runner, self.interval):
            return
        for name, head in self.heads.items():
            for key, value in head.pop_analysis().items():
                runner.message_hub.update_scalar(f'train/{name}.{key}', value)

"""Helpers shared by the ranking-loss heads."""
from .ranking_analysis import average_ranks, gradient_ratio, rank_correlation
from .ranking_head_mixin import (RankingHeadMixin, flatten_levels,
                                 positive_indices, ranking_heads,
                                 ranking_targets)

__all__ = [
    'average_ranks', 'gradient_ratio', 'rank_correlation', 'RankingHeadMixin',
    'flatten_levels', 'positive_indices', 'ranking_heads', 'ranking_targets'
]

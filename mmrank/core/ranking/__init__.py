"""Ranking losses with error-driven gradients, in plain torch.

:mod:`.engine` holds what every ranking loss shares (windows, step sums,
false positive counts, input checks), :mod:`.autograd` the one autograd
entry point, and each loss its own module.
"""
from .alrp import alrp_loss  # noqa: F401
from .ap import ap_loss, ranking_statistics  # noqa: F401
from .rank_sort import rank_sort_loss  # noqa: F401

"""Ranking losses with error-driven gradients, in plain torch.

:mod:`.steps` holds the step-function math (windows, step tables, step
sums), :mod:`.negatives` the interface of the passes over the negatives and
its torch backend, :mod:`.triton_passes` (with :mod:`.triton_kernels`) its
Triton backend, :mod:`.backends` the choice between them, :mod:`.engine`
the ranking of a batch and the input checks, :mod:`.autograd` the one
autograd entry point, and each loss its own module.
"""
from .alrp import alrp_loss  # noqa: F401
from .ap import ap_loss, ranking_statistics  # noqa: F401
from .rank_sort import rank_sort_loss  # noqa: F401

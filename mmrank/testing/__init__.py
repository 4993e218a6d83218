"""What tests and benchmarks share (as ``mmdet.testing``): reference
implementations of the ranking losses and time/memory probes."""
from .probes import (PeakMemory, force_mmap_for_large_allocations, sync,
                     time_call)
from .ranking_references import (Batch, LoopGradient, bce_loss, make_batch,
                                 mmcv_focal_loss, per_positive_loop,
                                 rank_sort_loop, sigmoid_focal_loss)

__all__ = [
    'Batch', 'LoopGradient', 'PeakMemory', 'bce_loss',
    'force_mmap_for_large_allocations', 'make_batch', 'mmcv_focal_loss',
    'per_positive_loop', 'rank_sort_loop', 'sigmoid_focal_loss', 'sync',
    'time_call'
]

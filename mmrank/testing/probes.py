"""Time and peak-memory probes of a forward + backward call (CPU, CUDA)."""
import ctypes
import threading
import time
from typing import Callable

import torch
from torch import Tensor


class PeakMemory:
    """Peak memory above the level at entry, in bytes."""

    def __init__(self, device: str):
        self.device = device
        self.peak = 0

    @staticmethod
    def _rss() -> int:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * 4096

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss() - self._base)
            time.sleep(2e-4)

    def __enter__(self) -> 'PeakMemory':
        if self.device == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            self._base = self._rss()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device == 'cuda':
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self._base
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._rss() - self._base)


def sync(device: str) -> None:
    """Wait for queued CUDA work (no-op on CPU)."""
    if device == 'cuda':
        torch.cuda.synchronize()


def time_call(fn: Callable[[], Tensor], logits: Tensor, device: str) -> float:
    """Seconds of one forward + backward."""
    logits.grad = None
    sync(device)
    start = time.perf_counter()
    fn().backward()
    sync(device)
    return time.perf_counter() - start


def force_mmap_for_large_allocations(threshold: int = 1 << 20) -> None:
    """Make glibc serve blocks above ``threshold`` bytes with ``mmap`` and
    return them at once when freed, so RSS tracks use (1 MiB by default);
    the heap's free memory is returned to the system first.

    With ``threshold=32 << 20`` this is where glibc's own dynamic
    thresholds settle in a long-running process (mmap above 32 MiB, heap
    trimmed above twice that), so smaller blocks are reused without page
    faults, as in a training loop.
    """
    try:
        libc = ctypes.CDLL('libc.so.6')
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, threshold)
    libc.mallopt(m_trim_threshold, 2 * threshold)
    libc.malloc_trim(0)

"""The meters: wall time and peak resident memory (RSS) of a block of code, and the kernel's record of a process's.

The library's one memory meter, used by chapter 6 (`measure` around each method) and by the benchmarks (each
contestant's process reports `peak_rss_mb`). Standard library only (psutil when sampling), so that importing it
does not itself weigh on what a light benchmark contestant is measured to use.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from dataclasses import dataclass


def rss_mb() -> float:
    """Resident memory of this process, MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb(children: bool = False) -> float:
    """The kernel's record of the highest RSS of this process so far (children=True: of its largest finished child),
    MiB. Exact, unlike a sampler, but over the whole life of the process; a block's own peak is `PeakMemory`'s, which
    tops its samples up with this record. The benchmarks report it per contestant process. POSIX only."""
    import resource
    import sys

    kib = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_maxrss
    return kib / (2**20 if sys.platform == "darwin" else 1024)  # macOS counts bytes, Linux KiB


def _kernel_record() -> float:
    """`peak_rss_mb()`, or 0 where the kernel keeps no such record for us (Windows)."""
    try:
        return peak_rss_mb()
    except ImportError:
        return 0.0


class PeakMemory:
    """Peak resident memory (RSS) of this process while the `with` block runs, sampled by a background thread.

    `peak_mb` is the highest RSS seen, `start_mb` the RSS on entry, `delta_mb` their difference: what the block
    added on top of what was already loaded. A thread sampling every `interval` s can miss a spike shorter than
    that, unless the spike set the process's record (`peak_rss_mb`), which then counts; freed memory that the
    allocator keeps is counted again by the next block, so deltas are approximate.
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.start_mb = self.peak_mb = 0.0
        self._stop = threading.Event()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, rss_mb())

    def __enter__(self) -> PeakMemory:
        gc.collect()
        self.start_mb = self.peak_mb = rss_mb()
        self._record_mb = _kernel_record()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, rss_mb())
        record = _kernel_record()
        if record > self._record_mb:  # the block raised the process's record: the kernel saw its exact peak
            self.peak_mb = max(self.peak_mb, record)

    @property
    def delta_mb(self) -> float:
        return self.peak_mb - self.start_mb


@dataclass
class Measured:
    """Wall time and peak memory of one block: `with measure() as m: ...` then `m.seconds`, `m.peak_mb`."""

    seconds: float = 0.0
    peak_mb: float = 0.0
    delta_mb: float = 0.0


@contextlib.contextmanager
def measure(interval: float = 0.05):
    """Time a block and meter its peak RSS (see `PeakMemory`)."""
    out = Measured()
    start = time.perf_counter()
    with PeakMemory(interval) as mem:
        yield out
    out.seconds = time.perf_counter() - start
    out.peak_mb, out.delta_mb = mem.peak_mb, mem.delta_mb

"""Peak memory of a run, measured two ways in the benchmark's own (fresh) process.

- ``tracemalloc``: the peak of Python allocations during one run, minus what
  was allocated before it (exact, and resettable between runs);
- peak RSS (``VmHWM`` on Linux, else ``ru_maxrss``): the process's peak
  resident set size, minus the peak before the scenario (everything the
  process touched, Python or not; it only grows, so one figure per process).
"""

from __future__ import annotations

import gc
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from _timing import summarize

__all__ = ["memory_figures", "peak_rss_bytes"]


def peak_rss_bytes() -> int:
    """The peak resident set size of this process so far, in bytes.

    On Linux, ``VmHWM`` of ``/proc/self/status``: the process's own. Its
    ``ru_maxrss`` starts at the parent's peak after ``exec`` (the kernel keeps
    the larger), so a child started by a heavy parent would read the parent's.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def memory_figures(run: Callable[[], object], unit: int, repetitions: int) -> dict[str, Any]:
    """Peak memory of ``run`` as a multiple of ``unit`` bytes (one output), over repetitions.

    What ``run`` returns is kept until its peak is read: the result a caller
    holds counts.
    """
    gc.collect()
    rss_before = peak_rss_bytes()
    tracemalloc.start()
    peaks: list[float] = []
    times: list[float] = []
    try:
        for _ in range(repetitions):
            gc.collect()
            tracemalloc.reset_peak()
            baseline = tracemalloc.get_traced_memory()[0]
            start = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - start)
            peaks.append((tracemalloc.get_traced_memory()[1] - baseline) / unit)
            del result
    finally:
        tracemalloc.stop()
    peak = summarize(peaks)
    return {
        "unit_bytes": unit,
        "run": summarize(times),
        "tracemalloc_peak_multiple": {
            "median": peak["median_s"],
            "min": peak["min_s"],
            "max": peak["max_s"],
            "repetitions": repetitions,
        },
        "rss_growth_multiple": (peak_rss_bytes() - rss_before) / unit,
    }

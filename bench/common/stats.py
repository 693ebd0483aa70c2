"""Percentiles, ratios and the machine description shared by the speed and reliability benchmarks."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Summary:
    """Latency percentiles of one series, in milliseconds."""

    n: int
    p50: float
    p95: float
    p99: float
    mean: float


# The one percentile every benchmark reports (speed and reliability alike): rank (n - 1) * q / 100 of the sorted
# values, interpolated between the two around it, so p50 of an even count is the mean of the middle two.
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (q from 0 to 100) by linear interpolation between closest ranks (NumPy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(seconds: Sequence[float]) -> Summary:
    """Percentiles of durations given in seconds, reported in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return Summary(len(ms), percentile(ms, 50), percentile(ms, 95), percentile(ms, 99), sum(ms) / len(ms))


def ratio(value: float, baseline: float) -> float:
    """value / baseline, rounded for reports."""
    return round(value / baseline, 3) if baseline > 0 else float("inf")


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process in MiB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict:
    """What the numbers were measured on."""
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            mem_gib = int(fh.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        mem_gib = 0.0
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_gib, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }

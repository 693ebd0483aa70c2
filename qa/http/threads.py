"""Thread counts of the numeric libraries: a few per process, so worker processes do not oversubscribe cores."""

from __future__ import annotations

import os


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_process(processes: int, available: int | None = None) -> int:
    """Threads each of `processes` processes should use so that together they fill the cores once."""
    return max(1, (available or cores()) // max(1, processes))


def worker_threads(workers: int) -> int:
    """Threads per serving worker: QA_THREADS if set, else the cores shared out among the workers."""
    return int(os.environ.get("QA_THREADS") or 0) or threads_per_process(workers)


def encode_slots(threads: int) -> int | None:
    """Encodes a serving worker runs at once: QA_ENCODE_SLOTS if set (0: no limit), else its torch threads."""
    raw = os.environ.get("QA_ENCODE_SLOTS")
    if raw not in (None, ""):
        return int(raw) or None
    return threads


def limit_threads(threads: int) -> None:
    """Cap torch's and FAISS's intra-op threads (OpenMP spin-waits make oversubscription costly)."""
    import faiss
    import torch

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)

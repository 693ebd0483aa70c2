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


def worker_threads(workers: int, configured: int | None = None) -> int:
    """Threads per serving worker: the configured number (QA_THREADS) if set, else the cores shared out."""
    return configured or threads_per_process(workers)


def encode_slots(threads: int, configured: int | None = None) -> int | None:
    """Encodes a serving worker runs at once: the configured number (QA_ENCODE_SLOTS; 0: no limit), else its
    torch threads."""
    if configured is not None:
        return configured or None
    return threads


def limit_threads(threads: int) -> None:
    """Cap torch's and FAISS's intra-op threads (OpenMP spin-waits make oversubscription costly)."""
    import faiss
    import torch

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)

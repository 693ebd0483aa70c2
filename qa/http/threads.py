"""Thread counts of the numeric libraries: a few per process, so worker processes do not oversubscribe cores."""

from __future__ import annotations


def cores() -> int:
    """CPU cores this process may use: those it may run on, fewer under a cgroup CPU quota (a container's)."""
    # joblib (loky) reads the affinity and the cgroup v1/v2 quota; sched_getaffinity alone sees every core of
    # the host in a container limited to two, and workers and threads would then oversubscribe.
    from joblib import cpu_count

    return max(1, cpu_count())


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

"""Questions that arrive while the model is busy are encoded together, in one forward pass."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MAX_BATCH = 8  # beyond this, padding and attention grow faster than the per-call overhead saved


@dataclass
class _Job:
    text: str
    finished: bool = False
    vector: np.ndarray | None = None
    error: BaseException | None = None


class EncodeBatcher:
    """At most `slots` encodes run at once; questions that wait meanwhile go into the next one as a batch.

    No question waits for a batch to fill: a free slot encodes at once whatever is queued, so a lone
    question costs what it did, and under load one forward pass serves several questions (on a CPU, a batch
    of four costs about half as much per question as four single encodes).
    """

    def __init__(self, encode: Callable[[list[str]], np.ndarray], slots: int = 1, max_batch: int = MAX_BATCH) -> None:
        if slots < 1 or max_batch < 1:
            raise ValueError("slots and max_batch must be at least 1")
        self._encode = encode
        self.slots = slots
        self.max_batch = max_batch
        self._queue: list[_Job] = []
        self._running = 0
        self._changed = threading.Condition()
        self.batches = 0  # forward passes run, and questions they encoded: for tests and benchmarks
        self.encoded = 0
        self.on_batch: Callable[[int], None] | None = None  # told each batch's size (the app's metrics)

    def encode(self, text: str) -> np.ndarray:
        """The vector of one text, possibly computed in a batch with others."""
        job = _Job(text)
        with self._changed:
            self._queue.append(job)
            # Whichever waiting thread finds a slot free encodes the queue's head; each returns as soon as
            # its own vector is ready, leaving later questions to the threads that asked them.
            while not job.finished:
                if self._running < self.slots and self._queue:
                    batch = self._queue[: self.max_batch]
                    del self._queue[: self.max_batch]
                    self._running += 1
                    self._changed.release()
                    try:
                        vectors, error = self._run(batch)
                    finally:
                        self._changed.acquire()
                    self._running -= 1
                    self.batches += 1
                    self.encoded += len(batch)
                    if self.on_batch is not None:
                        self.on_batch(len(batch))
                    for i, done in enumerate(batch):
                        done.vector = None if vectors is None else vectors[i]
                        done.error, done.finished = error, True
                    self._changed.notify_all()
                else:
                    self._changed.wait()
        if job.error is not None:
            raise job.error
        return job.vector

    def _run(self, batch: list[_Job]) -> tuple[np.ndarray | None, BaseException | None]:
        """The batch's vectors, or the error every one of its questions gets (none may wait forever)."""
        try:
            vectors = self._encode([job.text for job in batch])
        except BaseException as exc:  # even an interrupt must reach the waiters rather than strand them
            return None, exc
        if len(vectors) != len(batch):
            return None, RuntimeError(f"the model gave {len(vectors)} vectors for {len(batch)} texts")
        return vectors, None

"""EncodeBatcher: questions that wait for the model are encoded together, each getting its own vector."""

import random
import threading
import time

import numpy as np
import pytest

from qa.index.batcher import EncodeBatcher
from qa.testing import HashEmbedder


class HeldModel:
    """A HashEmbedder whose encodes can be held open, recording each batch it was given."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.inner = HashEmbedder(dimension=32)
        self.batches: list[list[str]] = []
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.release.set()
        self.fail_on = fail_on

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.started.release()
        assert self.release.wait(timeout=30)
        if self.fail_on in texts:
            raise ValueError("the model broke")
        return self.inner.encode(texts)


def ask_all(batcher: EncodeBatcher, texts: list[str]) -> tuple[list[threading.Thread], dict]:
    """Start one thread per text; their vectors (or errors) land in the returned dict."""
    got: dict = {}

    def ask(text: str) -> None:
        try:
            got[text] = batcher.encode(text)
        except Exception as exc:
            got[text] = exc

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    return threads, got


def wait_queued(batcher: EncodeBatcher, n: int) -> None:
    deadline = time.monotonic() + 30
    while len(batcher._queue) < n:
        assert time.monotonic() < deadline, "the questions never queued"
        time.sleep(0.001)


def test_a_lone_question_is_encoded_alone_and_at_once():
    model = HeldModel()
    batcher = EncodeBatcher(model)
    vector = batcher.encode("keeper trims the wick")
    assert model.batches == [["keeper trims the wick"]]
    assert np.array_equal(vector, HashEmbedder(dimension=32).encode(["keeper trims the wick"])[0])
    assert (batcher.batches, batcher.encoded) == (1, 1)


def test_questions_that_arrive_while_the_model_is_busy_go_in_one_batch():
    model = HeldModel()
    model.release.clear()
    batcher = EncodeBatcher(model, slots=1)
    first, _ = ask_all(batcher, ["first question"])
    assert model.started.acquire(timeout=30)  # the model is busy with the first question
    texts = [f"waiting question {i} about bees" for i in range(5)]
    others, more = ask_all(batcher, texts)
    wait_queued(batcher, 5)
    model.release.set()
    for t in first + others:
        t.join(timeout=30)
    assert model.batches == [["first question"], texts]
    reference = HashEmbedder(dimension=32).encode(texts)
    for text, expected in zip(texts, reference, strict=True):
        assert np.array_equal(more[text], expected)  # each thread gets its own question's vector
    assert (batcher.batches, batcher.encoded) == (2, 6)


def test_a_batch_holds_at_most_max_batch_questions():
    model = HeldModel()
    model.release.clear()
    batcher = EncodeBatcher(model, slots=1, max_batch=2)
    first, _ = ask_all(batcher, ["first"])
    assert model.started.acquire(timeout=30)
    others, got = ask_all(batcher, ["a", "b", "c", "d", "e"])
    wait_queued(batcher, 5)
    model.release.set()
    for t in first + others:
        t.join(timeout=30)
    assert [len(b) for b in model.batches] == [1, 2, 2, 1]
    assert sorted(got) == ["a", "b", "c", "d", "e"]


def test_a_failing_batch_fails_each_of_its_questions_and_the_next_batch_still_runs():
    model = HeldModel(fail_on="poison")
    model.release.clear()
    batcher = EncodeBatcher(model, slots=1, max_batch=2)
    first, _ = ask_all(batcher, ["first"])
    assert model.started.acquire(timeout=30)
    others, got = ask_all(batcher, ["poison", "innocent", "later"])
    wait_queued(batcher, 3)
    model.release.set()
    for t in first + others:
        t.join(timeout=30)
    assert all(not t.is_alive() for t in first + others)  # nobody is left waiting
    assert isinstance(got["poison"], ValueError) and isinstance(got["innocent"], ValueError)
    assert isinstance(got["later"], np.ndarray)
    assert batcher._running == 0 and not batcher._queue


@pytest.mark.parametrize("slots", [1, 2, 3])
def test_many_threads_each_get_their_own_vector_and_slots_bound_the_encodes(slots):
    active = most = 0
    lock = threading.Lock()
    inner = HashEmbedder(dimension=32)

    def encode(texts):
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(random.random() / 500)
        with lock:
            active -= 1
        return inner.encode(texts)

    batcher = EncodeBatcher(encode, slots=slots, max_batch=4)
    texts = [f"question {i} on topic {i % 7} and {i}" for i in range(60)]
    threads, got = ask_all(batcher, texts)
    for t in threads:
        t.join(timeout=30)
    assert all(np.array_equal(got[t], v) for t, v in zip(texts, inner.encode(texts), strict=True))
    assert most <= slots and batcher.encoded == 60 and batcher._running == 0


def test_slots_and_batch_size_must_be_positive():
    with pytest.raises(ValueError):
        EncodeBatcher(HashEmbedder().encode, slots=0)
    with pytest.raises(ValueError):
        EncodeBatcher(HashEmbedder().encode, max_batch=0)

"""VectorFiller: vectors written to their rows batch by batch, known texts reused, nothing embedded twice."""

import numpy as np
import pytest

from qa.index import vectors
from qa.index.vectors import VectorFiller
from qa.testing import HashEmbedder

DIM = 32


class CountingEmbedder(HashEmbedder):
    """HashEmbedder that keeps the size of every call."""

    def __init__(self) -> None:
        super().__init__(DIM)
        self.sizes: list[int] = []

    def encode(self, texts, batch_size=64, progress=False):
        self.sizes.append(len(texts))
        return super().encode(texts, batch_size, progress)


def outputs(passages: int, sentences: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((passages, DIM), np.nan, np.float32), np.full((sentences, DIM), np.nan, np.float32)


def expected(texts: list[str]) -> np.ndarray:
    return HashEmbedder(DIM).encode(texts)


def test_new_texts_are_embedded_in_batches_and_written_to_their_rows():
    passages = [f"passage number {i} about lamps" for i in range(7)]
    sentences = [f"sentence number {i} about bees" for i in range(5)]
    out = outputs(9, 6)
    e = CountingEmbedder()
    filler = VectorFiller(out, lambda: e, batch=3)
    filler.fill((2, 1), (passages, sentences))
    assert filler.finish() == 12
    assert e.sizes == [3, 3, 3, 3]  # never more than one batch of texts (and vectors) at once
    assert np.array_equal(out[0][2:], expected(passages)) and np.isnan(out[0][:2]).all()
    assert np.array_equal(out[1][1:], expected(sentences)) and np.isnan(out[1][:1]).all()


def test_a_text_is_embedded_once_wherever_it_repeats():
    repeated = "The keeper records the weather."
    out = outputs(3, 4)
    e = CountingEmbedder()
    filler = VectorFiller(out, lambda: e, batch=2)
    filler.fill((0, 0), ([repeated, "Fog signals sound.", repeated], ["Other text.", repeated]))
    filler.fill((3, 2), ([], ["Lamps burn oil.", repeated]))  # after its batch went to the model
    assert filler.finish() == 4 == e.texts_encoded
    want = expected([repeated])[0]
    for array, row in ((out[0], 0), (out[0], 2), (out[1], 1), (out[1], 3)):
        assert np.array_equal(array[row], want)


def test_texts_of_the_old_index_are_copied_not_embedded():
    old_p = expected(["lamp text", "lens text"])
    old_s = expected(["a sentence"])
    out = outputs(2, 2)
    e = CountingEmbedder()
    filler = VectorFiller(out, lambda: e)
    filler.remember((["lamp text", "lens text"], ["a sentence"]), (old_p, old_s))
    filler.fill((0, 0), (["lens text", "new text"], ["a sentence", "lamp text"]))
    assert filler.finish() == 1 and e.sizes == [1]
    assert np.array_equal(out[0], np.stack([old_p[1], expected(["new text"])[0]]))
    assert np.array_equal(out[1], np.stack([old_s[0], old_p[0]]))


def test_nothing_to_embed_never_makes_the_model():
    out = outputs(2, 1)

    def no_model():
        raise AssertionError("the model was loaded")

    filler = VectorFiller(out, no_model)
    filler.remember((["a", "b"], ["c"]), (expected(["a", "b"]), expected(["c"])))
    filler.fill((0, 0), (["b", "a"], ["c"]))
    assert filler.finish() == 0


def test_unchanged_documents_are_copied_in_slices(monkeypatch):
    monkeypatch.setattr(vectors, "COPY_ROWS", 2)
    old_p, old_s = expected([f"p{i}" for i in range(5)]), expected([f"s{i}" for i in range(3)])
    out = outputs(6, 4)
    VectorFiller(out, CountingEmbedder).copy((1, 0), (old_p, old_s))
    assert np.array_equal(out[0][1:], old_p) and np.array_equal(out[1][:3], old_s)
    assert np.isnan(out[0][0]).all() and np.isnan(out[1][3]).all()


@pytest.mark.parametrize("text", ["plain", "ünïcödé \ud800 surrogate"])
def test_text_key_is_16_bytes_and_exact(text):
    key = vectors.text_key(text)
    assert len(key) == 16 and key == vectors.text_key(text) and key != vectors.text_key(text + " ")


def test_outputs_are_made_once_the_dimension_is_known():
    class Unsized:
        dimension = 0  # like a caching wrapper before its model is loaded

        def encode(self, texts, batch_size=64, progress=False):
            return HashEmbedder(DIM).encode(texts)

    made: list[int] = []

    def make(dim: int):
        made.append(dim)
        return outputs(1, 2)

    filler = VectorFiller(make, Unsized)
    filler.fill((0, 0), (["a lamp"], ["a lens", "a lamp"]))
    assert made == []  # nothing written yet: the texts wait for the model
    assert filler.finish() == 2 and made == [DIM]
    p_out, s_out = filler.outputs()
    assert np.array_equal(p_out[0], s_out[1]) and np.array_equal(s_out[0], expected(["a lens"])[0])

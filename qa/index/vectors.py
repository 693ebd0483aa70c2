"""Filling a build's vector files without holding every vector in memory at once.

The passage and sentence vector files are written in place (memory-mapped, in the build's temporary
folder): rows of unchanged documents are copied from the old index, and the texts of new or changed
documents are looked up by their exact text (any vector the old index or this build already holds is
reused) or embedded in batches of EMBED_BATCH texts, each batch written to its rows as soon as the model
returns it. Besides the files, a build holds one batch of vectors and a table of text keys and row numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from qa.index.embedder import Embedder

# Texts per model call: 3 MB of vectors at 384 dimensions. The model sorts each call's texts by length and
# pads per batch of 64, so larger calls gain nothing measurable; smaller ones would show progress more often.
EMBED_BATCH = 2048
# Rows copied at a time from the old index, so a memory-mapped file is never read into memory whole.
COPY_ROWS = 65_536

Row = tuple[np.ndarray, int]  # an array (output file or old index) and a row of it
Outputs = tuple[np.ndarray, np.ndarray]  # passage vectors, sentence vectors


def text_key(text: str) -> bytes:
    """What the text cache knows a text by: a 16-byte hash of its exact characters."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class VectorFiller:
    """Writes the vectors of passages and sentences into two output arrays, embedding only unknown texts."""

    def __init__(
        self,
        outputs: Outputs | Callable[[int], Outputs],
        embedder_factory: Callable[[], Embedder],
        progress: bool = False,
        batch: int | None = None,
    ) -> None:
        # The output arrays, or a function that makes them for the vector dimension, called once that is known
        # (from the old index or the model's first vectors: an embedder may not know it before it is loaded).
        self._outputs: Outputs | None = None if callable(outputs) else outputs
        self._open = outputs
        self.embedder_factory = embedder_factory
        self.batch = batch or EMBED_BATCH
        self.embedded = 0
        self._known: dict[bytes, Row] = {}
        self._pending: dict[bytes, list[tuple[int, int]]] = {}  # texts waiting for the model: (output, row)s
        self._pending_texts: list[str] = []
        self._bar = None
        self.on_batch: Callable[[int], None] | None = None  # hears the count embedded so far after each call
        if progress:
            from tqdm import tqdm

            self._bar = tqdm(desc="Embedding", unit=" texts")

    def outputs(self, dim: int | None = None) -> Outputs:
        """The output arrays, made now for `dim` dimensions if they were not yet."""
        if self._outputs is None:
            self._outputs = self._open(dim or self.embedder_factory().dimension)
        return self._outputs

    def remember(self, texts: tuple[list[str], list[str]], vectors: tuple[np.ndarray, np.ndarray]) -> None:
        """Vectors of an old index's document, by text, for reuse (nothing is copied)."""
        for group, array in zip(texts, vectors, strict=True):
            for row, text in enumerate(group):
                self._known.setdefault(text_key(text), (array, row))

    def copy(self, first_rows: tuple[int, int], vectors: tuple[np.ndarray, np.ndarray]) -> None:
        """An unchanged document's vectors, to its rows starting at first_rows (passage row, sentence row)."""
        for out, first, array in zip(self.outputs(vectors[0].shape[1]), first_rows, vectors, strict=True):
            for start in range(0, len(array), COPY_ROWS):
                chunk = array[start : start + COPY_ROWS]
                out[first + start : first + start + len(chunk)] = chunk

    def fill(self, first_rows: tuple[int, int], texts: tuple[list[str], list[str]]) -> None:
        """A new document's vectors: reused where the text is known, otherwise queued for the model."""
        for which, (first, group) in enumerate(zip(first_rows, texts, strict=True)):
            for i, text in enumerate(group):
                key = text_key(text)
                known = self._known.get(key)
                if known is not None:
                    self.outputs(known[0].shape[1])[which][first + i] = known[0][known[1]]
                elif key in self._pending:
                    self._pending[key].append((which, first + i))
                else:
                    self._pending[key] = [(which, first + i)]
                    self._pending_texts.append(text)
                    if len(self._pending_texts) >= self.batch:
                        self._embed()

    def finish(self) -> int:
        """Embed what is still queued; the number of texts the model embedded in all."""
        if self._pending_texts:
            self._embed()
        self.outputs()  # made even when there were no rows to fill
        self._known = {}  # the text cache is needed no longer: free it before FAISS and BM25 are built
        if self._bar is not None:
            self._bar.close()
        return self.embedded

    def _embed(self) -> None:
        vectors = self.embedder_factory().encode(self._pending_texts)
        outputs = self.outputs(vectors.shape[1])
        for (key, rows), vector in zip(self._pending.items(), vectors, strict=True):
            for which, row in rows:
                outputs[which][row] = vector
            self._known[key] = (outputs[rows[0][0]], rows[0][1])  # later copies of the text read it from there
        self.embedded += len(self._pending_texts)
        if self._bar is not None:
            self._bar.update(len(self._pending_texts))
        if self.on_batch is not None:
            self.on_batch(self.embedded)
        self._pending, self._pending_texts = {}, []

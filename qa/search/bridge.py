"""Question words the documents never use, searched as the nearest word they do use ("pills" as "medication").

People ask in their own words: "pills" where an article says "medication", "hurt" where it says "pain". Such a
word matches no sentence, so the sentence that answers loses the share of the question it would hold. The
bundled model places words near their synonyms, so each distinct word of the documents is embedded once (in the
background when served, else on the first question that needs it), and a question word the index lacks is
searched as the nearest document word when their cosine reaches `RetrievalParams.stand_in_cosine`
(docs/QUALITY.md, "Words the documents do not use"). A stand-in helps find and rank the sentence; it does not
vouch that the documents speak of the word, so the word still counts as missing when the answerer decides
whether to decline.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import QAError
from qa.index.embedder import knows_word
from qa.text.terms import is_query_content, words

if TYPE_CHECKING:
    from qa.index.format import IndexedDocument
    from qa.search.params import RetrievalParams

log = logging.getLogger(__name__)
Encode = Callable[[list[str]], np.ndarray]
# Shorter words are mostly abbreviations, whose nearest neighbours say little.
MIN_LETTERS = 3
# The commonest words kept, which bounds memory (1.5 KB a word as float32) and the one-off embedding: COVID-QA's
# 98 articles have 17,302 distinct words, the default corpus 666.
MAX_WORDS = 20_000


def vocabulary(texts: Iterable[str], limit: int = MAX_WORDS) -> list[str]:
    """The distinct words of the texts that can stand in for a question word (content words of letters only),
    the `limit` commonest of them, sorted."""
    counts = Counter(w for text in texts for w in words(text) if w.isalpha() and len(w) >= MIN_LETTERS)
    found = [w for w in counts if is_query_content(w)]
    if len(found) > limit:
        found = sorted(found, key=lambda w: (-counts[w], w))[:limit]
    return sorted(found)


class TermBridge:
    """Finds, for a word the index lacks, the document word nearest to it in the embedding model's space."""

    def __init__(
        self,
        texts: Callable[[], Iterable[str]],
        encode: Encode,
        min_cosine: float,
        knows_word: Callable[[str], bool] | None = None,
    ) -> None:
        self._texts = texts
        self._encode = encode
        self.min_cosine = min_cosine
        # A word the model reads as pieces is placed by its pieces, near words spelled alike ("sars" by "sar",
        # "pcr" by "tcr"), so only words the model holds whole get a stand-in.
        self._knows_word = knows_word or (lambda word: True)
        self._words: list[str] | None = None
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()  # the server's threads share one bridge: embed the vocabulary once
        self._start_lock, self._preparing = threading.Lock(), False
        self.stand_in = lru_cache(maxsize=4096)(self._nearest)

    def prepare_in_background(self) -> None:
        """Embed the vocabulary in a daemon thread, not on a question (16 s for 17,302 words: bench.speed.bridge);
        a question that needs a stand-in meanwhile waits for it, one that does not only shares the cores."""
        with self._start_lock:  # not self._lock, which the embedding holds for seconds
            if not self.min_cosine or self._preparing:
                return
            self._preparing = True
        threading.Thread(target=self._prepare, name="qa-bridge", daemon=True).start()

    def _prepare(self) -> None:
        try:
            self._vocabulary()
        except QAError as exc:  # the first question that needs a stand-in tries again and reports it
            log.warning("qa: the words of the documents were not embedded for the term bridge: %s", exc)

    def _vocabulary(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if self._vectors is None:
                self._words = vocabulary(self._texts())
                self._vectors = _unit(self._encode(self._words)) if self._words else np.zeros((0, 1), np.float32)
            return self._words, self._vectors

    def _nearest(self, word: str) -> str | None:
        """The document word nearest to `word` if it is near enough, else None."""
        if not self.min_cosine or not word.isalpha() or len(word) < MIN_LETTERS or not self._knows_word(word):
            return None
        found, vectors = self._vocabulary()
        if not found:
            return None
        cosines = vectors @ _unit(self._encode([word]))[0]
        best = int(np.argmax(cosines))
        return found[best] if cosines[best] >= self.min_cosine else None


def document_bridge(
    documents: Sequence[IndexedDocument], encode: Encode, params: RetrievalParams, model: str | None
) -> TermBridge:
    """The bridge of an index: its documents' words, embedded by `encode` when first needed; `model` (None: the
    bundled one) tells whole words from pieces."""
    return TermBridge(
        lambda: (d.text for d in documents), encode, params.stand_in_cosine, lambda word: knows_word(model, word)
    )


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

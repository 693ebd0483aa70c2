"""QAService: the one object behind the CLI, the JSON API and the web chat."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa.config import MODES, Settings
from qa.errors import ClusterError, IndexNotFound, IndexUnusable, InvalidRequest, QAError
from qa.index.batcher import EncodeBatcher
from qa.index.build import BuildReport, build_index
from qa.index.embedder import Embedder, SentenceTransformerEmbedder
from qa.index.key import check_built_with, model_identity
from qa.index.store import manifest_stamp, read_manifest
from qa.search.filter import allowed_passages, validate_doc_ids
from qa.search.params import (
    DEFAULT_ANSWER,
    DEFAULT_RETRIEVAL,
    MAX_PASSAGES,
    MAX_QUOTES,
    AnswerParams,
    RetrievalParams,
)
from qa.search.query import resolve
from qa.search.validate import validate_history, validate_k, validate_question
from qa.text.terms import load_stemmer

if TYPE_CHECKING:  # FAISS and bm25s come with them; a `qa build` with nothing to do never needs them
    import numpy as np

    from qa.search.answerer import Answer, Answerer
    from qa.search.retriever import Hit, Retriever
    from qa.search.selector import Selector
    from qa.search.shards import Shard

READ_TRIES = 3


@dataclass
class SearchResult:
    """A ranked passage, as `qa search` shows it."""

    doc_id: str
    section: str | None
    start: int
    end: int
    text: str
    score: float


def service_for(settings: Settings, encode_slots: int | None = None) -> QAService:
    """The QAService for these settings: with a router set (QA_ROUTER), one that asks a Ray cluster's router."""
    if settings.router:
        from qa.cluster.front import RouterService

        return RouterService(settings)
    return QAService(settings, encode_slots=encode_slots)


@dataclass
class _Loaded:
    retriever: Retriever
    answerer: Answerer
    stamp: tuple


class QAService:
    """Answers questions from the index; loads the model and index once and reloads when the index changes."""

    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        encode_slots: int | None = None,
        *,
        retrieval_params: RetrievalParams = DEFAULT_RETRIEVAL,
        answer_params: AnswerParams = DEFAULT_ANSWER,
        remote_shards: Callable[[Path], Shard] | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.remote_shards = remote_shards  # each shard's searcher when the shards are served elsewhere
        # The tuned numbers of search and answering (benchmarks pass others).
        self.retrieval_params, self.answer_params = retrieval_params, answer_params
        self._embedder = embedder
        self._selector: tuple[Selector | None] | None = None  # (the selector or None) once loaded
        self._loaded: _Loaded | None = None
        self._lock = threading.RLock()
        self._reload_lock = threading.Lock()
        self._warm = False  # warm_up was called: each index loaded from then on prepares its bridge at once
        self.limit_encodes(encode_slots)

    def limit_encodes(self, slots: int | None) -> None:
        """Let at most `slots` encodes run at once (None: no limit); questions that wait are encoded together.

        A served worker gets as many slots as its torch threads: its request threads then queue for the
        model instead of running more encodes than the worker has cores, where OpenMP threads spin-wait
        for one another and every encode slows down. Index builds are not limited.
        """
        self.encode_slots = slots
        self.batcher = EncodeBatcher(lambda texts: self.embedder.encode(texts), slots) if slots else None

    @property
    def model_loaded(self) -> bool:
        """Whether the embedding model is in memory (given, or loaded by a use)."""
        return self._embedder is not None

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use."""
        with self._lock:
            if self._embedder is None:
                self._embedder = SentenceTransformerEmbedder(self.settings.model)
            return self._embedder

    @property
    def selector(self) -> Selector | None:
        """The learned answer selector the settings name, loaded on first use (None: the hand-weighted score)."""
        with self._lock:
            if self._selector is None:
                from qa.search.selector import open_selector

                self._selector = (open_selector(self.settings.selector),)
            return self._selector[0]

    def model_identity(self) -> dict:
        """Name, path and fingerprint of the configured model (without loading it when possible)."""
        if self._embedder is not None:
            return {
                "name": self._embedder.name,
                "path": getattr(self._embedder, "path", ""),
                "fingerprint": self._embedder.fingerprint,
            }
        return model_identity(self.settings)

    def _stamp(self) -> tuple:
        return manifest_stamp(self.settings.index_dir)

    def load(self) -> _Loaded:
        """The loaded index, reading it again if a build has replaced it since."""
        loaded = self._loaded
        stamp = self._stamp()
        if loaded is not None and loaded.stamp == stamp:
            return loaded
        # While one thread reads a new index, the others keep answering from the current one.
        if not self._reload_lock.acquire(blocking=loaded is None):
            return loaded
        try:
            stamp = self._stamp()
            if self._loaded is not None and self._loaded.stamp == stamp:
                return self._loaded
            retriever, stamp = self._open(loaded)
            if retriever is None:
                return loaded  # swapped again while it was read; a later request reads the newest
            check_built_with(retriever.data.manifest, self.settings, self.model_identity())
            from qa.search.answerer import Answerer
            from qa.search.bridge import document_bridge

            # Words go straight to the model, not through the batcher (they are not questions), and the model is
            # loaded only when a word first needs it.
            params, model = self.retrieval_params, self.settings.model
            encode = lambda texts: self.embedder.encode(texts)
            retriever.bridge = document_bridge(retriever.data.documents, encode, params, model)
            if self._warm:
                retriever.bridge.prepare_in_background()
                len(retriever.aliases)  # found now (0.2 s for COVID-QA's 98 articles), not on the first question

            load_stemmer()  # NLTK is read here rather than during the first question
            answerer = Answerer(retriever, self.answer_params, self.selector)
            self._loaded = _Loaded(retriever, answerer, stamp)
            return self._loaded
        finally:
            self._reload_lock.release()

    def loaded_version(self) -> str | None:
        """The version of the index in memory, without loading or checking anything."""
        loaded = self._loaded
        return loaded.retriever.index_version if loaded is not None else None

    def _open(self, loaded: _Loaded | None) -> tuple[Retriever | None, tuple]:
        """Read the index whole from one build: a read that a swap overlapped is read again."""
        from qa.search.retriever import Retriever

        for _ in range(READ_TRIES):
            stamp = self._stamp()
            try:
                retriever = Retriever.open(
                    self.settings.index_dir, self.retrieval_params, self.settings.index_mmap, self.remote_shards
                )
            except QAError:
                if self._stamp() == stamp:
                    raise
                continue
            if self._stamp() == stamp:  # the manifest at the path is the one of every file read
                return retriever, stamp
        if loaded is not None:
            return None, ()
        raise IndexUnusable(f"the index at {self.settings.index_dir} kept changing while it was read; try again")

    def build(
        self,
        rebuild: bool = False,
        progress: bool = False,
        on_wait=None,
        on_progress=None,
        shards: int | None = None,
        chunker=None,
    ) -> BuildReport:
        """Bring the index up to date with the corpus folder (incremental unless rebuild); on_progress and chunker:
        see build_index. `shards` > 1 splits it into that many shards (unset: as many as it has now)."""
        recorded = self._recorded_shards()
        shards = shards or recorded
        if shards > 1:
            from qa.index.sharding import build_sharded

            model = self.model_identity()
            return build_sharded(
                self.settings, lambda: self.embedder, shards, rebuild, progress, on_wait, model, on_progress, chunker
            )
        return build_index(
            self.settings,
            lambda: self.embedder,
            rebuild=rebuild or recorded > 1,  # from shards back to one index: every document is written anew
            progress=progress,
            on_wait=on_wait,
            model=self.model_identity(),
            on_progress=on_progress,
            chunker=chunker,
        )

    def _recorded_shards(self) -> int:
        """How many shards the current index was built with (1: an ordinary index, or none yet)."""
        try:
            return int(read_manifest(self.settings.index_dir).chunking.get("shards", 1))
        except QAError:
            return 1

    def warm_up(self) -> None:
        """Load the model and index now, so the first question is not the one that waits for them; the words
        of this index and of each one loaded later are embedded for the term bridge in the background."""
        self._warm = True
        self.embedder.encode(["warm up"])
        self.load().retriever.bridge.prepare_in_background()

    def ensure_index(self, progress: bool = False) -> BuildReport | None:
        """Build the index if there is none yet."""
        try:
            self.load()
            return None
        except IndexNotFound:
            report = self.build(progress=progress)
            self.load()
            return report

    def _mode(self, mode: str | None) -> str:
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise InvalidRequest(f"mode must be one of {', '.join(MODES)}")
        return mode

    def _retrieve(
        self,
        loaded: _Loaded,
        text: str,
        history: list[str],
        k: int,
        mode: str | None,
        need_vector: bool,
        doc_ids: list[str] | None = None,
        missing: list[str] | None = None,
    ) -> tuple[str, np.ndarray | None, list[str], list[Hit]]:
        """The search query for a question in its conversation, its vector and terms, and the k best passages
        (of the documents doc_ids names, when given); shards that did not answer are added to `missing`."""
        mode = self._mode(mode)
        allowed = None
        if doc_ids is not None:
            allowed = allowed_passages(loaded.retriever, doc_ids)
        search_query = resolve(text, history)
        vector = None
        if need_vector or mode != "bm25":
            if self.batcher is not None:
                vector = self.batcher.encode(search_query)
            else:
                vector = self.embedder.encode([search_query])[0]
        query_terms = loaded.retriever.query_terms(search_query)
        hits = loaded.retriever.search(vector, query_terms, k=k, mode=mode, allowed=allowed, missing=missing)
        return search_query, vector, query_terms, hits

    def ask(
        self,
        question: str,
        history: list[str] | None = None,
        k: int = 3,
        mode: str | None = None,
        doc_ids: list[str] | None = None,
    ) -> Answer:
        """Answer a question with verbatim quotes and citations, or decline; from the documents doc_ids names
        (doc_ids or folder prefixes) when given."""
        question = validate_question(question)
        history = validate_history(history)
        k = validate_k(k, MAX_QUOTES)
        doc_ids = validate_doc_ids(doc_ids)
        loaded = self.load()
        # The answer step scores sentences against the query vector, so it is needed in every mode.
        missing: list[str] = []
        search_query, vector, query_terms, hits = self._retrieve(
            loaded, question, history, max(10, k), mode, True, doc_ids, missing
        )
        answer = loaded.answerer.answer(question, search_query, vector, query_terms, hits, k)
        answer.shards_missing = missing
        retriever = loaded.retriever
        for c in answer.citations:
            text = retriever.document(retriever.doc_index[c.doc_id]).text
            if text[c.start : c.end] != c.quote:  # the product's core promise; never ship a broken citation
                raise AssertionError(f"citation offsets do not match the source for {c.doc_id}")
        return answer

    def retrieve(
        self, question: str, k: int = 10, mode: str | None = None
    ) -> tuple[str, np.ndarray, list[str], list[Hit]]:
        """What ask() answers from: the search query, its vector and terms, and the k best passages (for training
        the selector on the same candidates users get)."""
        return self._retrieve(self.load(), validate_question(question), [], k, mode, True)

    def ranked(
        self,
        query: str,
        k: int,
        history: list[str] | None = None,
        mode: str | None = None,
        doc_ids: list[str] | None = None,
    ) -> tuple[str, list[Hit]]:
        """The search query used and the k best passages as retrieval ranks them (benchmarks go past MAX_PASSAGES)."""
        query, history, doc_ids = validate_question(query), validate_history(history), validate_doc_ids(doc_ids)
        missing: list[str] = []
        search_query, _, _, hits = self._retrieve(self.load(), query, history, k, mode, False, doc_ids, missing)
        if missing:  # a ranking has no place to say it is partial: refuse rather than leave passages out silently
            raise ClusterError(f"shards {', '.join(missing)} did not answer; search again")
        return search_query, hits

    def search(
        self,
        query: str,
        k: int = 10,
        history: list[str] | None = None,
        mode: str | None = None,
        doc_ids: list[str] | None = None,
    ) -> tuple[str, list[SearchResult]]:
        """The search query used and the k best passages (no declining), of the documents doc_ids names if given."""
        search_query, hits = self.ranked(query, validate_k(k, MAX_PASSAGES), history, mode, doc_ids)
        r = self.load().retriever
        return search_query, [
            SearchResult(
                r.doc(h.passage).doc_id,
                r.section(h.passage),
                *r.span(h.passage),
                r.text(h.passage),
                round(h.score, 4),
            )
            for h in hits
        ]

    def document(self, doc_id: str) -> dict | None:
        """The indexed document (doc_id, title, text), or None."""
        retriever = self.load().retriever
        i = retriever.doc_index.get(doc_id)
        if i is None:
            return None
        doc = retriever.document(i)
        return {"doc_id": doc.doc_id, "title": doc.title, "text": doc.text}

    def collection(self) -> dict:
        """Every indexed document (doc_id, title, format, bytes, chars, passages, sha256, indexed_at) and the
        files that could not be read, with why."""
        from qa.collection import listing

        return listing(self.load().retriever.data, Path(self.settings.corpus_dir))

    def info(self) -> dict:
        """What the index holds."""
        manifest = self.load().retriever.data.manifest
        return {
            "index_dir": str(self.settings.index_dir),
            "documents": manifest.counts["documents"],
            "passages": manifest.counts["passages"],
            "sentences": manifest.counts["sentences"],
            "model": manifest.model["name"],
            "index_version": manifest.index_version,
            "built_at": manifest.built_at,
            "dense_index": manifest.dense_index,
            "shards": len(manifest.shards) or 1,
            # Which sentence scorer answers: the learned selector's short id, or "none" (hand-weighted).
            "selector": self.selector.identity if self.selector is not None else "none",
        }

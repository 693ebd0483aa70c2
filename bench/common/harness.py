"""Benchmark corpora indexed by the product's own build, cached by corpus, settings, model and code."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common.data import OUT_DIR, Benchmark, write_corpus
from bench.common.embedcache import CachingEmbedder
from qa.config import Settings
from qa.index.embedder import Embedder, SentenceTransformerEmbedder, bundled_model_path, weights_fingerprint
from qa.index.key import code_fingerprint
from qa.search.params import RetrievalParams
from qa.service import QAService

MODES = ("bm25", "dense", "hybrid")


def model_embedder(out_dir: Path = OUT_DIR, tag: str = "", model: str | None = None) -> CachingEmbedder:
    """The bundled MiniLM (or the model folder `model`) behind an on-disk vector cache (the model loads only on a
    cache miss)."""
    # Parallel runs pass different tags: each writes its own file and reads all of them.
    fingerprint = weights_fingerprint(model or bundled_model_path())
    own = out_dir / f"vectors-{fingerprint}{tag}.npz"
    others = tuple(p for p in sorted(out_dir.glob(f"vectors-{fingerprint}*.npz")) if p != own and ".tmp" not in p.name)
    name = Path(model).name if model else "all-MiniLM-L6-v2"
    return CachingEmbedder(lambda: SentenceTransformerEmbedder(model), name, fingerprint, own, others)


def wrap_embedder(inner: Embedder) -> CachingEmbedder:
    """A fake embedder behind an in-memory cache, for tests."""
    return CachingEmbedder(lambda: inner, inner.name, inner.fingerprint, None)


@dataclass
class Indexed:
    """A benchmark corpus with its built index and the service that answers over it."""

    bench: Benchmark
    service: QAService
    embedder: CachingEmbedder
    label: str

    def prime(self, texts: list[str]) -> None:
        """Embed all queries in one batch (ask() embeds one at a time)."""
        self.embedder.encode(sorted(set(texts)), progress=False)

    def use_retrieval(self, params: RetrievalParams) -> None:
        """Search with other retrieval params from now on, on the index already loaded."""
        self.service.retrieval_params = params
        self.service.load().retriever.params = params

    def ranked_docs(self, query: str, mode: str, k: int) -> list[str]:
        """doc_ids of the top-k passages, best first, through the service's own search path (query terms,
        typing-error correction and all)."""
        _, hits = self.service.ranked(query, k, mode=mode)
        retriever = self.service.load().retriever
        return [retriever.doc(h.passage).doc_id for h in hits]


def open_indexed(
    bench: Benchmark,
    embedder: CachingEmbedder,
    out_dir: Path = OUT_DIR,
    max_chars: int | None = None,
    overlap: int | None = None,
    selector: str | None = None,
) -> Indexed:
    """Write the corpus folder, build (or reuse) its index with QAService.build(), and return it."""
    names = hashlib.sha256("\n".join(sorted(bench.files)).encode()).hexdigest()[:8]
    corpus_dir = out_dir / "corpora" / f"{bench.name}-{len(bench.files)}-{names}"
    write_corpus(bench.files, corpus_dir)
    settings = Settings.from_env(env={}, corpus_dir=corpus_dir, max_chars=max_chars, overlap=overlap)
    key = json.dumps(
        [corpus_dir.name, settings.max_chars, settings.overlap, embedder.fingerprint, code_fingerprint()]
    ).encode()
    index_dir = out_dir / "index" / f"{bench.name}-{hashlib.sha256(key).hexdigest()[:12]}"
    settings = Settings.from_env(
        env={}, corpus_dir=corpus_dir, index_dir=index_dir, max_chars=max_chars, overlap=overlap, selector=selector
    )
    service = QAService(settings, embedder=embedder)
    service.build()
    embedder.save()
    label = f"max_chars={settings.max_chars}, overlap={settings.overlap}"
    return Indexed(bench, service, embedder, label)


def passage_lengths(indexed: Indexed) -> tuple[int, float]:
    """Number of passages and their mean length in characters."""
    a = indexed.service.load().retriever.data.arrays
    lengths = a.p_end - a.p_start
    return len(lengths), float(np.mean(lengths)) if len(lengths) else 0.0

"""A build's chunking and embedding on a Ray cluster: actors that each hold the model split documents into
sentences and passages (with the splitter trained once, on the machine that builds) and encode the texts.

The actors live as long as the embedder, so the model loads once per actor for a whole build, not once per
batch of texts the build hands over; they are spread over the cluster's nodes, one CPU each.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.cluster.join import join, ray_module
from qa.errors import ClusterError, ModelError
from qa.index.embedder import bundled_model_path, weights_fingerprint

RETRIES = 3  # restarts of a lost actor, and retries of the chunk it held
CHUNK = 256  # texts per task: large enough to keep an actor busy, small enough to spread a batch over many
CHUNK_CHARS = 200_000  # characters of documents per chunking task

if TYPE_CHECKING:
    from qa.index.tables import DocTables
    from qa.ingest.corpus import Document


def model_dimension(path: str) -> int:
    """The vector size a sentence-transformers folder produces, from its config files (the model is not loaded)."""
    for name, key in (("1_Pooling/config.json", "word_embedding_dimension"), ("config.json", "hidden_size")):
        file = Path(path) / name
        if file.is_file():
            return int(json.loads(file.read_text())[key])
    raise ModelError(f"cannot tell the vector size of the model in {path}")


class _Encoder:
    """One actor's model (body of a Ray actor class: see RayEmbedder)."""

    def __init__(self, model_path: str) -> None:
        import torch

        from qa.index.embedder import SentenceTransformerEmbedder

        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
        self.embedder = SentenceTransformerEmbedder(model_path)
        self.node = ray_module().get_runtime_context().get_node_id()

    def encode(self, texts: list[str]) -> tuple[np.ndarray, str]:
        """The texts' vectors, and which node made them."""
        return self.embedder.model.encode(texts, batch_size=64, normalize_embeddings=True), self.node

    def chunk(self, docs: dict, params, max_chars: int, overlap: int) -> tuple[dict, str]:
        """The documents' tables (qa.index.tables.chunk_documents), and which node made them."""
        from qa.index.tables import chunk_documents

        return chunk_documents(docs, params, max_chars, overlap), self.node


class RayEmbedder:
    """An Embedder whose encode() runs on the actors of a Ray cluster (`address`: None starts a local one)."""

    def __init__(self, address: str | None = None, workers: int = 2, model_path: str | None = None) -> None:
        ray_module()  # a clear error now when the extra is missing
        path = model_path or bundled_model_path()
        self.path, self.name = str(path), Path(path).name if model_path else "all-MiniLM-L6-v2"
        self.fingerprint, self.dimension = weights_fingerprint(self.path), model_dimension(self.path)
        self.address, self.workers = address, workers
        self.actors: list = []  # started by the first encode: a build with nothing to embed never joins the cluster
        self.nodes: set[str] = set()  # the nodes whose actors have chunked or encoded something
        self.chunked = 0  # documents chunked by the actors

    def _start(self) -> None:
        ray = join(self.address)
        # An actor whose node dies is started again elsewhere and its chunk retried, so losing a node slows a
        # build down rather than failing it (while any node is left).
        options = {"num_cpus": 1, "scheduling_strategy": "SPREAD", "max_restarts": RETRIES, "max_task_retries": RETRIES}
        actor = ray.remote(**options)(_Encoder)
        self.actors = [actor.remote(self.path) for _ in range(self.workers)]

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Normalized embeddings, one row per text, in the order given."""
        from ray.util import ActorPool

        ray = ray_module()
        if not self.actors:
            self._start()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # texts of one chunk pad to similar lengths
        size = max(1, min(CHUNK, -(-len(texts) // len(self.actors))))  # a small call still reaches every actor
        chunks = [order[i : i + size] for i in range(0, len(order), size)]
        # The pool hands each chunk to whichever actor is free, so a slower node takes fewer; map() keeps order.
        pool = ActorPool(self.actors)
        results = pool.map(lambda actor, rows: actor.encode.remote([texts[j] for j in rows]), chunks)
        try:
            for rows, (vectors, node) in zip(chunks, results, strict=True):
                out[rows] = vectors
                self.nodes.add(node)
        except ray.exceptions.RayError as exc:  # the index is untouched: a build writes it only at the end
            raise ClusterError(f"the Ray cluster failed while embedding ({type(exc).__name__}); build again") from exc
        return out

    def chunk(self, fresh: dict[str, Document], params, max_chars: int, overlap: int) -> dict[str, DocTables]:
        """A build's chunker (qa.index.build.Chunker): the documents split into sentences and passages by the
        actors, in groups of about CHUNK_CHARS characters; `fresh` is emptied."""
        from ray.util import ActorPool

        if not fresh:
            return {}
        if not self.actors:
            self._start()
        groups, size = [{}], 0
        for doc_id in sorted(fresh):
            if size >= CHUNK_CHARS:
                groups.append({})
                size = 0
            doc = groups[-1][doc_id] = fresh.pop(doc_id)
            size += len(doc.text)
        pool = ActorPool(self.actors)
        results = pool.map(lambda actor, docs: actor.chunk.remote(docs, params, max_chars, overlap), groups)
        tables: dict[str, DocTables] = {}
        try:
            for chunked, node in results:
                tables.update(chunked)
                self.nodes.add(node)
                self.chunked += len(chunked)
        except ray_module().exceptions.RayError as exc:
            raise ClusterError(f"the Ray cluster failed while chunking ({type(exc).__name__}); build again") from exc
        return tables

    def close(self) -> None:
        """Stop the actors."""
        ray = ray_module()
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []

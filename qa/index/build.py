"""Building the index from the corpus folder, incrementally: only changed documents are processed."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.config import Settings
from qa.errors import CorpusError, QAError
from qa.index.content import embedding_texts, lexical_text, titled_documents
from qa.index.digests import DIGESTS_FILE, DigestCache
from qa.index.embedder import Embedder
from qa.index.format import (
    BM25_DIR,
    DENSE_FILE,
    FORMAT_VERSION,
    PASSAGE_VECTORS,
    SENTENCE_VECTORS,
    Manifest,
)
from qa.index.key import index_key, model_identity, package_versions
from qa.index.store import (
    IndexData,
    IndexWriter,
    build_lock,
    check_files,
    file_sha256,
    read_index,
    read_manifest,
    recover,
)
from qa.index.tables import DocTables, chunk_documents, index_arrays, split_old
from qa.index.vectors import VectorFiller
from qa.ingest.corpus import Document, Problem, list_files, read_document, sha256_bytes
from qa.text.sentences import params_from_dict, params_to_dict, train_params
from qa.text.terms import terms

Progress = Callable[[str, int, int], None]  # stage, done, total
# fresh documents, the splitter's parameters, max_chars, overlap -> their tables (qa.index.tables.chunk_documents)
Chunker = Callable[[dict[str, Document], "PunktParameters", int, int], dict[str, DocTables]]

if TYPE_CHECKING:  # FAISS and NLTK are imported only when a build has work to do
    from nltk.tokenize.punkt import PunktParameters

    from qa.index.dense import DenseIndex
    from qa.index.lexical import BM25Builder


@dataclass
class BuildReport:
    """What a build did."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    documents: int = 0
    passages: int = 0
    sentences: int = 0
    embedded: int = 0
    index_version: str = ""
    wrote_index: bool = False
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)


def old_manifest(settings: Settings) -> Manifest | None:
    try:
        return read_manifest(settings.index_dir)
    except QAError:
        return None


def build_index(
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    rebuild: bool = False,
    progress: bool = False,
    on_wait: Callable[[], None] | None = None,
    model: dict | None = None,
    on_progress: Progress | None = None,
    chunker: Chunker | None = None,
) -> BuildReport:
    """Bring the index at settings.index_dir up to date with settings.corpus_dir; on_progress(stage, done, total)
    hears "started" once the build lock is held, then "reading", "embedding" and "writing" as it goes; chunker
    splits the fresh documents (default: here, chunk_documents)."""
    started = time.monotonic()
    model = model or model_identity(settings)
    report = on_progress or _quiet
    with build_lock(settings.index_dir, settings.lock_timeout, on_wait):
        report("started", 0, 0)
        # Listed under the lock: whoever changed the corpus before this build started is sure to be seen.
        files, problems = list_files(Path(settings.corpus_dir))
        build = BuildStages(settings, model, BuildReport(problems=problems), report, chunker)
        recover(settings.index_dir)
        build.plan(rebuild)
        if not (build.reusable and build.nothing_changed(files)):
            fresh, unreadable = build.read_changed(files, rebuild)
            build.chunk(fresh)
            build.write(embedder_factory, progress, unreadable)
        build.report.seconds = time.monotonic() - started
    return build.report


def _quiet(stage: str, done: int, total: int) -> None:
    """The progress report of a build nobody watches."""


class BuildStages:
    """One build's stages and what passes between them; each stage drops what the later ones do not need."""

    def __init__(
        self,
        settings: Settings,
        model: dict,
        report: BuildReport,
        progress: Progress = _quiet,
        chunker: Chunker | None = None,
    ) -> None:
        self.settings, self.model, self.key = settings, model, index_key(settings, model)
        self.on_progress = progress
        self.chunker = chunker or chunk_documents  # a Ray cluster's chunks on its workers (qa.cluster.embed)
        self.report, self.problems = report, report.problems
        self.manifest: Manifest | None = None  # the current index's, when it has a readable one
        self.reusable = False  # whether the current index was built with this key, so its documents can stay
        self.old_hashes: dict[str, str] = {}  # doc_id -> sha256 of the current index's documents
        self.unchanged: set[str] = set()  # documents whose tables (and vectors) are carried over
        self.old: IndexData | None = None
        self.old_docs: dict[str, DocTables] = {}  # the current index's tables, to carry over and lend vectors
        self.docs: dict[str, DocTables] = {}  # the new index's tables
        self.params: PunktParameters | None = None  # the sentence splitter's

    def plan(self, rebuild: bool) -> None:
        """Read the current manifest: whether the index can be updated in place, and its documents' hashes."""
        self.manifest = old_manifest(self.settings)
        self.reusable = not rebuild and self.manifest is not None and self.manifest.settings == self.key
        self.old_hashes = {d: v["sha256"] for d, v in self.manifest.documents.items()} if self.manifest else {}

    def nothing_changed(self, files: list[Path]) -> bool:
        """Whether the corpus and the index files are as the manifest says; if so the report says so."""
        # Digests of files whose stat has not moved since they were last hashed are remembered in the index
        # folder, so at scale this check reads neither the corpus nor the index (docs/PERFORMANCE.md).
        remembered = DigestCache(Path(self.settings.index_dir) / DIGESTS_FILE)
        hashes, skipped = _scan(self.settings, files, lambda path, _: remembered.digest(path, file_sha256))
        # Files that could not be read as documents last time count as unchanged too, or one bad PDF would
        # rewrite the index on every build; their problem is reported again.
        unreadable = self.manifest.unreadable
        known = self.old_hashes | {d: v["sha256"] for d, v in unreadable.items()}
        nothing_changed = hashes == known and _intact(self.settings, self.manifest, remembered)
        remembered.save()
        if nothing_changed:  # the model is not even loaded, nor any unchanged file read
            self.problems.extend(skipped)
            self.problems.extend(Problem(d, v["problem"]) for d, v in sorted(unreadable.items()))
            self.report.unchanged = len(self.old_hashes)
            fill_counts(self.report, self.manifest)
        return nothing_changed

    def read_changed(self, files: list[Path], rebuild: bool) -> tuple[dict[str, Document], dict[str, dict]]:
        """The new and changed documents read, and the files that are no documents (doc_id -> sha256, problem).

        Also settles which documents are carried over unchanged, and reads the current index to lend them.
        """
        raw: dict[str, tuple[Path, bytes]] = {}

        def read(path: Path, doc_id: str) -> str:
            data = path.read_bytes()
            raw[doc_id] = (path, data)
            return sha256_bytes(data)

        hashes, skipped = _scan(self.settings, files, read)
        self.problems.extend(skipped)
        self._count(hashes)
        self.old = None if rebuild else _read_old(self.settings, self.manifest)
        # Vectors are cached by their exact text, so any old index of the same model can lend them.
        same_model = self.old is not None and self.old.manifest.settings.get("model") == self.key["model"]
        self.old_docs = split_old(self.old) if same_model else {}
        if not (self.reusable and same_model):
            self.unchanged = set()  # re-chunk everything; the text cache still spares the model
        fresh, unreadable = {}, {}
        changed = sorted(set(hashes) - self.unchanged)
        for done, doc_id in enumerate(changed):
            self.on_progress("reading", done, len(changed))
            path, data = raw.pop(doc_id)  # the bytes go as the text comes
            try:
                fresh[doc_id] = read_document(path, doc_id, data)
            except CorpusError as exc:
                self.problems.append(Problem(doc_id, str(exc)))
                unreadable[doc_id] = {"sha256": hashes[doc_id], "problem": str(exc)}
        raw.clear()  # the unchanged documents' bytes were needed only for their hashes
        return fresh, unreadable

    def _count(self, hashes: dict[str, str]) -> None:
        """Which documents are unchanged, and the report's counts of added, changed, removed and unchanged."""
        old_hashes, report = self.old_hashes, self.report
        self.unchanged = {d for d, h in hashes.items() if old_hashes.get(d) == h}
        report.removed = len(set(old_hashes) - set(hashes))
        report.unchanged = len(self.unchanged)
        report.changed = sum(1 for d in hashes if d in old_hashes and d not in self.unchanged)
        report.added = sum(1 for d in hashes if d not in old_hashes)

    def chunk(self, fresh: dict[str, Document], params: PunktParameters | None = None) -> None:
        """The new index's tables: the unchanged documents' carried over, the fresh ones split and chunked
        (with the sentence splitter's `params` when given: a sharded build trains one for all shards)."""
        if params is not None:
            self.params = params
        elif self.unchanged:
            self.params = params_from_dict(self.old.punkt)  # unchanged documents must split as before
        else:
            self.params = train_params(doc.text for doc in fresh.values())
        self.docs = {d: self.old_docs[d] for d in self.unchanged}
        self.docs.update(self.chunker(fresh, self.params, self.settings.max_chars, self.settings.overlap))
        if not self.docs:
            raise CorpusError(_empty_message(Path(self.settings.corpus_dir), self.problems))

    def write(self, embedder_factory: Callable[[], Embedder], progress: bool, unreadable: dict[str, dict]) -> None:
        """Write the new index beside the current one and swap it in; the current one stays as it is until then."""
        with IndexWriter(self.settings.index_dir) as writer:
            data = self.filled_data(writer, embedder_factory, progress)
            self.on_progress("writing", 0, 0)
            _write_bm25(writer, data)
            dense = dense_index(data)
            data.manifest.dense_index = dense.kind
            data.manifest.unreadable = unreadable
            self.stamp_indexed_at(data.manifest)
            writer.commit(data, {DENSE_FILE: dense.save})
        self.report.wrote_index = True
        fill_counts(self.report, data.manifest)

    def stamp_indexed_at(self, manifest: Manifest) -> None:
        """When each document was indexed: now if read in this build, else as the old manifest says."""
        old = self.manifest
        for doc_id, entry in manifest.documents.items():
            carried = old.documents[doc_id].get("indexed_at", old.built_at) if doc_id in self.unchanged else None
            entry["indexed_at"] = carried or manifest.built_at

    def filled_data(self, writer: IndexWriter, embedder_factory: Callable[[], Embedder], progress: bool) -> IndexData:
        """The new index's data, its vector files filled in place in the writer's folder."""
        ordered = [self.docs[d] for d in sorted(self.docs)]
        rows = sum(len(d.passages) for d in ordered), sum(len(d.sentences) for d in ordered)
        filler = VectorFiller(
            lambda dim: (
                writer.vectors(PASSAGE_VECTORS, rows[0], dim),
                writer.vectors(SENTENCE_VECTORS, rows[1], dim),
            ),
            embedder_factory,
            progress,
        )
        # At most this many texts go to the model (texts an old index holds are copied instead).
        new_texts = sum(len(d.passages) + len(d.sentences) for d in ordered if d.p_vectors is None)
        filler.on_batch = lambda embedded: self.on_progress("embedding", embedded, new_texts)
        self.report.embedded = _fill_vectors(ordered, filler, self.old_docs.values())
        data = _assemble(ordered, self.model, self.key, params_to_dict(self.params), filler.outputs())
        self.docs, self.old_docs, self.old = {}, {}, None  # the tables are in `data` now: BM25 and FAISS need room
        return data


def _write_bm25(writer: IndexWriter, data: IndexData) -> None:
    """The BM25 folder of the new index, from what BM25 sees of each passage."""
    with bm25_builder(writer, data, titled_documents(data)) as bm25:
        writer.save(BM25_DIR, bm25.write)  # the spill folder is gone before commit() lists the files


def bm25_builder(writer: IndexWriter, data: IndexData, titled: np.ndarray) -> BM25Builder:
    """A BM25Builder holding the terms of every passage of the new index, as BM25 sees them."""
    from qa.index.lexical import BM25Builder  # bm25s is imported only when there is work to do

    # One passage's terms at a time, as term ids and counts spilled to files in the new index's
    # temporary folder; the matrix is filled into the BM25 folder's files, never held whole.
    bm25 = BM25Builder(spill_dir=writer.tmp)
    for i in range(len(data.passage_vectors)):
        bm25.add(terms(lexical_text(data, i, titled)))
    return bm25


def dense_index(data: IndexData) -> DenseIndex:
    """The FAISS index of the passage vectors."""
    from qa.index.dense import DenseIndex  # FAISS is imported only when there is work to do

    dense = DenseIndex.create(data.passage_vectors.shape[1], len(data.passage_vectors))
    dense.add(data.passage_vectors)
    return dense


def _empty_message(corpus_dir: Path, problems: list[Problem]) -> str:
    if problems:
        return f"no readable documents in {corpus_dir} ({len(problems)} file(s) skipped; see the messages above)"
    return f"no documents in {corpus_dir}: add .txt, .md, .html or .pdf files and build again"


def fill_counts(report: BuildReport, manifest: Manifest) -> None:
    counts = manifest.counts
    report.documents, report.passages, report.sentences = counts["documents"], counts["passages"], counts["sentences"]
    report.index_version = manifest.index_version


def _scan(
    settings: Settings, files: list[Path], digest: Callable[[Path, str], str]
) -> tuple[dict[str, str], list[Problem]]:
    """Each corpus file's digest(path, doc_id) by doc_id, and the problems of the files skipped (too large or
    unreadable)."""
    corpus_dir, hashes, problems = Path(settings.corpus_dir), {}, []
    for path in files:
        doc_id = path.relative_to(corpus_dir).as_posix()
        try:
            if path.stat().st_size > settings.max_file_mb * 1024 * 1024:
                problems.append(
                    Problem(doc_id, f"larger than {settings.max_file_mb:g} MB (raise QA_MAX_FILE_MB to include it)")
                )
                continue
            hashes[doc_id] = digest(path, doc_id)
        except OSError as exc:
            problems.append(Problem(doc_id, f"cannot read file: {exc.strerror or exc}"))
    return hashes, problems


def _intact(settings: Settings, manifest: Manifest, remembered: DigestCache | None = None) -> bool:
    """Whether every file of the current index is as written (a damaged one is rebuilt, not kept)."""
    try:
        check_files(settings.index_dir, manifest, remembered)
        return True
    except QAError:
        return False


def _read_old(settings: Settings, manifest: Manifest | None) -> IndexData | None:
    """The current index, when there is a readable one (a damaged one is simply rebuilt)."""
    if manifest is None:
        return None
    try:
        return read_index(settings.index_dir, mmap=True)  # copied from in slices, never read whole
    except QAError:
        return None


def _fill_vectors(docs: list[DocTables], filler: VectorFiller, known: Iterable[DocTables]) -> int:
    """Write every document's vectors in order, embedding only texts not among the `known` documents'."""
    if any(d.p_vectors is None for d in docs):
        for d in known:
            filler.remember(embedding_texts(d), (d.p_vectors, d.s_vectors))
    p_row = s_row = 0
    for d in docs:
        if d.p_vectors is None:
            filler.fill((p_row, s_row), embedding_texts(d))
        else:
            filler.copy((p_row, s_row), (d.p_vectors, d.s_vectors))
        p_row, s_row = p_row + len(d.passages), s_row + len(d.sentences)
    return filler.finish()


def _assemble(
    docs: list[DocTables], model: dict, key: dict, punkt: dict, vectors: tuple[np.ndarray, np.ndarray]
) -> IndexData:
    """One IndexData from per-document pieces in doc_id order, and their passage and sentence vectors."""
    arrays, sections = index_arrays(docs)
    p_vectors, s_vectors = vectors
    dim = p_vectors.shape[1]
    doc_hashes = {
        d.record.doc_id: {
            "sha256": d.record.sha256,
            "title": d.record.title,
            "passages": len(d.passages),
            "sentences": len(d.sentences),
        }
        for d in docs
    }
    version = hashlib.sha256(
        json.dumps([key, sorted((k, v["sha256"]) for k, v in doc_hashes.items())]).encode()
    ).hexdigest()[:12]
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        index_version=version,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model=dict(model, dimension=int(dim)),
        settings=key,
        chunking={"max_chars": key["max_chars"], "overlap": key["overlap"], "sentences": "nltk-punkt"},
        counts={"documents": len(docs), "passages": len(p_vectors), "sentences": len(s_vectors)},
        documents=doc_hashes,
        versions=package_versions(),
    )
    records = [d.record for d in docs]
    return IndexData(manifest, records, sections, arrays, p_vectors, s_vectors, punkt)

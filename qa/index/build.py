"""Building the index from the corpus folder, incrementally: only changed documents are processed."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from qa import __version__
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
    IndexedDocument,
    Manifest,
)
from qa.index.key import index_key, model_identity
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
from qa.index.tables import DocTables, from_chunks, index_arrays, split_old
from qa.index.vectors import VectorFiller
from qa.ingest.corpus import Problem, list_files, read_document, sha256_bytes
from qa.text.passages import chunk_document
from qa.text.sentences import SentenceSplitter, params_from_dict, params_to_dict, train_params
from qa.text.terms import terms


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


def _old_manifest(settings: Settings) -> Manifest | None:
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
) -> BuildReport:
    """Bring the index at settings.index_dir up to date with settings.corpus_dir."""
    started = time.monotonic()
    corpus_dir = Path(settings.corpus_dir)
    files, problems = list_files(corpus_dir)
    model = model or model_identity(settings)
    key = index_key(settings, model)
    with build_lock(settings.index_dir, settings.lock_timeout, on_wait):
        recover(settings.index_dir)
        manifest = _old_manifest(settings)
        reusable = not rebuild and manifest is not None and manifest.settings == key
        old_hashes = {d: v["sha256"] for d, v in manifest.documents.items()} if manifest else {}
        report = BuildReport(problems=problems)
        if reusable:
            # Digests of files whose stat has not moved since they were last hashed are remembered in the index
            # folder, so at scale this check reads neither the corpus nor the index (docs/PERFORMANCE.md).
            remembered = DigestCache(Path(settings.index_dir) / DIGESTS_FILE)
            hashes, skipped = _scan(settings, files, lambda path, _: remembered.digest(path, file_sha256))
            # Files that could not be read as documents last time count as unchanged too, or one bad PDF would
            # rewrite the index on every build; their problem is reported again.
            unreadable = manifest.unreadable
            known = old_hashes | {d: v["sha256"] for d, v in unreadable.items()}
            nothing_changed = hashes == known and _intact(settings, manifest, remembered)
            remembered.save()
            if nothing_changed:  # the model is not even loaded, nor any unchanged file read
                problems.extend(skipped)
                problems.extend(Problem(d, v["problem"]) for d, v in sorted(unreadable.items()))
                report.unchanged = len(old_hashes)
                _fill_counts(report, manifest)
                report.seconds = time.monotonic() - started
                return report

        raw: dict[str, tuple[Path, bytes]] = {}

        def read(path: Path, doc_id: str) -> str:
            data = path.read_bytes()
            raw[doc_id] = (path, data)
            return sha256_bytes(data)

        hashes, skipped = _scan(settings, files, read)
        problems.extend(skipped)
        unchanged = {d for d, h in hashes.items() if old_hashes.get(d) == h}
        report.removed = len(set(old_hashes) - set(hashes))
        report.unchanged = len(unchanged)
        report.changed = sum(1 for d in hashes if d in old_hashes and d not in unchanged)
        report.added = sum(1 for d in hashes if d not in old_hashes)
        # FAISS and bm25s are imported only when there is work to do (a no-change build ends above).
        from qa.index.dense import DenseIndex
        from qa.index.lexical import BM25Builder

        old = None if rebuild else _read_old(settings, manifest)
        # Vectors are cached by their exact text, so any old index of the same model can lend them.
        same_model = old is not None and old.manifest.settings.get("model") == key["model"]
        old_docs = split_old(old) if same_model else {}
        if not (reusable and same_model):
            unchanged = set()  # re-chunk everything; the text cache still spares the model

        fresh, unreadable = {}, {}
        for doc_id in sorted(set(hashes) - unchanged):
            path, data = raw.pop(doc_id)  # the bytes go as the text comes
            try:
                fresh[doc_id] = read_document(path, doc_id, data)
            except CorpusError as exc:
                problems.append(Problem(doc_id, str(exc)))
                unreadable[doc_id] = {"sha256": hashes[doc_id], "problem": str(exc)}
        raw.clear()  # the unchanged documents' bytes were needed only for their hashes
        if unchanged:
            params = params_from_dict(old.punkt)  # unchanged documents must split as before
        else:
            params = train_params(doc.text for doc in fresh.values())
        splitter = SentenceSplitter(params)

        docs: dict[str, DocTables] = {d: old_docs[d] for d in unchanged}
        for doc_id in list(fresh):
            doc = fresh.pop(doc_id)  # its blocks go once it is chunked; the record keeps its text
            sentences, passages = chunk_document(doc, splitter, settings.max_chars, settings.overlap)
            record = IndexedDocument(doc_id, doc.title, doc.format, doc.sha256, doc.text)
            docs[doc_id] = from_chunks(record, sentences, passages)
        if not docs:
            raise CorpusError(_empty_message(corpus_dir, problems))
        ordered = [docs[d] for d in sorted(docs)]
        # The vector files are filled in place in the new index's folder; the old index stays as it is.
        with IndexWriter(settings.index_dir) as writer:
            rows = sum(len(d.passages) for d in ordered), sum(len(d.sentences) for d in ordered)
            filler = VectorFiller(
                lambda dim: (
                    writer.vectors(PASSAGE_VECTORS, rows[0], dim),
                    writer.vectors(SENTENCE_VECTORS, rows[1], dim),
                ),
                embedder_factory,
                progress,
            )
            report.embedded = _fill_vectors(ordered, filler, old_docs.values())
            data = _assemble(ordered, model, key, params_to_dict(params), filler.outputs())
            titled = titled_documents(data)
            del ordered, docs, old_docs, old  # the tables are in `data` now
            # One passage's terms at a time, as term ids and counts spilled to files in the new index's
            # temporary folder; the matrix is filled into the BM25 folder's files, never held whole.
            with BM25Builder(spill_dir=writer.tmp) as bm25:
                for i in range(len(data.passage_vectors)):
                    bm25.add(terms(lexical_text(data, i, titled)))
                writer.save(BM25_DIR, bm25.write)  # the spill folder is gone before commit() lists the files
            dense = DenseIndex.create(data.passage_vectors.shape[1], len(data.passage_vectors))
            dense.add(data.passage_vectors)
            data.manifest.dense_index = dense.kind
            data.manifest.unreadable = unreadable
            writer.commit(data, {DENSE_FILE: dense.save})
        report.wrote_index = True
        _fill_counts(report, data.manifest)
        report.seconds = time.monotonic() - started
        return report


def _empty_message(corpus_dir: Path, problems: list[Problem]) -> str:
    if problems:
        return f"no readable documents in {corpus_dir} ({len(problems)} file(s) skipped; see the messages above)"
    return f"no documents in {corpus_dir}: add .txt, .md, .html or .pdf files and build again"


def _fill_counts(report: BuildReport, manifest: Manifest) -> None:
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
        return read_index(settings.index_dir, mmap_vectors=True)  # copied from in slices, never read whole
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
        versions=_versions(),
    )
    records = [d.record for d in docs]
    return IndexData(manifest, records, sections, arrays, p_vectors, s_vectors, punkt)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"qa": __version__}
    for dist in ("sentence-transformers", "faiss-cpu", "bm25s", "nltk", "numpy", "torch"):
        with contextlib.suppress(PackageNotFoundError):
            out[dist] = version(dist)
    return out

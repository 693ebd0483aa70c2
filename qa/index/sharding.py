"""Building a sharded index: the documents split over S shards, each an ordinary index, swapped in together.

The stages are those of one build, run for every shard: read what changed, chunk (with one sentence splitter
trained for all shards), embed; then BM25 is written for every shard with the whole corpus's statistics, so the
shards score as one index. All shards are written into one new folder beside the index, with a manifest that
lists them and every file beneath, and that folder is swapped in with one rename: a crash leaves the old
sharded index or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from qa.config import Settings
from qa.errors import CorpusError
from qa.index.build import (
    BuildReport,
    BuildStages,
    Chunker,
    Progress,
    bm25_builder,
    dense_index,
    fill_counts,
    old_manifest,
)
from qa.index.content import titled_documents
from qa.index.embedder import Embedder
from qa.index.format import BM25_DIR, DENSE_FILE, MANIFEST, Manifest
from qa.index.key import model_identity
from qa.index.lexical import CorpusStats
from qa.index.shards import combined_manifest, shard_name, shard_of
from qa.index.store import (
    IndexData,
    IndexWriter,
    build_lock,
    file_sha256,
    fsync_dir,
    recover,
    swap_in,
    write_file,
)
from qa.ingest.corpus import Document, list_files


def build_sharded(
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    shards: int,
    rebuild: bool = False,
    progress: bool = False,
    on_wait: Callable[[], None] | None = None,
    model: dict | None = None,
    on_progress: Progress | None = None,
    chunker: Chunker | None = None,
) -> BuildReport:
    """Bring the sharded index at settings.index_dir up to date with the corpus, in `shards` shards;
    on_progress and chunker as build_index's (each shard's stages in turn)."""
    started = time.monotonic()
    model = model or model_identity(settings)
    root = Path(settings.index_dir)
    on_progress = on_progress or (lambda stage, done, total: None)
    with build_lock(root, settings.lock_timeout, on_wait):
        on_progress("started", 0, 0)
        recover(root)
        files, problems = list_files(Path(settings.corpus_dir))
        old = old_manifest(settings)
        if old is not None and old.chunking.get("shards") != shards:
            old, rebuild = None, True  # another layout: every shard is new
        groups: dict[int, list[Path]] = {}
        for path in files:
            groups.setdefault(shard_of(path.relative_to(settings.corpus_dir).as_posix(), shards), []).append(path)
        builds = {}
        for i in sorted(groups):
            shard_settings = replace(settings, index_dir=root / shard_name(i))
            build = BuildStages(shard_settings, model, BuildReport(problems=[]), on_progress, chunker)
            build.plan(rebuild)
            builds[i] = build
        report = BuildReport(problems=problems)
        names = [shard_name(i) for i in sorted(groups)]
        unchanged = old is not None and old.shards == names
        if unchanged and all(b.reusable and b.nothing_changed(groups[i]) for i, b in builds.items()):
            _sum_reports(report, builds.values())
            fill_counts(report, old)
        else:
            current = _rebuild(settings, builds, groups, rebuild, embedder_factory, progress, report, shards)
            report.removed = len(set(old.documents if old else {}) - current)
        report.seconds = time.monotonic() - started
    return report


def _sum_reports(report: BuildReport, builds) -> None:
    for b in builds:
        report.problems.extend(b.problems)
        report.added += b.report.added
        report.changed += b.report.changed
        report.unchanged += b.report.unchanged
        report.embedded += b.report.embedded


def _rebuild(settings, builds, groups, rebuild, embedder_factory, progress, report, shards) -> set[str]:
    """Read, chunk, embed and write every shard into a new folder, then swap it in; the documents it holds."""
    fresh: dict[int, dict[str, Document]] = {}
    unreadable: dict[int, dict[str, dict]] = {}
    for i, build in builds.items():
        fresh[i], unreadable[i] = build.read_changed(groups[i], rebuild)
    params = _splitter_params(builds, fresh)
    for i, build in builds.items():
        try:
            build.chunk(fresh[i], params)
        except CorpusError:
            build.docs = {}  # a shard whose files were all unreadable
    builds = {i: b for i, b in builds.items() if b.docs}
    current = {d for b in builds.values() for d in b.docs}
    if not builds:
        raise CorpusError(f"no readable documents in {settings.corpus_dir}")
    root = Path(settings.index_dir)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        datas = _write_shards(tmp, builds, unreadable, embedder_factory, progress)
        _write_manifest(tmp, datas, shards)
        fsync_dir(tmp)
        swap_in(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _sum_reports(report, builds.values())
    report.wrote_index = True
    fill_counts(report, old_manifest(settings))
    return current


def _splitter_params(builds, fresh):
    """One sentence splitter for all shards: the current one while documents stay, else trained on all texts."""
    from qa.text.sentences import params_from_dict, train_params

    for build in builds.values():
        if build.unchanged:
            return params_from_dict(build.old.punkt)
    return train_params(doc.text for docs in fresh.values() for doc in docs.values())


def _write_shards(tmp: Path, builds, unreadable, embedder_factory, progress) -> dict[str, IndexData]:
    """Each shard's index in tmp, by folder name; BM25 with the statistics of all shards together."""
    with ExitStack() as stack:
        writers = {i: stack.enter_context(IndexWriter(tmp / shard_name(i))) for i in builds}
        datas = {i: b.filled_data(writers[i], embedder_factory, progress) for i, b in builds.items()}
        total = sum(len(d.passage_vectors) for d in datas.values())
        bm25 = {
            i: stack.enter_context(bm25_builder(writers[i], d, titled_documents(d, total))) for i, d in datas.items()
        }
        corpus = CorpusStats.total(b.stats() for b in bm25.values())
        for i, data in datas.items():
            writers[i].save(BM25_DIR, lambda folder, b=bm25[i]: b.write(folder, corpus))
            dense = dense_index(data)
            data.manifest.dense_index, data.manifest.unreadable = dense.kind, unreadable[i]
            builds[i].stamp_indexed_at(data.manifest)
            writers[i].commit(data, {DENSE_FILE: dense.save})
            builds[i].report.wrote_index = True
    return {shard_name(i): data for i, data in datas.items()}


def _write_manifest(tmp: Path, datas: dict[str, IndexData], shards: int) -> None:
    """The sharded index's own manifest: the shards, their counts and documents, and every file beneath.

    Each shard's commit hashed its own files into its manifest; only the shard manifests are hashed here.
    """
    manifests = [d.manifest for d in datas.values()]
    version = hashlib.sha256(json.dumps([m.index_version for m in manifests]).encode()).hexdigest()[:12]
    combined: Manifest = combined_manifest(manifests, version, datetime.now(UTC).isoformat(timespec="seconds"))
    sizes, digests = {}, {}
    for name, data in datas.items():
        manifest, own = data.manifest, tmp / name / MANIFEST
        sizes.update({f"{name}/{f}": size for f, size in manifest.files.items()})
        sizes[f"{name}/{MANIFEST}"] = own.stat().st_size
        digests.update({f"{name}/{f}": digest for f, digest in manifest.sha256.items()})
        digests[f"{name}/{MANIFEST}"] = file_sha256(own)
    combined = replace(
        combined,
        chunking=dict(combined.chunking, shards=shards),
        shards=sorted(datas),
        files=dict(sorted(sizes.items())),
        sha256=dict(sorted(digests.items())),
    )
    write_file(tmp / MANIFEST, lambda fh: fh.write(json.dumps(combined.to_dict(), indent=2).encode()))

"""A sharded index: shard folders, each an ordinary index, read together as one index.

A document goes to shard `crc32(doc_id) % S`, so its text, passages and sentences stay together and citation
offsets hold. The folder holds the shards (`shard-000`, ...) and a manifest.json of its own that lists them
and, like any manifest, every file beneath it with its size and SHA-256. Read together, passage and sentence
numbers run through the shards in order; the vectors stay in each shard's (memory-mapped) files.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.index.format import ARRAY_NAMES, IndexArrays, Manifest

SHARD_PREFIX = "shard-"


def shard_of(doc_id: str, shards: int) -> int:
    """The shard a document belongs to: the same on every machine and in every process (not Python's hash)."""
    return zlib.crc32(doc_id.encode("utf-8")) % shards


def shard_name(i: int) -> str:
    """The folder name of shard i."""
    return f"{SHARD_PREFIX}{i:03d}"


class StackedRows:
    """Row arrays of several shards read as one (rows numbered through the shards in order).

    Supports what readers of an index do with its vectors: len, shape, one row, a slice within one shard,
    and a list of rows.
    """

    def __init__(self, parts: list[np.ndarray]) -> None:
        self.parts = parts
        self.starts = np.cumsum([0] + [len(p) for p in parts])
        dim = next((p.shape[1] for p in parts if p.ndim == 2), 0)
        self.shape = (int(self.starts[-1]), dim)
        self.dtype = parts[0].dtype if parts else np.float32

    def __len__(self) -> int:
        return self.shape[0]

    def _locate(self, row: int) -> tuple[int, int]:
        part = int(np.searchsorted(self.starts, row, side="right")) - 1
        return part, row - int(self.starts[part])

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if stop <= start:
                return np.zeros((0, self.shape[1]), dtype=self.dtype)
            part, local = self._locate(start)
            if stop > self.starts[part + 1] or step != 1:
                return np.stack([self[i] for i in range(start, stop, step)])
            return self.parts[part][local : local + stop - start]
        if isinstance(key, (int, np.integer)):
            part, local = self._locate(int(key) % len(self) if key < 0 else int(key))
            return self.parts[part][local]
        rows = np.asarray(key, dtype=np.int64)
        return np.stack([self[int(i)] for i in rows]) if len(rows) else np.zeros((0, self.shape[1]), self.dtype)


def stack_arrays(parts: list[IndexArrays], doc_counts: list[int], section_counts: list[int]) -> IndexArrays:
    """The tables of all shards as one: positions in the shards' document, section and sentence lists shifted."""
    doc_shift = np.cumsum([0, *doc_counts])
    section_shift = np.cumsum([0, *section_counts])
    sentence_shift = np.cumsum([0] + [len(a.s_doc) for a in parts])
    columns: dict[str, list[np.ndarray]] = {name: [] for name in ARRAY_NAMES}
    for i, a in enumerate(parts):
        for name in ARRAY_NAMES:
            col = getattr(a, name)
            if name.endswith("_doc"):
                col = col + doc_shift[i]
            elif name.endswith("_section"):
                col = np.where(col >= 0, col + section_shift[i], -1)
            elif name in ("p_first", "p_last"):
                col = col + sentence_shift[i]
            columns[name].append(np.asarray(col, dtype=getattr(a, name).dtype))
    return IndexArrays(**{name: np.concatenate(cols) for name, cols in columns.items()})


def combined_manifest(shards: list[Manifest], index_version: str, built_at: str) -> Manifest:
    """One manifest describing all shards (their counts and documents together; files are filled in on write)."""
    first = shards[0]
    counts = {k: sum(m.counts[k] for m in shards) for k in first.counts}
    documents = {d: entry for m in shards for d, entry in m.documents.items()}
    unreadable = {d: entry for m in shards for d, entry in m.unreadable.items()}
    kinds = sorted({m.dense_index for m in shards})
    return replace(
        first,
        index_version=index_version,
        built_at=built_at,
        counts=counts,
        documents=documents,
        unreadable=unreadable,
        dense_index="+".join(kinds),
        files={},
        sha256={},
    )


def shard_folders(index_dir: Path, manifest: Manifest) -> list[Path]:
    """The shard folders a sharded index's manifest lists."""
    return [Path(index_dir) / name for name in manifest.shards]

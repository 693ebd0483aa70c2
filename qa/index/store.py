"""The saved index: a folder of files described by manifest.json, written atomically, read with checks."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.errors import BuildLocked, IndexNotFound, IndexUnusable
from qa.index.digests import DigestCache
from qa.index.format import (
    ARRAYS,
    DOCUMENTS,
    FORMAT_VERSION,
    MANIFEST,
    PASSAGE_VECTORS,
    PUNKT,
    SECTIONS,
    SENTENCE_VECTORS,
    IndexArrays,
    IndexedDocument,
    Manifest,
)
from qa.index.texts import DocumentTexts

REBUILD_HINT = "run `qa build --rebuild` to rebuild it"


@dataclass
class IndexData:
    """Everything the index holds, in memory."""

    manifest: Manifest
    documents: list[IndexedDocument]
    sections: list[str]
    arrays: IndexArrays
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    punkt: dict

    @property
    def index_version(self) -> str:
        """The version string of this build."""
        return self.manifest.index_version

    def document_of(self, passage: int) -> IndexedDocument:
        """The document a passage belongs to."""
        return self.documents[int(self.arrays.p_doc[passage])]

    def section_of(self, passage: int) -> str | None:
        """The section heading a passage stands under (None: before any heading)."""
        j = int(self.arrays.p_section[passage])
        return None if j < 0 else self.sections[j]

    def passage_span(self, passage: int) -> tuple[int, int]:
        """Start and end offsets of a passage in its document's text."""
        return int(self.arrays.p_start[passage]), int(self.arrays.p_end[passage])

    def passage_text(self, passage: int) -> str:
        """The passage text, exactly as it stands in the document."""
        start, end = self.passage_span(passage)
        return self.document_of(passage).text[start:end]

    def sentence_text(self, j: int) -> str:
        """The text of sentence j."""
        a = self.arrays
        return self.documents[int(a.s_doc[j])].text[int(a.s_start[j]) : int(a.s_end[j])]


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (new, renamed or removed files) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, write) -> None:
    """Write a file through `write(fh)` and make its bytes durable before returning."""
    with open(path, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def write_index(data: IndexData, index_dir: Path, savers: dict[str, Callable[[Path], None]] | None = None) -> None:
    """Write data to a temporary folder beside index_dir, then swap it in with one rename."""
    with IndexWriter(index_dir) as writer:
        writer.commit(data, savers)


class IndexWriter:
    """A new index being written in a temporary folder beside index_dir; commit() swaps it in.

    Leaving the `with` block without commit(), or by an exception, removes the folder: the index at
    index_dir is untouched until the swap. vectors() lets a build fill the vector files in place.
    """

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self.index_dir.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.index_dir.name}.tmp-", dir=self.index_dir.parent))
        self._mapped: dict[str, np.ndarray] = {}
        self._done = False

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, *exc) -> None:
        if not self._done:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def vectors(self, name: str, rows: int, dim: int) -> np.ndarray:
        """A writable, memory-mapped float32 array that becomes the .npy file `name` of the new index."""
        array = np.lib.format.open_memmap(self.tmp / name, mode="w+", dtype=np.float32, shape=(rows, dim))
        self._mapped[name] = array
        return array

    def save(self, name: str, save: Callable[[Path], None]) -> None:
        """Write the file or folder `name` of the new index now, with a writer of its own format (bm25s)."""
        save(self.tmp / name)  # commit() hashes and lists every file in the folder, this one included

    def commit(self, data: IndexData, savers: dict[str, Callable[[Path], None]] | None = None) -> None:
        """Write the rest of `data`, the manifest last, and swap the folder in for index_dir."""
        tmp = self.tmp
        try:
            # Line by line: the file is not also held whole in memory beside the texts.
            lines = (json.dumps(d.to_dict(), ensure_ascii=False).encode() + b"\n" for d in data.documents)
            write_file(tmp / DOCUMENTS, lambda fh: fh.writelines(lines))
            write_file(tmp / ARRAYS, lambda fh: np.savez(fh, **data.arrays.to_dict()))
            write_file(tmp / SECTIONS, lambda fh: fh.write(json.dumps(data.sections, ensure_ascii=False).encode()))
            for name, array in ((PASSAGE_VECTORS, data.passage_vectors), (SENTENCE_VECTORS, data.sentence_vectors)):
                if name in self._mapped:
                    if array is not self._mapped[name]:
                        raise ValueError(f"{name} was mapped by vectors() but the data holds another array")
                    array.flush()  # written in place; fsynced with the other files below
                else:
                    write_file(tmp / name, lambda fh, array=array: np.save(fh, array))
            write_file(tmp / PUNKT, lambda fh: fh.write(json.dumps(data.punkt).encode()))
            for name, save in (savers or {}).items():
                save(tmp / name)  # writers of their own formats (FAISS, bm25s) take a path
            files = sorted(p for p in tmp.rglob("*") if p.is_file())
            for path in files:
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
            names = {p: p.relative_to(tmp).as_posix() for p in files}
            manifest = replace(
                data.manifest,
                files={name: p.stat().st_size for p, name in names.items()},
                sha256={name: file_sha256(p) for p, name in names.items()},
            )
            # The manifest goes last: a folder without one is never mistaken for an index.
            write_file(tmp / MANIFEST, lambda fh: fh.write(json.dumps(manifest.to_dict(), indent=2).encode()))
            data.manifest = manifest
            fsync_dir(tmp)
            swap_in(tmp, self.index_dir)
            self._done = True
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _rename_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def swap_in(new: Path, index_dir: Path) -> None:
    """Make `new` the index at index_dir; at every moment index_dir is the old index or the new one."""
    if not index_dir.exists():
        os.rename(new, index_dir)
    elif _rename_exchange(new, index_dir):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old index
    else:
        old = index_dir.with_name(f".{index_dir.name}.old-{os.getpid()}")
        os.rename(index_dir, old)
        os.rename(new, index_dir)  # a crash between the renames is repaired by recover()
        shutil.rmtree(old, ignore_errors=True)
    fsync_dir(index_dir.parent)


def recover(index_dir: Path) -> None:
    """Finish an interrupted swap and remove temporary folders of dead builds (call under the lock)."""
    index_dir = Path(index_dir)
    parent = index_dir.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{index_dir.name}.old-*"))
    if olds and not (index_dir / MANIFEST).exists():
        os.rename(olds.pop(), index_dir)
    for leftover in [*olds, *parent.glob(f".{index_dir.name}.tmp-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def build_lock(index_dir: Path, timeout: float = 0.0, on_wait=None) -> Iterator[None]:
    """Hold the build lock beside index_dir; wait up to `timeout` seconds, then raise BuildLocked."""
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.with_name(f".{index_dir.name}.lock")
    with open(lock_path, "a+") as fh:
        deadline = time.monotonic() + timeout
        warned = False
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "unknown"
                    raise BuildLocked(
                        f"another build of {index_dir} is running (pid {holder}); wait for it to finish and try again"
                    ) from None
                if on_wait and not warned:
                    on_wait()
                    warned = True
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest of the index at index_dir; IndexNotFound or IndexUnusable if it cannot be used."""
    path = Path(index_dir) / MANIFEST
    if not path.exists():
        if not Path(index_dir).exists():
            raise IndexNotFound(f"no index at {index_dir}; run `qa build` to build it")
        raise IndexNotFound(f"no usable index at {index_dir} ({MANIFEST} missing); {REBUILD_HINT}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise IndexUnusable(f"{path} is damaged ({exc}); {REBUILD_HINT}") from exc
    if raw.get("format_version") != FORMAT_VERSION:
        raise IndexUnusable(
            f"the index at {index_dir} has format {raw.get('format_version')!r}, this qa reads "
            f"format {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    try:
        return Manifest.from_dict(raw)
    except (KeyError, TypeError) as exc:
        raise IndexUnusable(f"{path} is damaged ({exc}); {REBUILD_HINT}") from exc


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def check_files(index_dir: Path, manifest: Manifest, remembered: DigestCache | None = None) -> None:
    """Every file the manifest lists is there with the size and SHA-256 it was written with.

    With `remembered`, a file whose stat has not moved since it was last hashed is not read again.
    """
    # The hashes cost one extra read of the index per load; they catch flipped bytes and files of another build.
    digests = manifest.sha256
    for name, size in manifest.files.items():
        path = Path(index_dir) / name
        try:
            actual = path.stat().st_size
            digest = None
            if name in digests and actual == size:
                digest = remembered.digest(path, file_sha256) if remembered else file_sha256(path)
        except OSError:
            raise IndexUnusable(f"index file {path} is missing; {REBUILD_HINT}") from None
        if actual != size:
            raise IndexUnusable(f"index file {path} is damaged ({actual} bytes, expected {size}); {REBUILD_HINT}")
        if digest is not None and digest != digests[name]:
            raise IndexUnusable(f"index file {path} is damaged (its SHA-256 does not match); {REBUILD_HINT}")


def load_vectors(path: Path, mmap: bool) -> np.ndarray:
    """Vectors memory-mapped read-only (shared by every process that maps them), or read into memory."""
    return np.load(path, mmap_mode="r").view(np.ndarray) if mmap else np.load(path)


def manifest_stamp(index_dir: Path) -> tuple:
    """Which manifest file is at index_dir now (inode, mtime, size; empty if none): a build swaps in a new one."""
    try:
        st = os.stat(Path(index_dir) / MANIFEST)
    except OSError:
        return ()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_index(index_dir: Path, mmap: bool = False, verified: bool = False) -> IndexData:
    """Load the index at index_dir, checking the manifest and the size and SHA-256 of every file.

    With mmap the vectors and the document texts stay in the files, mapped read-only: N processes share
    one copy in the page cache. A file damaged in place under a map kills the process that reads it
    (SIGBUS); qa never writes an index file in place (a build swaps in a new folder). `verified`: the
    files were checked already (a sharded index's manifest lists its shards' files). A sharded index reads as
    one index of all its shards.
    """
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if not verified:
        check_files(index_dir, manifest)
    if manifest.shards:
        return _read_shards(index_dir, manifest, mmap)
    current = index_dir / "?"
    try:
        current = index_dir / DOCUMENTS
        if mmap:
            documents = DocumentTexts(current).records()
        else:
            with open(current, encoding="utf-8") as fh:
                documents = [IndexedDocument.from_dict(json.loads(line)) for line in fh]
        current = index_dir / ARRAYS
        with np.load(current) as npz:
            arrays = IndexArrays.from_dict(npz)
        current = index_dir / SECTIONS
        sections = json.loads(current.read_text(encoding="utf-8"))
        current = index_dir / PASSAGE_VECTORS
        passage_vectors = load_vectors(current, mmap)
        current = index_dir / SENTENCE_VECTORS
        sentence_vectors = load_vectors(current, mmap)
        current = index_dir / PUNKT
        punkt = json.loads(current.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise IndexUnusable(f"index file {current} cannot be read ({exc}); {REBUILD_HINT}") from exc
    if len(passage_vectors) != len(arrays.p_doc) or len(sentence_vectors) != len(arrays.s_doc):
        raise IndexUnusable(f"index at {index_dir} is inconsistent (vector counts); {REBUILD_HINT}")
    return IndexData(manifest, documents, sections, arrays, passage_vectors, sentence_vectors, punkt)


def _read_shards(index_dir: Path, manifest: Manifest, mmap: bool) -> IndexData:
    """All shards of a sharded index as one IndexData (vectors stay in each shard's arrays)."""
    from qa.index.shards import StackedRows, shard_folders, stack_arrays

    parts = [read_index(folder, mmap, verified=True) for folder in shard_folders(index_dir, manifest)]
    counts = [len(p.documents) for p in parts], [len(p.sections) for p in parts]
    arrays = stack_arrays([p.arrays for p in parts], *counts)
    return IndexData(
        manifest,
        [d for p in parts for d in p.documents],
        [name for p in parts for name in p.sections],
        arrays,
        StackedRows([p.passage_vectors for p in parts]),
        StackedRows([p.sentence_vectors for p in parts]),
        parts[0].punkt,
    )

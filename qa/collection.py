"""The corpus folder changed through the API: files checked before they land, written atomically, removed.

An upload is checked in memory first (a safe name, a type qa reads, not empty, not too large, readable by the
same code a build reads with), then written to a hidden temporary file in the corpus folder (builds skip hidden
files), synced, and renamed into place: a crash at any moment leaves the folder with the old file or the new
one, never a part of one. A hidden `.upload-*` file a crash leaves behind is never indexed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from werkzeug.utils import secure_filename

from qa.errors import CorpusError, DocumentExists, LastDocument, TooLarge, UnsupportedType, UploadRejected
from qa.index.store import IndexData, fsync_dir
from qa.ingest.corpus import FORMATS, list_files, read_document, sha256_bytes

MAX_NAME_CHARS = 200
TEMP_PREFIX = ".upload-"


def safe_name(raw: object) -> str:
    """The name an uploaded file is stored under in the corpus folder, or UploadRejected / UnsupportedType."""
    if not isinstance(raw, str) or not raw.strip():
        raise UploadRejected("the upload has no file name")
    if "/" in raw or "\\" in raw or "\x00" in raw or raw.strip() in (".", ".."):
        raise UploadRejected(f"{raw!r}: a file name without folders, please (uploads go to the corpus folder)")
    if raw.startswith("."):
        raise UploadRejected(f"{raw!r}: hidden files are not indexed")
    suffix = PurePosixPath(raw).suffix.lower()
    if suffix not in FORMATS:
        raise UnsupportedType(f"{raw!r}: qa reads {', '.join(sorted(FORMATS))} files")
    name = secure_filename(raw)  # ASCII letters, digits, '-', '_' and '.'; spaces become '_'
    safe = PurePosixPath(name)
    if safe.suffix.lower() != suffix or not safe.stem or name.startswith(".") or len(name) > MAX_NAME_CHARS:
        raise UploadRejected(f"{raw!r}: not a usable file name (at most {MAX_NAME_CHARS} characters)")
    return name


def check_upload(name: str, data: bytes, max_mb: float) -> None:
    """Raise UploadRejected or TooLarge unless data would be read as a document with text to index."""
    if not data:
        raise UploadRejected(f"{name}: the file is empty")
    if len(data) > max_mb * 1024 * 1024:
        raise TooLarge(f"{name}: the file is larger than {max_mb:g} MB (QA_MAX_FILE_MB)")
    try:
        read_document(Path(name), name, data, max_mb)  # what the build will do with it, done now
    except CorpusError as exc:
        raise UploadRejected(f"{name}: {exc}") from None


def add_file(corpus_dir: Path, name: str, data: bytes, replace: bool = False) -> dict:
    """Write data as corpus_dir/name atomically; DocumentExists if the name is taken and not replace."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    target = corpus_dir / name
    existed = target.exists()
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=corpus_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        if replace:
            if target.is_dir():
                raise DocumentExists(f"{name} is a folder in the corpus")
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # unlike a rename, fails if the name was taken meanwhile
            except FileExistsError:
                raise DocumentExists(f"{name} is already in the corpus; send replace=true to overwrite it") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    fsync_dir(corpus_dir)
    return {"doc_id": name, "bytes": len(data), "sha256": sha256_bytes(data), "replaced": existed}


def remove_file(corpus_dir: Path, doc_id: str) -> bool:
    """Remove the corpus file doc_id names (False: there is none); LastDocument if it is the only one."""
    corpus_dir = Path(corpus_dir)
    files, _ = list_files(corpus_dir)
    # Only names the folder listing gives are touched: doc_id never becomes a path by itself.
    by_id = {path.relative_to(corpus_dir).as_posix(): path for path in files}
    path = by_id.get(doc_id)
    if path is None:
        return False
    if len(by_id) == 1:
        raise LastDocument(f"{doc_id} is the only document: an index needs at least one; upload another first")
    path.unlink()
    fsync_dir(path.parent)
    return True


def listing(data: IndexData, corpus: Path) -> dict:
    """Every indexed document (doc_id, title, format, bytes, chars, passages, sha256, indexed_at) and the files
    that could not be read, with why."""
    manifest = data.manifest
    documents = []
    for doc in data.documents:
        entry = manifest.documents[doc.doc_id]
        try:
            size = (corpus / doc.doc_id).stat().st_size  # doc_id is a path the build listed in the corpus
        except OSError:
            size = None  # removed from the folder since the build
        documents.append(
            {
                "doc_id": doc.doc_id,
                "title": doc.title,
                "format": doc.format,
                "bytes": size,
                "chars": len(doc.text),
                "passages": entry["passages"],
                "sha256": doc.sha256,
                "indexed_at": entry.get("indexed_at", manifest.built_at),
            }
        )
    unreadable = [{"path": d, "message": v["problem"]} for d, v in sorted(manifest.unreadable.items())]
    return {"index_version": manifest.index_version, "documents": documents, "unreadable": unreadable}

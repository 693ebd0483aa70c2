"""The index key: everything besides the corpus that shapes an index's files, so a stale index is noticed."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from qa import __version__
from qa.config import Settings
from qa.errors import IndexUnusable
from qa.index.embedder import bundled_model_path, weights_fingerprint
from qa.index.format import Manifest
from qa.index.store import REBUILD_HINT

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the qa package, whose sources are fingerprinted
# The code that decides what an index holds for a given corpus, settings and model: reading and extracting
# documents (ingest), splitting sentences, chunking passages and tokenising terms for BM25 (text), the
# stored records and tables (format, tables), the texts embedded and given to BM25 (content), and the BM25
# scores and FAISS structure written (lexical, dense). Any edit to one of these files changes the key, even
# one to whitespace or a comment: a needless rebuild costs minutes, and its text cache spares the model.
# Left out on purpose: build.py and store.py (which documents are re-read and how files are written
# atomically; the same inputs give the same files, and a change to how a file is encoded must bump
# FORMAT_VERSION); embedder.py and vectors.py (vectors belong to the model: a build reuses them by exact
# text from any index of the same model fingerprint whatever this key says, so a change to how vectors are
# computed must change the model identity, not this list); the query side (search/, http/).
KEYED_SOURCES = (
    "ingest/*.py",
    "text/*.py",
    "index/format.py",
    "index/tables.py",
    "index/content.py",
    "index/lexical.py",
    "index/dense.py",
)


def model_identity(settings: Settings) -> dict:
    """Name, path and weight fingerprint of the configured model, without loading it."""
    path = settings.model or bundled_model_path()
    return {
        "name": Path(path).name if settings.model else "all-MiniLM-L6-v2",
        "path": str(path),
        "fingerprint": weights_fingerprint(path),
    }


def code_fingerprint(package_dir: Path | None = None) -> str:
    """SHA-256 over the names and bytes of the KEYED_SOURCES files of the qa package (16 hex digits)."""
    root = PACKAGE_DIR if package_dir is None else Path(package_dir)
    paths = sorted({p for pattern in KEYED_SOURCES for p in root.glob(pattern)})
    if not paths:
        raise RuntimeError(f"no qa sources under {root} to fingerprint")
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def index_key(settings: Settings, model: dict, selector: str | None = None) -> dict:
    """What an index must have been built with to be current: a build whose key differs rebuilds it.

    `selector` is the identity of a learned answer selector, once there is one that the index serves.
    """
    return {
        "max_chars": settings.max_chars,
        "overlap": settings.overlap,
        "model": model["fingerprint"],
        "code": code_fingerprint(),
        "selector": selector,
    }


def key_difference(built: dict, current: dict) -> str:
    """The names of the key's fields that differ, for the message that asks for a rebuild."""
    return ", ".join(sorted(k for k in built.keys() | current.keys() if built.get(k) != current.get(k)))


def check_built_with(manifest: Manifest, settings: Settings, model: dict) -> None:
    """Refuse an index built with another model, other settings or other text processing than this qa's."""
    built_with = manifest.model
    if built_with["fingerprint"] != model["fingerprint"]:
        raise IndexUnusable(
            f"the index was built with model {built_with['name']} ({built_with['fingerprint']}) but "
            f"the configured model is {model['name']}; {REBUILD_HINT}"
        )
    key = index_key(settings, model)
    if manifest.settings != key:
        raise IndexUnusable(
            f"the index at {settings.index_dir} was built with other chunking settings or another "
            f"version of qa's text processing ({key_difference(manifest.settings, key)}); {REBUILD_HINT}"
        )


def package_versions() -> dict[str, str]:
    """The versions of qa and the libraries an index depends on (recorded in its manifest)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"qa": __version__}
    for dist in ("sentence-transformers", "faiss-cpu", "bm25s", "nltk", "numpy", "torch"):
        with contextlib.suppress(PackageNotFoundError):
            out[dist] = version(dist)
    return out

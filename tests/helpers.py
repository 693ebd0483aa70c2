"""Core test helpers: small corpora written to tmp_path, a QAService with the fake HashEmbedder, a real index.

Registered as a pytest plugin by tests/conftest.py, so the fixtures below are available to every test;
the plain functions and constants are imported with `from tests.helpers import ...`. What bench/ shares with
the tests (the fake embedder, writing files, real `qa serve` processes) is in qa/testing.py.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.index.lexical import K1, B
from qa.ingest.corpus import Document, segment, sha256_bytes, title_of
from qa.search.params import DEFAULT_RETRIEVAL, RetrievalParams
from qa.service import QAService
from qa.testing import DEFAULT_CORPUS, REPO, HashEmbedder, qa_build, write_files

__all__ = ["DEFAULT_CORPUS", "REPO", "write_files"]  # re-exported: tests import them from here

# Page chrome lines that a scraped page carries and that must never be indexed.
CHROME_LINES = (
    "IN OTHER LANGUAGES",
    "Was this article helpful? Thanks for the feedback Thanks for the feedback",
    "How can we help? How can we help?",
)
REPEATED = (
    "The keeper records the weather in the logbook every four hours. "
    "Fog signals are sounded whenever visibility falls below two miles."
)
LIGHTHOUSE = f"""The Keeper's Handbook

Lamps and lenses
The Fresnel lens was invented by Augustin Fresnel in 1822. It concentrates the light of a small lamp into a beam \
visible for twenty miles. Barker et al. Showed that lens towers in cold climates crack more often. The glass prisms \
are cleaned every morning with alcohol and a soft cloth.

Daily duties
1. Wind the clockwork that turns the lens
2. Trim the wick of the lamp before sunset
{REPEATED}

{REPEATED}

{CHROME_LINES[0]}
{CHROME_LINES[1]}
{CHROME_LINES[2]}
"""
BEES = """# Honey Bees

## Colony
A colony has one queen, thousands of workers and a few hundred drones. The queen lays up to two thousand eggs a day.

## Foraging
Workers visit flowers to collect nectar and pollen. They tell their sisters where the food is with the waggle dance.
"""
NEW_DOC = "Tides\nThe moon pulls the sea into two bulges. The sun adds a smaller pull of its own.\n"
GENERIC_FILES = {"lighthouse.txt": LIGHTHOUSE, "bees/honey-bees.md": BEES}


def source_text(path: Path) -> str:
    """A .txt/.md document's text as citation offsets index it: no newline translation."""
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def assert_citations_exact(answer, corpus_dir: Path) -> None:
    """Every citation's offsets select exactly its quote in the source file."""
    for c in answer.citations:
        assert c.quote, c
        assert source_text(Path(corpus_dir) / c.doc_id)[c.start : c.end] == c.quote


def make_service(
    corpus_dir: Path,
    index_dir: Path,
    embedder: HashEmbedder | None = None,
    retrieval_params: RetrievalParams = DEFAULT_RETRIEVAL,
    **settings,
) -> QAService:
    """A QAService over corpus_dir/index_dir with the fake embedder (no model is loaded) and, unless `selector` is
    given, the hand-weighted score: the fake vectors mean nothing to the shipped cross-encoder."""
    settings.setdefault("selector", "none")
    config = Settings(corpus_dir=corpus_dir, index_dir=index_dir, **settings)
    return QAService(config, embedder or HashEmbedder(), retrieval_params=retrieval_params)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """The two generic documents (a .txt with chrome and a repeated paragraph, a nested .md)."""
    return write_files(tmp_path / "corpus", GENERIC_FILES)


@pytest.fixture
def embedder() -> HashEmbedder:
    """A fresh fake embedder that counts what it encodes."""
    return HashEmbedder()


@pytest.fixture
def service(corpus_dir: Path, tmp_path: Path, embedder: HashEmbedder) -> QAService:
    """A QAService over the generic corpus with its index built."""
    svc = make_service(corpus_dir, tmp_path / "index", embedder)
    svc.build()
    return svc


def make_pdf(pages: list[str]) -> bytes:
    """A small valid PDF with one line of Helvetica text per page (for extraction tests)."""
    n = len(pages)
    font = 3 + 2 * n
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{3 + 2 * i} 0 R' for i in range(n))}] /Count {n} >>",
    ]
    for i, line in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def document(text: str, fmt: str = "text", doc_id: str = "doc.txt") -> Document:
    """A Document of the given text, segmented as read_document would (without reading a file)."""
    blocks = segment(text, fmt)
    return Document(doc_id, title_of(text, blocks, doc_id), text, fmt, sha256_bytes(text.encode()), blocks)


@functools.cache
def _built(root: Path) -> Path:
    """The repository's corpus with an index built by the real model, once per test session."""
    shutil.copytree(DEFAULT_CORPUS, root / "corpus")
    qa_build(root / "corpus", root / "index")
    return root


def real_site(tmp_path_factory, name: str) -> tuple[Path, Path]:
    """A private (corpus, index) pair: a copy of the session's real build, which a test may change."""
    built = _built(tmp_path_factory.getbasetemp() / "real-index")
    site = tmp_path_factory.mktemp(name)
    shutil.copytree(built / "corpus", site / "corpus")
    shutil.copytree(built / "index", site / "index")
    return site / "corpus", site / "index"


def bm25s_reference(token_lists: list[list[str]], k1: float = K1, b: float = B):
    """The index as bm25s builds it from the token lists (how BM25Index.build worked before BM25Builder)."""
    import bm25s

    model = bm25s.BM25(k1=k1, b=b)
    model.index([tokens or [""] for tokens in token_lists] or [[""]], show_progress=False)
    return model


def scores_by_term(model) -> dict[str, dict[int, float]]:
    """Each term's scores by document, from a bm25s model's matrix (term ids differ between builders)."""
    s = model.scores
    out = {}
    for term, i in model.vocab_dict.items():
        if i + 1 < len(s["indptr"]):
            lo, hi = s["indptr"][i], s["indptr"][i + 1]
            out[term] = dict(zip(s["indices"][lo:hi].tolist(), s["data"][lo:hi].tolist(), strict=True))
        else:
            out[term] = None  # the "" that bm25s adds without a column
    return out


def random_token_lists(seed: int, docs: int) -> list[list[str]]:
    """Documents of Zipf-distributed terms t0..t59, some empty."""
    rng = np.random.default_rng(seed)
    words = [f"t{i}" for i in range(60)]
    return [[words[w] for w in rng.zipf(1.5, rng.integers(0, 40)) % len(words)] for _ in range(docs)]


def build(corpus: Path, index: Path, embedder: HashEmbedder, **kwargs):
    """Build corpus into index with the given fake embedder; the build report."""
    return make_service(corpus, index, embedder).build(**kwargs)

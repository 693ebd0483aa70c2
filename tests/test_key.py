"""The index key: derived from the settings, the model and the code that shapes the index, not bumped by hand."""

from pathlib import Path

import pytest

from qa.errors import IndexUnusable
from qa.index import key
from qa.index.store import read_manifest
from qa.testing import HashEmbedder
from tests.helpers import make_service

TOKENISER = "text/terms.py"


def package_copy(root: Path, changed: str | None = None) -> Path:
    """A copy of the qa sources the key covers, with `changed` (relative to the package) given one more line."""
    for pattern in key.KEYED_SOURCES:
        for path in key.PACKAGE_DIR.glob(pattern):
            target = root / path.relative_to(key.PACKAGE_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    if changed:
        path = root / changed
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write('STOPWORDS = STOPWORDS | {"lamp"}\n')
    return root


def test_the_key_holds_the_settings_the_model_and_the_code(corpus_dir, tmp_path):
    service = make_service(corpus_dir, tmp_path / "index", max_chars=300, overlap=0)
    got = key.index_key(service.settings, service.model_identity())
    code = key.code_fingerprint()
    assert got == {"max_chars": 300, "overlap": 0, "model": "hash-256", "code": code, "selector": None}
    assert key.index_key(service.settings, service.model_identity(), selector="sel-1")["selector"] == "sel-1"


def test_the_code_fingerprint_follows_the_keyed_sources_only(tmp_path):
    same = package_copy(tmp_path / "same")
    assert key.code_fingerprint(same) == key.code_fingerprint()
    assert key.code_fingerprint(package_copy(tmp_path / "tokeniser", TOKENISER)) != key.code_fingerprint()
    assert key.code_fingerprint(package_copy(tmp_path / "reader", "ingest/corpus.py")) != key.code_fingerprint()
    # The query side and the build's orchestration shape no index file.
    assert key.code_fingerprint(package_copy(tmp_path / "answerer", "search/answerer.py")) == key.code_fingerprint()
    assert key.code_fingerprint(package_copy(tmp_path / "build", "index/build.py")) == key.code_fingerprint()


def test_a_changed_tokeniser_makes_loading_refuse_and_a_build_rebuild(corpus_dir, tmp_path, monkeypatch):
    index = tmp_path / "index"
    make_service(corpus_dir, index, HashEmbedder()).build()
    built = read_manifest(index)
    monkeypatch.setattr(key, "PACKAGE_DIR", package_copy(tmp_path / "qa", TOKENISER))
    with pytest.raises(IndexUnusable, match=r"text processing \(code\); run `qa build --rebuild`"):
        make_service(corpus_dir, index, HashEmbedder()).load()
    e = HashEmbedder()
    service = make_service(corpus_dir, index, e)
    report = service.build()  # a normal build, not --rebuild
    assert report.wrote_index and report.added == report.changed == 0
    assert e.texts_encoded == 0  # re-chunked, but the text cache spares the model
    rebuilt = read_manifest(index)
    assert rebuilt.settings == dict(built.settings, code=key.code_fingerprint()) != built.settings
    assert rebuilt.index_version != built.index_version
    assert service.ask("When was the Fresnel lens invented?").citations


def test_other_chunking_settings_make_loading_refuse(corpus_dir, tmp_path):
    make_service(corpus_dir, tmp_path / "index", HashEmbedder()).build()
    with pytest.raises(IndexUnusable, match=r"chunking settings.*\(max_chars\); run `qa build --rebuild`"):
        make_service(corpus_dir, tmp_path / "index", HashEmbedder(), max_chars=60).load()

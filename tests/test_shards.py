"""A sharded index: built in S shards, read as one, searching and answering exactly as one index does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.index.shards import shard_of
from qa.index.store import read_index, read_manifest
from qa.search.retriever import Retriever
from tests.helpers import GENERIC_FILES, make_service, write_files
from tests.web_helpers import COMETS, WEB_FILES

FILES = {**GENERIC_FILES, **WEB_FILES, "space/comets.txt": COMETS}
QUESTIONS = [
    "When was the Fresnel lens invented?",
    "How long is green tea brewed?",
    "How often does Halley's Comet return?",
    "What do honey bees make?",
    "Do owls hunt at night?",
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_files(tmp_path / "corpus", FILES)


def by_span(index: Path) -> dict[tuple[str, int, int], int]:
    """Passage numbers of an index by (doc_id, start, end), which do not depend on the shards."""
    r = Retriever.open(index)
    return {(r.doc(p).doc_id, *r.span(p)): p for p in range(len(r))}


def answers(service) -> list[dict]:
    return [dict(service.ask(q).to_dict(), index_version=None) for q in QUESTIONS]


def test_documents_spread_over_shards_stably():
    ids = [f"folder/doc-{i}.txt" for i in range(200)]
    counts = np.bincount([shard_of(d, 4) for d in ids], minlength=4)
    assert counts.min() > 25 and [shard_of(d, 4) for d in ids] == [shard_of(d, 4) for d in ids]


def test_a_sharded_index_scores_and_answers_as_one_index(corpus, tmp_path):
    single, sharded = make_service(corpus, tmp_path / "one"), make_service(corpus, tmp_path / "sharded")
    single.build()
    report = sharded.build(shards=3)
    assert report.wrote_index and report.documents == len(FILES) and report.added == len(FILES)
    manifest = read_manifest(tmp_path / "sharded")
    assert len(manifest.shards) >= 2 and manifest.chunking["shards"] == 3
    assert all((tmp_path / "sharded" / name / "manifest.json").is_file() for name in manifest.shards)
    beneath = {p.relative_to(tmp_path / "sharded").as_posix() for p in (tmp_path / "sharded").rglob("*") if p.is_file()}
    assert set(manifest.files) == set(manifest.sha256) == beneath - {"manifest.json"}
    assert sharded.info()["shards"] == len(manifest.shards) and single.info()["shards"] == 1
    one, many = Retriever.open(tmp_path / "one"), Retriever.open(tmp_path / "sharded")
    spans_one, spans_many = by_span(tmp_path / "one"), by_span(tmp_path / "sharded")
    assert spans_one.keys() == spans_many.keys()
    order = [spans_many[key] for key in spans_one]  # the sharded index's passage for each of one index's
    a, b = read_index(tmp_path / "one"), read_index(tmp_path / "sharded")
    assert np.abs(a.passage_vectors[: len(order)] - b.passage_vectors[order]).max() <= 1e-6
    for query in (["lens"], ["green", "tea", "brew"], ["comet", "sun", "owl"]):
        scores = np.concatenate([shard.bm25.scores(query) for _, _, shard in many.shards])
        assert np.array_equal(one.bm25.scores(query), scores[order])
        assert [one.bm25.idf(t) for t in query] == [many.bm25.idf(t) for t in query]
        # The one call a shard answers, merged, offers the same candidates as one index.
        vector = single.embedder.encode([" ".join(query)])[0]
        a, b = one.candidates(vector, query, 5, None), many.candidates(vector, query, 5, None)
        back = {p: i for i, p in enumerate(order)}  # the sharded index's passage -> one index's
        for mine, theirs in ((a.dense, b.dense), (a.bm25, b.bm25)):
            theirs = {back[p]: v for p, v in theirs.items()}
            assert sorted(mine.values()) == pytest.approx(sorted(theirs.values()), abs=1e-6)
            cut = min(mine.values(), default=0) + 1e-6  # passages tied at the last place may differ
            assert {p for p, v in mine.items() if v > cut} == {p for p, v in theirs.items() if v > cut}
        assert all(b.exact[p] == pytest.approx(a.exact[back[p]], abs=1e-6) for p in b.exact if back[p] in a.exact)
    assert answers(single) == answers(sharded)


def test_a_sharded_index_updates_by_content_hash_and_goes_back_to_one(corpus, tmp_path):
    service = make_service(corpus, tmp_path / "index")
    service.build(shards=2)
    assert not service.build().wrote_index  # nothing changed: the recorded layout, nothing written
    (corpus / "space" / "comets.txt").write_text(COMETS + "\nComets are made of ice and dust.\n", encoding="utf-8")
    report = service.build()
    assert report.wrote_index and report.changed == 1 and report.unchanged == len(FILES) - 1
    assert 0 < report.embedded <= 4  # only the changed document's new texts
    fresh = make_service(corpus, tmp_path / "fresh")
    fresh.build()
    assert answers(service) == answers(fresh)
    report = service.build(shards=1)
    assert report.wrote_index and not read_manifest(tmp_path / "index").shards
    assert answers(service) == answers(fresh)


def test_a_sharded_index_filters_by_document_and_folder(corpus, tmp_path):
    service = make_service(corpus, tmp_path / "index")
    service.build(shards=3)
    for doc_ids, expected in ((["tea/"], {"tea/green-tea.md"}), (["space/comets.txt", "owls.txt"], None)):
        answer = service.ask("What is it?", k=3, doc_ids=doc_ids)
        cited = {c.doc_id for c in answer.citations}
        assert cited <= (expected or set(doc_ids))
    _, hits = service.search("comets tea owls bees lens", k=10, doc_ids=["bees/"])
    assert hits and {h.doc_id for h in hits} == {"bees/honey-bees.md"}


def test_the_api_uploads_into_a_sharded_index_and_answers_from_every_shard(corpus, tmp_path):
    import io

    from qa.http.app import create_app
    from tests.web_helpers import ADMIN_TOKEN

    service = make_service(corpus, tmp_path / "index")
    service.build(shards=3)
    client = create_app({"QA_SERVICE": service, "ADMIN_TOKEN": ADMIN_TOKEN, "RATE_LIMIT": 0}).test_client()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    text = b"Sundials\n\nA sundial tells the time by the shadow its gnomon casts on the dial plate."
    uploaded = client.post("/api/documents?wait=true", headers=auth, data={"file": (io.BytesIO(text), "sundials.txt")})
    assert uploaded.status_code in (200, 201), uploaded.get_json()
    assert read_manifest(tmp_path / "index").chunking["shards"] == 3  # the update kept the layout
    listed = {d["doc_id"] for d in client.get("/api/documents").get_json()["documents"]}
    assert listed == set(FILES) | {"sundials.txt"}
    answer = client.post("/api/ask", json={"question": "What does a sundial's gnomon cast?"}).get_json()
    assert answer["citations"][0]["doc_id"] == "sundials.txt"
    assert client.get("/api/health").get_json()["documents"] == len(FILES) + 1


def test_a_shard_whose_documents_are_all_removed_leaves_the_index(corpus, tmp_path):
    service = make_service(corpus, tmp_path / "index")
    service.build(shards=3)
    before = read_manifest(tmp_path / "index").shards
    gone = [d for d in FILES if f"shard-{shard_of(d, 3):03d}" == before[0]]
    for doc_id in gone:
        (corpus / doc_id).unlink()
    report = service.build()
    after = read_manifest(tmp_path / "index")
    assert report.wrote_index and report.removed == len(gone)
    assert after.shards == before[1:] and not (tmp_path / "index" / before[0]).exists()
    assert set(after.documents) == set(FILES) - set(gone)

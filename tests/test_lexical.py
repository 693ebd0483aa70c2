"""BM25 over passage terms: ranking, empty rows, persistence, idf."""

import numpy as np
import pytest

from qa.lexical import BM25Index
from qa.terms import terms

PASSAGES = [
    "The Fresnel lens concentrates lamp light into a beam.",
    "",
    "Bees perform the waggle dance to show where nectar is.",
    "The keeper trims the lamp wick and cleans the lens.",
]


@pytest.fixture
def index() -> BM25Index:
    return BM25Index.build([terms(p) for p in PASSAGES])


def test_scores_one_per_passage_and_rank_matching_ones(index):
    scores = index.scores(terms("waggle dance"))
    assert scores.shape == (len(PASSAGES),)
    assert int(np.argmax(scores)) == 2
    assert scores[1] == 0 and scores[0] == 0 and scores[3] == 0


def test_rarer_terms_weigh_more(index):
    scores = index.scores(terms("lens fresnel"))
    assert scores[0] > scores[3] > 0


def test_unknown_terms_score_zero(index):
    assert not index.scores(terms("volcano")).any()
    assert not index.scores([]).any()


def test_idf_orders_terms_by_rarity(index):
    assert index.num_docs == len(PASSAGES)
    lens, fresnel = terms("lens fresnel")  # idf takes terms as indexed: stemmed
    assert index.idf("volcano") > index.idf(fresnel) > index.idf(lens) > 0


def test_save_and_load_give_the_same_scores(index, tmp_path):
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    query = terms("lamp lens wick")
    assert np.allclose(loaded.scores(query), index.scores(query))
    assert loaded.num_docs == index.num_docs
    assert loaded.idf("len") == pytest.approx(index.idf("len"))


def test_knows_matches_whole_terms_six_letter_prefixes_and_ignores_accents():
    index = BM25Index.build([terms("Botuline toxin and the Maizière cabinet met in Zürich")])
    assert index.knows("toxin") and index.knows("botulinum")  # "botuli" prefix
    assert index.knows("maiziere") and index.knows("zurich")  # typed without accents
    assert not index.knows("migraine") and not index.knows("bot")

"""BM25 over passage terms: ranking, empty rows, persistence, idf."""

import numpy as np
import pytest

from qa.index.lexical import BM25Index
from qa.text.terms import terms
from tests.helpers import bm25s_reference, random_token_lists, scores_by_term

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


def test_a_term_one_typing_error_from_an_indexed_one_is_corrected_to_it():
    index = BM25Index.build(
        [terms("Symptoms of the spasm"), terms("The symptom list and the hereditary form"), terms("the spam filter")]
    )
    symptom, hereditari = terms("symptom hereditary")
    assert index.correct(terms("symtoms")[0]) == symptom  # a letter left out
    assert index.correct(terms("herediatry")[0]) == hereditari  # two letters swapped
    assert index.correct(symptom) == symptom  # indexed terms stay
    assert index.correct("spasn") == "spasm"  # one letter wrong
    assert index.correct("spam") == "spam" and index.correct("spaz") == "spaz"  # too short to guess
    assert index.correct("volcano") == "volcano"  # nothing near it
    assert index.knows(terms("symtoms")[0]) and not index.knows("volcano")


def test_a_correction_prefers_the_more_frequent_of_two_neighbours():
    index = BM25Index.build([terms("candles"), terms("handles"), terms("door handles")])
    assert terms("candles handles") == ["candl", "handl"]
    assert index.correct("pandl") == "handl"  # one substitution from either; "handl" is in two passages


@pytest.mark.parametrize(("seed", "entries"), [(0, 40), (1, 40), (2, 1), (3, 10**6)])
def test_built_index_matches_bm25s_score_for_score(seed, entries, monkeypatch, tmp_path):
    import qa.index.lexical

    monkeypatch.setattr(qa.index.lexical, "FINISH_ENTRIES", entries)  # slices of whole documents, columns spanning them
    corpus = [*random_token_lists(seed, 50), [], ["t1", "t1", "t1"]]
    ours, ref = BM25Index.build(corpus), bm25s_reference(corpus)
    assert scores_by_term(ours.model) == scores_by_term(ref)  # exact float32 values, the same documents per term
    for name in ("data", "indices", "indptr"):
        assert ours.model.scores[name].dtype == ref.scores[name].dtype
    assert ours.model.scores["num_docs"] == ref.scores["num_docs"]
    assert set(ours.model.vocab_dict) == set(ref.vocab_dict)
    ours.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    for query in (["t0"], ["t3", "t1", "t3"], ["t59", "absent", "t2"], ["t10", "t20", "t30", "t0"]):
        expected = np.asarray(ref.get_scores(query), dtype=np.float32)
        assert np.array_equal(loaded.scores(query), expected)
        assert np.array_equal(ours.scores(query), expected)
    for term in ("t0", "t5", "t59", "absent"):
        assert loaded.idf(term) == BM25Index(ref).idf(term)
        assert loaded.knows(term) == BM25Index(ref).knows(term)
    assert np.array_equal(np.sort(loaded.df), np.sort(BM25Index(ref).df))


def test_other_bm25_parameters_are_built_as_bm25s_builds_them(tmp_path):
    corpus = random_token_lists(6, 40)
    ours, ref = BM25Index.build(corpus, k1=1.5, b=0.75), bm25s_reference(corpus, k1=1.5, b=0.75)
    assert scores_by_term(ours.model) == scores_by_term(ref)
    assert scores_by_term(ours.model) != scores_by_term(BM25Index.build(corpus).model)
    ours.save(tmp_path / "bm25")
    assert (BM25Index.load(tmp_path / "bm25").model.k1, BM25Index.load(tmp_path / "bm25").model.b) == (1.5, 0.75)


def test_built_index_matches_the_bm25_formula():
    from qa.index.lexical import K1, B

    corpus = random_token_lists(3, 30)
    index = BM25Index.build(corpus)
    avg = np.mean([max(len(d), 1) for d in corpus])
    for term in ("t0", "t1", "t7"):
        df = sum(term in d for d in corpus)
        idf = np.log(1 + (len(corpus) - df + 0.5) / (df + 0.5))
        for d, (tokens, got) in enumerate(zip(corpus, index.scores([term]), strict=True)):
            tf = tokens.count(term)
            want = idf * tf / (tf + K1 * (1 - B + B * max(len(tokens), 1) / avg))
            assert got == pytest.approx(want, rel=1e-6), (term, d)


def test_no_documents_is_one_empty_row():
    index = BM25Index.build([])
    assert index.num_docs == 1 and not index.scores(["x"]).any()

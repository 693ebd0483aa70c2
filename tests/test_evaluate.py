"""`qa eval` scoring: answer folding, hit ranks, question files, aggregate report."""

from dataclasses import dataclass, field

import pytest

from qa.errors import QAError
from qa.evaluate import EvalItem, evaluate, fold, hit_rank, read_items
from qa.search.answerer import NOT_FOUND, Answer, Citation


def test_fold_and_hit_rank():
    assert fold("  Three   TO\nfour ") == "three to four"
    assert hit_rank(["3 to 4 months"], ["Nothing here.", "It lasts 3  to 4 Months."]) == 2
    assert hit_rank(["absent"], ["a", "b"]) is None
    assert hit_rank([], ["a"]) is None


def test_read_items(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text(
        '{"id": "a", "question": "Q1?", "answers": ["x"]}\n'
        "\n"
        '{"question": "Q2?", "answers": null, "history": ["earlier"]}\n',
        encoding="utf-8",
    )
    assert read_items(path) == [EvalItem("a", "Q1?", ["x"], []), EvalItem("3", "Q2?", [], ["earlier"])]


@pytest.mark.parametrize("line", ['{"answers": []}', "not json", "[1, 2]"])
def test_malformed_line_is_named(tmp_path, line):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "fine"}\n' + line + "\n")
    with pytest.raises(QAError, match=r"bad\.jsonl:2: not a question object"):
        read_items(path)


def test_unreadable_file_is_a_qa_error(tmp_path):
    with pytest.raises(QAError, match="cannot read"):
        read_items(tmp_path / "missing.jsonl")


@dataclass
class ScriptedService:
    """Answers each question with the quotes it was given (none means a decline)."""

    quotes: dict[str, list[str]]
    asked: list[tuple[str, list[str] | None, int]] = field(default_factory=list)

    def ask(self, question, history=None, k=3):
        self.asked.append((question, history, k))
        quotes = self.quotes[question]
        citations = [Citation(i, "d.txt", "T", None, q, 0, len(q), 1.0) for i, q in enumerate(quotes, 1)]
        return Answer(question, question, not quotes, NOT_FOUND if not quotes else "...", "v1", 0.9, citations)


def test_evaluate_counts_hits_declines_and_misses():
    items = [
        EvalItem("h1", "first?", ["alpha"]),
        EvalItem("h3", "second?", ["beta"], ["earlier turn"]),
        EvalItem("fd", "declined?", ["gamma"]),
        EvalItem("o1", "out of scope?", []),
        EvalItem("o2", "also out?", []),
    ]
    service = ScriptedService(
        {
            "first?": ["Alpha here."],
            "second?": ["no", "nope", "BETA!"],
            "declined?": [],
            "out of scope?": [],
            "also out?": ["Some quote."],
        }
    )
    report = evaluate(service, items, k=3)
    assert (report.questions, report.in_scope, report.out_of_scope) == (5, 3, 2)
    assert report.hit_at_1 == round(1 / 3, 4) and report.hit_at_3 == round(2 / 3, 4)
    assert report.declined_out_of_scope == 0.5 and report.falsely_declined == 1
    assert [(m["id"], m["problem"]) for m in report.misses] == [
        ("h3", "answer at rank 3"),
        ("fd", "declined"),
        ("o2", "answered out-of-scope"),
    ]
    assert service.asked[1] == ("second?", ["earlier turn"], 3)
    assert service.asked[0][1] is None  # no history is passed as None


def test_evaluate_of_nothing():
    report = evaluate(ScriptedService({}), [])
    assert (report.questions, report.hit_at_1, report.declined_out_of_scope, report.misses) == (0, 0.0, 0.0, [])


def _check_set(name: str) -> list:
    """The items of a check set in bench/quality/, after checking that its ids are unique and that every accepted
    answer is in the default article."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    items = read_items(root / "bench" / "quality" / name)
    text = fold((root / "corpus" / "what-causes-facial-twitching.txt").read_text(encoding="utf-8"))
    assert len({i.id for i in items}) == len(items)
    assert [a for i in items for a in i.answers if fold(a) not in text] == []
    return items


def test_the_patient_worded_check_set_holds_answers_from_the_default_corpus():
    """bench/quality/patient.jsonl stays scoreable: unique ids, and every accepted answer is in the default article."""
    items = _check_set("patient.jsonl")
    assert len(items) >= 30
    assert sum(not i.answers for i in items) >= 4  # questions the article does not answer, to be declined


def test_the_follow_up_check_set_holds_answers_from_the_default_corpus():
    """bench/quality/followup.jsonl stays scoreable: each question has a conversation, each answer is in the article."""
    items = _check_set("followup.jsonl")
    assert len(items) >= 16 and all(i.history for i in items)
    assert sum(not i.answers for i in items) >= 2

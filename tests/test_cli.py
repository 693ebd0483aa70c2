"""The `qa` command line through click's CliRunner, with the fake embedder injected."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import qa.cli
from qa.config import Settings
from qa.service import QAService
from tests.helpers import assert_citations_exact, make_service, write_files

ANSWER_KEYS = ["question", "search_query", "abstained", "answer", "index_version", "confidence", "citations"]
CITATION_KEYS = ["id", "doc_id", "title", "section", "quote", "start", "end", "score"]
RESULT_KEYS = ["doc_id", "section", "start", "end", "text", "score"]
COMMANDS = ["build", "ask", "search", "eval", "info"]


@pytest.fixture
def made(monkeypatch) -> list[Settings]:
    """Every CLI command gets a QAService with the HashEmbedder; the settings it was given are recorded."""
    settings_seen: list[Settings] = []

    def factory(settings: Settings) -> QAService:
        settings_seen.append(settings)
        return make_service(settings.corpus_dir, settings.index_dir, model=settings.model)

    monkeypatch.setattr(qa.cli, "service_for", factory)
    for name in ("QA_CORPUS_DIR", "QA_INDEX_DIR", "QA_MODEL", "QA_MODE"):
        monkeypatch.delenv(name, raising=False)
    return settings_seen


@pytest.fixture
def run(made, corpus_dir, tmp_path):
    """Run `qa ARGS` against the generic corpus and tmp_path/index."""
    index = tmp_path / "index"

    def invoke(*args: str, input: str | None = None, env: dict | None = None, paths: bool = True):
        extra = ["--corpus", str(corpus_dir), "--index", str(index)] if paths else []
        return CliRunner().invoke(qa.cli.cli, [*args, *extra], input=input, env=env)

    return invoke


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


# --- help --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], *([c] for c in sorted(qa.cli.cli.commands))])
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_on_every_command(command, flag):
    result = CliRunner().invoke(qa.cli.cli, [*command, flag])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    if not command:
        assert all(c in result.output for c in COMMANDS)
    elif command[0] in COMMANDS:
        assert "--corpus" in result.output and "--index" in result.output and "--model" in result.output


def test_help_states_the_defaults_qa_uses():
    """The defaults `qa ask --help` states are the ones Settings gives (the selector's once said "none")."""
    text = " ".join(CliRunner().invoke(qa.cli.cli, ["ask", "--help"]).output.split())
    defaults = Settings.from_env(env={})
    assert f"[env QA_SELECTOR; default: {defaults.selector}]" in text
    assert "(the hand-weighted score) [env QA_SELECTOR" in text
    assert f"[env QA_MODE; default: {defaults.mode}]" in text


# --- build -------------------------------------------------------------------------------------------------------


def test_build_then_nothing_to_do(run):
    first = run("build")
    assert first.exit_code == 0, first.output
    assert "added 2, changed 0, removed 0, unchanged 0" in first.stdout
    assert "index written: 2 documents" in first.stdout
    second = run("build")
    assert "added 0, changed 0, removed 0, unchanged 2" in second.stdout
    assert "already up to date" in second.stdout and "0 texts embedded" in second.stdout
    rebuilt = run("build", "--rebuild", "--json")
    report = json.loads(rebuilt.stdout)
    assert report["wrote_index"] and report["embedded"] > 0 and report["documents"] == 2
    assert report["problems"] == []


def test_build_reports_skipped_files(run, corpus_dir):
    (corpus_dir / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    result = run("build")
    assert result.exit_code == 0
    assert "skipped latin1.txt: not valid UTF-8" in result.stderr
    report = json.loads(run("build", "--json").stdout)
    assert report["problems"] == [{"path": "latin1.txt", "message": "not valid UTF-8 (byte 3)"}]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "Error: no documents in "),
        ({"empty.txt": b"", "nul.txt": b"\0"}, "Error: no readable documents in "),
    ],
)
def test_build_of_an_empty_corpus_exits_with_a_clean_error(made, tmp_path, files, message):
    corpus = write_files(tmp_path / "empty", files)
    result = CliRunner().invoke(qa.cli.cli, ["build", "--corpus", str(corpus), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit


def test_build_of_a_missing_corpus_folder(made, tmp_path):
    result = CliRunner().invoke(qa.cli.cli, ["build", "--corpus", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert result.stderr.startswith("Error: ")


# --- ask ---------------------------------------------------------------------------------------------------------


def test_ask_on_a_missing_index_builds_it_first(run, tmp_path):
    result = run("ask", "Who invented the Fresnel lens?")
    assert result.exit_code == 0, result.output
    assert "Built the index: 2 documents" in result.stderr
    assert (tmp_path / "index" / "manifest.json").is_file()
    assert result.stdout.startswith("Q: Who invented the Fresnel lens?")
    assert "[1] \u201cThe Fresnel lens was invented by Augustin Fresnel in 1822." in result.stdout
    assert "lighthouse.txt, characters " in result.stdout
    again = run("ask", "Who invented the Fresnel lens?")
    assert "Built the index" not in again.stderr


def test_ask_json_schema(run, corpus_dir):
    result = run("ask", "--json", "Who invented the Fresnel lens?")
    assert result.exit_code == 0, result.output
    (answer,) = json_lines(result.stdout)
    assert list(answer) == ANSWER_KEYS
    assert answer["question"] == answer["search_query"] == "Who invented the Fresnel lens?"
    assert answer["abstained"] is False and isinstance(answer["index_version"], str)
    assert answer["citations"] and all(list(c) == CITATION_KEYS for c in answer["citations"])
    for c in answer["citations"]:
        text = (corpus_dir / c["doc_id"]).read_text(encoding="utf-8")
        assert text[c["start"] : c["end"]] == c["quote"]


def test_ask_declines_in_json_and_text(run):
    (answer,) = json_lines(run("ask", "--json", "What is the capital city of Peru?").stdout)
    assert answer["abstained"] is True and answer["citations"] == []
    text = run("ask", "What is the capital city of Peru?").stdout
    assert "I could not find an answer" in text


def test_ask_reads_plain_and_json_lines_from_stdin(run):
    lines = "\n".join(
        [
            "Who invented the Fresnel lens?",
            "",
            json.dumps({"question": "Who invented it?", "history": ["What is the Fresnel lens?"]}),
            "What does the queen lay?",
        ]
    )
    result = run("ask", "--json", "-k", "1", input=lines + "\n")
    assert result.exit_code == 0, result.output
    answers = json_lines(result.stdout)
    assert [a["question"] for a in answers] == [
        "Who invented the Fresnel lens?",
        "Who invented it?",
        "What does the queen lay?",
    ]
    assert answers[1]["search_query"] == "Who invented it? (fresnel lens)"
    assert all(len(a["citations"]) <= 1 for a in answers)
    assert "Augustin Fresnel" in answers[1]["citations"][0]["quote"]


def test_ask_bad_stdin_lines_give_error_objects_and_exit_1(run):
    lines = "{not json\n" + json.dumps({"question": ""}) + "\nWho invented the Fresnel lens?\n"
    result = run("ask", "--json", input=lines)
    assert result.exit_code == 1
    bad_json, empty, good = json_lines(result.stdout)
    assert bad_json["error"]["code"] == "error" and "not a JSON object" in bad_json["error"]["message"]
    assert empty["error"]["code"] == "invalid_request"
    assert good["abstained"] is False
    text = run("ask", input="{not json\n")
    assert text.exit_code == 1 and text.stderr.startswith("Error: not a JSON object")


def test_ask_k_is_bounded(run):
    result = run("ask", "-k", "11", "lamp")
    assert result.exit_code == 2 and "Invalid value for '-k'" in result.stderr


def test_ask_uses_the_retrieval_mode(run):
    (answer,) = json_lines(run("ask", "--json", "--mode", "bm25", "Who invented the Fresnel lens?").stdout)
    assert "Augustin Fresnel" in answer["citations"][0]["quote"]


# --- search ------------------------------------------------------------------------------------------------------


def test_search_json_schema_and_k_up_to_100(run):
    run("build")
    result = run("search", "--json", "-k", "100", "waggle dance")
    assert result.exit_code == 0, result.output
    (obj,) = json_lines(result.stdout)
    assert list(obj) == ["query", "results"] and obj["query"] == "waggle dance"
    assert obj["results"] and all(list(r) == RESULT_KEYS for r in obj["results"])
    assert obj["results"][0]["doc_id"] == "bees/honey-bees.md"
    assert len(obj["results"]) <= 100
    assert run("search", "-k", "101", "lamp").exit_code == 2


def test_search_text_output_and_stdin(run):
    run("build")
    result = run("search", "-k", "2", input="waggle dance\nFresnel lens\n")
    assert result.exit_code == 0
    assert result.stdout.count("Q: ") == 2 and "1. bees/honey-bees.md \u203a Foraging [" in result.stdout


# --- eval and info -----------------------------------------------------------------------------------------------


def test_eval(run, tmp_path):
    questions = tmp_path / "dev.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "Who invented the Fresnel lens?", "answers": ["Augustin Fresnel"]})
        + "\n"
        + json.dumps({"id": "b", "question": "What is the capital city of Peru?", "answers": []})
        + "\n"
    )
    result = run("eval", str(questions))
    assert result.exit_code == 0, result.output
    assert "questions 2 (in scope 1, out of scope 1)" in result.stdout
    assert "hit@1 1.000" in result.stdout and "declined out-of-scope 1.000" in result.stdout
    report = json.loads(run("eval", "--json", str(questions)).stdout)
    assert report["hit_at_1"] == 1.0 and report["misses"] == []


def test_eval_malformed_file_is_a_clean_error(run, tmp_path):
    questions = tmp_path / "bad.jsonl"
    questions.write_text("[1]\n")
    result = run("eval", str(questions))
    assert result.exit_code == 1 and "Error: " in result.stderr and "bad.jsonl:1" in result.stderr


def test_info(run):
    missing = run("info")
    assert missing.exit_code == 1 and "Error: no index at" in missing.stderr and "qa build" in missing.stderr
    run("build")
    result = run("info")
    assert result.exit_code == 0
    assert "documents      2" in result.stdout and "model          hash-256" in result.stdout
    data = json.loads(run("info", "--json").stdout)
    assert data["documents"] == 2 and data["dense_index"] == "flat"


def test_damaged_index_is_a_clean_error(run, tmp_path):
    run("build")
    (tmp_path / "index" / "passage_vectors.npy").write_bytes(b"short")
    result = run("ask", "lamp")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: index file ") and "qa build --rebuild" in result.stderr


# --- where things are --------------------------------------------------------------------------------------------


def test_options_set_corpus_index_and_model(made, corpus_dir, tmp_path):
    args = ["--corpus", str(corpus_dir), "--index", str(tmp_path / "i"), "--model", str(tmp_path / "m")]
    result = CliRunner().invoke(qa.cli.cli, ["build", *args])
    assert result.exit_code == 0, result.output
    assert made[-1].corpus_dir == corpus_dir and made[-1].index_dir == tmp_path / "i"
    assert made[-1].model == str(tmp_path / "m")


def test_environment_sets_corpus_and_index(run, made, corpus_dir, tmp_path):
    env = {"QA_CORPUS_DIR": str(corpus_dir), "QA_INDEX_DIR": str(tmp_path / "env-index")}
    result = run("build", env=env, paths=False)
    assert result.exit_code == 0, result.output
    assert (made[-1].corpus_dir, made[-1].index_dir) == (corpus_dir, tmp_path / "env-index")
    assert (tmp_path / "env-index" / "manifest.json").is_file()
    # Options win over the environment.
    other = tmp_path / "opt-index"
    CliRunner().invoke(qa.cli.cli, ["info", "--index", str(other)], env=env)
    assert made[-1].index_dir == other


def test_defaults_are_corpus_and_index_in_the_working_folder(made, corpus_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(corpus_dir.parent)
    result = CliRunner().invoke(qa.cli.cli, ["build"])
    assert result.exit_code == 0, result.output
    assert made[-1].corpus_dir == Path("corpus") and made[-1].index_dir == Path("index")
    answer = qa.cli.service_for(made[-1]).ask("Who invented the Fresnel lens?")
    assert_citations_exact(answer, corpus_dir)

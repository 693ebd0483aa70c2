"""Settings from defaults, QA_* environment variables and overrides."""

from pathlib import Path

import pytest

from qa.config import Settings
from qa.text.passages import DEFAULT_MAX_CHARS, DEFAULT_OVERLAP


def test_defaults_without_environment():
    s = Settings.from_env({})
    assert s == Settings()
    assert s.corpus_dir == Path("corpus") and s.index_dir == Path("index")
    assert s.model is None and s.mode == "hybrid"
    assert (s.max_chars, s.overlap) == (DEFAULT_MAX_CHARS, DEFAULT_OVERLAP)


def test_environment_values_are_converted_to_field_types():
    env = {
        "QA_CORPUS_DIR": "/docs",
        "QA_INDEX_DIR": "/idx",
        "QA_MODEL": "/models/m",
        "QA_MAX_CHARS": "300",
        "QA_OVERLAP": "0",
        "QA_MODE": "bm25",
        "QA_LOCK_TIMEOUT": "2.5",
    }
    s = Settings.from_env(env)
    assert s.corpus_dir == Path("/docs") and s.index_dir == Path("/idx")
    assert s.model == "/models/m"
    assert s.max_chars == 300 and s.overlap == 0
    assert s.mode == "bm25"
    assert s.lock_timeout == 2.5


def test_overrides_beat_environment_and_none_or_empty_is_ignored():
    env = {"QA_CORPUS_DIR": "/from-env", "QA_INDEX_DIR": "", "QA_MODE": "dense"}
    s = Settings.from_env(env, corpus_dir="/from-arg", index_dir=None, mode=None)
    assert s.corpus_dir == Path("/from-arg")
    assert s.index_dir == Path("index")
    assert s.mode == "dense"


def test_reads_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", "/somewhere")
    assert Settings.from_env().index_dir == Path("/somewhere")


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode must be one of hybrid, dense, bm25"):
        Settings.from_env({"QA_MODE": "magic"})


def test_non_numeric_number_is_refused():
    with pytest.raises(ValueError):
        Settings.from_env({"QA_MAX_CHARS": "lots"})


def test_a_config_file_sets_values_the_environment_overrides(tmp_path):
    path = tmp_path / "qa.toml"
    path.write_text('index_dir = "/from-file"\nrate_limit = 5\nexamples = ["One?", "Two?"]\nlog_questions = true\n')
    s = Settings.from_env({"QA_CONFIG": str(path), "QA_RATE_LIMIT": "7"})
    assert s.index_dir == Path("/from-file") and s.rate_limit == 7
    assert s.examples == ("One?", "Two?") and s.log_questions is True


@pytest.mark.parametrize(
    ("text", "message"),
    [("nonsense = 1\n", "unknown setting: nonsense"), ("index_dir = \n", "not valid TOML")],
)
def test_a_bad_config_file_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "qa.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"QA_CONFIG": str(path)})


def test_a_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot read the config file"):
        Settings.from_env({"QA_CONFIG": str(tmp_path / "absent.toml")})


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("YES", True), ("on", True), ("0", False), ("no", False)])
def test_flags_read_one_truthy_rule(raw, expected):
    assert Settings.from_env({"QA_LOG_QUESTIONS": raw}).log_questions is expected

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

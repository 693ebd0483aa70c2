"""kill -9 during a rebuild leaves the old or the new index, whole; two builds at once never corrupt it.

A quick version of bench/reliability/crash.py (the real model, 20 kills): the fake embedder, a few kills.
"""

from __future__ import annotations

import sys

from click.testing import CliRunner

from bench.reliability.crash import run
from qa.cli import cli
from qa.index.store import build_lock
from qa.testing import HashEmbedder
from tests.helpers import make_service

FAKE_BUILD = "import sys; from tests.helpers import make_service; make_service(*sys.argv[1:]).build(rebuild=True)"


def test_kill_9_during_rebuilds_leaves_a_whole_index_that_answers(tmp_path):
    embedder = HashEmbedder()
    report = run(
        tmp_path,
        lambda corpus, index: [sys.executable, "-c", FAKE_BUILD, str(corpus), str(index)],
        lambda index: make_service(tmp_path / "corpus", index, embedder),
        kills=4,
        docs=20,
        seed=3,
    )
    assert report.kills == 4
    assert report.survived == 4, report.crashes  # each time: read whole, and the answer is from that build
    assert report.old + report.new == 4
    assert report.leftovers_after_next_build == 0


def test_a_second_build_stops_with_a_clear_message_while_one_runs(corpus_dir, tmp_path):
    index = tmp_path / "index"
    make_service(corpus_dir, index).build()
    env = {"QA_CORPUS_DIR": str(corpus_dir), "QA_INDEX_DIR": str(index), "QA_LOCK_TIMEOUT": "0"}
    with build_lock(index):
        result = CliRunner().invoke(cli, ["build", "--rebuild"], env=env)
    assert result.exit_code == 1
    assert "another build" in result.output and "wait for it to finish" in result.output
    assert "Traceback" not in result.output
    assert make_service(corpus_dir, index).info()["documents"] == 2  # untouched

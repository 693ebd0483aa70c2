"""qa on a real 2-node Ray cluster, on loopback only (a network namespace of its own), in CI."""

from __future__ import annotations

import json
import sys

import pytest

from qa.testing import REPO, in_own_network

pytestmark = pytest.mark.slow
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"


def test_a_build_embedded_on_a_two_node_cluster_equals_the_local_build(tmp_path):
    pytest.importorskip("ray", reason="the Ray extra (make install installs it)")
    probe = in_own_network(["true"], timeout=30)
    assert probe.returncode == 0, f"cannot make a network namespace (unshare --net): {probe.stderr}"
    job = [sys.executable, "-m", "tests.cluster_job", str(REPO / "corpus"), str(DEV), str(tmp_path)]
    run = in_own_network(job, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["ray_nodes"] == 2  # both nodes' actors embedded part of the corpus
    assert result["embedded"] > 100
    assert result["passage_diff"] <= 1e-6 and result["sentence_diff"] <= 1e-6
    assert result["tables_equal"]
    assert result["answers_equal"] and result["answered"] >= 10

"""qa on a real 2-node Ray cluster, on loopback only (a network namespace of its own), in CI."""

from __future__ import annotations

import json
import sys

import pytest

from qa.testing import REPO, in_own_network

pytestmark = pytest.mark.slow
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"


def test_builds_embedded_on_a_two_node_cluster_one_index_or_two_shards_equal_the_local_build(tmp_path):
    pytest.importorskip("ray", reason="the Ray extra (make install installs it)")
    probe = in_own_network(["true"], timeout=30)
    assert probe.returncode == 0, f"cannot make a network namespace (unshare --net): {probe.stderr}"
    job = [sys.executable, "-m", "tests.cluster_job", str(REPO / "corpus"), str(DEV), str(tmp_path)]
    run = in_own_network(job, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["ray_nodes"] == [2, 2]  # both nodes' actors embedded part of the corpus, each time
    assert result["chunked"] == [4, 4, 4]  # every document was split into sentences and passages by the actors
    assert result["embedded"] > 100
    for built in ("one", "sharded"):  # each against a local build of one index
        r = result[built]
        assert r["same_passages"] and r["sentences_equal"] and r["passage_diff"] <= 1e-6
        assert r["bm25_equal"] and r["answers_equal"] and r["answered"] >= 12
    assert result["one"]["shards"] == 0 and result["sharded"]["shards"] == 2


def test_serving_on_a_two_node_cluster_answers_marks_a_lost_shard_and_recovers(tmp_path):
    pytest.importorskip("ray.serve", reason="the Ray extra (make install installs it)")
    job = [sys.executable, "-m", "tests.serve_job", str(REPO / "corpus"), str(DEV), str(tmp_path)]
    run = in_own_network(job, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads((tmp_path / "result.json").read_text())
    # `qa serve --ray` over HTTP answers as the index loaded whole in one process does.
    assert result["answers_equal"] and result["answered"] >= 12
    assert result["health"]["status"] == "ok" and result["health"]["shards_unhealthy"] == []
    assert result["nodes"] == {"router": 2, "shard-000": 1, "shard-001": 1}  # the 2 router replicas: both nodes
    # One shard's replica killed: a marked partial answer naming it, health names it, then a full answer again.
    lost = result["after_kill"]
    assert lost["partial"] is True and lost["shards_missing"] == ["shard-001"]
    assert result["health_after_kill"]["status"] == "degraded"
    assert result["health_after_kill"]["shards_unhealthy"] == ["shard-001"]
    assert result["recovered"]
    # A rebuild while serving (a new document; 2 shards kept): the next answer quotes it, from the new index.
    rebuilt = result["after_rebuild"]
    assert rebuilt["index_version"] == result["rebuilt_version"] and "partial" not in rebuilt
    assert rebuilt["citations"][0]["doc_id"] == "sundials.txt"
    # Rebuilt in 3 shards while 2 are deployed: the shard no deployment serves is named, never silently left out.
    unserved = result["unserved"]
    assert unserved, "the corpus should reach a third shard"
    assert result["after_reshard"]["partial"] and result["after_reshard"]["shards_missing"] == unserved
    assert result["health_after_reshard"]["shards_unhealthy"] == unserved

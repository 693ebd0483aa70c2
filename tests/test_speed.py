"""Speed work: thread sharing, the dense index switch, memory-mapped vectors and the benchmark's arithmetic."""

import numpy as np
import pytest

from bench.common.stats import percentile, ratio, summarize
from bench.speed.load import parse_wrk, wrk_script
from qa.config import Settings
from qa.http.threads import encode_slots, threads_per_process, worker_threads
from qa.index.dense import DenseIndex

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:5000
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   221.23ms   30.10ms 315.90ms   70.00%
  Latency Distribution
     50%  221.23ms
     75%  250.00ms
     90%  273.15ms
     99%    1.20s
  208 requests in 3.00s, 1.00MB read
  Non-2xx or 3xx responses: 4
Requests/sec:     69.36
Transfer/sec:    341.12KB
"""


def test_percentile_interpolates_like_numpy():
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    for q in (0, 10, 50, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_summarize_reports_milliseconds():
    s = summarize([0.010, 0.020, 0.030])
    assert (s.n, s.p50, s.mean) == (3, pytest.approx(20.0), pytest.approx(20.0))


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        percentile([], 50)


def test_ratio():
    assert ratio(13.0, 10.0) == 1.3
    assert ratio(1.0, 0.0) == float("inf")


def test_parse_wrk_reads_rate_errors_and_latency():
    parsed = parse_wrk(WRK_OUTPUT)
    assert parsed["requests_per_s"] == 69.36
    assert parsed["non_2xx"] == 4
    assert parsed["latency_ms"] == {"p50": 221.23, "p90": 273.15, "p99": 1200.0}


def test_wrk_script_holds_every_question(tmp_path):
    text = wrk_script(['What is "HFS"?', "Why?"], tmp_path).read_text()
    assert '{"question": "What is \\"HFS\\"?"}' in text and '{"question": "Why?"}' in text


@pytest.mark.parametrize(("processes", "cores", "expected"), [(1, 2, 2), (2, 2, 1), (4, 2, 1), (2, 8, 4)])
def test_threads_share_the_cores(processes, cores, expected):
    assert threads_per_process(processes, cores) == expected


@pytest.mark.parametrize(("env", "expected"), [(None, 2), ("", 2), ("1", 1), ("3", 3), ("0", None)])
def test_encode_slots_follow_the_threads_unless_set(env, expected):
    env = {} if env is None else {"QA_ENCODE_SLOTS": env}
    assert encode_slots(2, Settings.from_env(env).encode_slots) == expected


def test_worker_threads_can_be_set():
    assert worker_threads(2, Settings.from_env({"QA_THREADS": "3"}).threads) == 3
    assert worker_threads(2, Settings.from_env({}).threads) == threads_per_process(2)


def _unit_vectors(n: int, dim: int = 16) -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_index_type_switches_above_the_exact_limit():
    vectors = _unit_vectors(101)
    assert DenseIndex.build(vectors[:100], exact_limit=100).kind == "flat"
    assert DenseIndex.build(vectors, exact_limit=100).kind == "hnsw"


def test_build_from_a_memory_map_in_slices(tmp_path, monkeypatch):
    monkeypatch.setattr("qa.index.dense.ADD_BATCH", 7)
    vectors = _unit_vectors(50)
    path = tmp_path / "v.npy"
    np.save(path, vectors)
    index = DenseIndex.build(np.load(path, mmap_mode="r"))
    assert index.index.ntotal == 50
    scores, ids = index.search(vectors[3], 5)
    assert ids[0] == 3 and scores[0] == pytest.approx(1.0, abs=1e-5)


def test_every_benchmark_module_imports():
    import importlib
    import pkgutil

    import bench

    # A benchmark that reaches into the product's internals breaks when they move; catch it here, not in a run.
    names = [m.name for m in pkgutil.walk_packages(bench.__path__, "bench.")]
    assert {"bench.speed.build", "bench.quality.suite", "bench.common.stats", "bench.reliability.load"} <= set(names)
    for name in names:
        importlib.import_module(name)  # a package's __main__ runs nothing on import


def test_the_served_app_runs_the_selector_the_settings_name(tmp_path, monkeypatch):
    """bench-speed times one selector in process and over HTTP, whatever QA_SELECTOR the shell holds."""
    from bench.speed import server

    seen = {}

    def popen(cmd, env, **kwargs):
        seen.update(env)
        raise OSError("not started in this test")

    monkeypatch.setenv("QA_SELECTOR", "shipped")
    monkeypatch.setattr(server.subprocess, "Popen", popen)
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", selector="none")
    with pytest.raises(OSError):
        server.serve(settings, workers=1)
    assert seen["QA_SELECTOR"] == "none" and seen["QA_INDEX_DIR"] == str(tmp_path / "index")

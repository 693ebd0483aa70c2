"""`make bench-speed`: latency, throughput, build, memory and scale of qa as ratios against bare encoding.

Usage: python -m bench.speed [--quick] [--skip-scale] [--out bench/out] [--selector shipped|PATH|none]
Every comparison is measured in the same run, interleaved where it can be, because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common.data import OUT_DIR, REPO
from bench.common.stats import machine, ratio, rss_mb
from bench.speed import build as speed_build
from bench.speed import latency as speed_latency
from bench.speed import load as speed_load
from bench.speed.corpus import questions, write_corpus
from bench.speed.server import serve
from qa.config import Settings
from qa.http.server import WORKER_THREADS
from qa.http.threads import cores, limit_threads, threads_per_process
from qa.index.embedder import WEIGHT_FILES, bundled_model_path
from qa.service import QAService

FULL = {"articles": 10, "questions": 220, "load_seconds": 10.0, "concurrency": (1, 4, 16), "scale_max": 1_000_000}
QUICK = {"articles": 1, "questions": 40, "load_seconds": 3.0, "concurrency": (1, 4, 16), "scale_max": 10_000}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the report and write it with its JSON to --out."""
    parser = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: finishes in under 2 minutes")
    parser.add_argument("--skip-scale", action="store_true", help="leave out the generated-corpus scale runs")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--selector",
        default=Settings.from_env().selector,
        help="the answer selector timed, in process and served alike [env QA_SELECTOR; default: shipped]",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    workers = cores()
    threads = threads_per_process(workers)
    limit_threads(threads)  # the same per-process threads as each served worker, so ratios compare like with like
    results: dict = {"machine": machine(), "quick": args.quick, "workers": workers, "threads_per_process": threads}

    work = args.out / ("speed-quick" if args.quick else "speed")
    settings = Settings(corpus_dir=work / "corpus", index_dir=work / "index", selector=args.selector)
    doc_ids = write_corpus(settings.corpus_dir, plan["articles"])
    qs = questions(doc_ids, plan["questions"])
    service = QAService(settings)
    results["selector"] = service.selector.identity if service.selector else "none"

    _step("build")
    results["build"] = speed_build.measure(settings, service)
    _step("latency (one question at a time)")
    served = serve(settings, workers)
    try:
        service.ask(qs[0])  # first-call costs (lazy tables) are paid before timing, as the server's warm-up does
        results["latency"] = speed_latency.measure(service, qs, served.port)
        _step("throughput")
        results["throughput"] = _throughput(served, qs, plan, workers)
        results["memory"] = _memory(settings, served)
    finally:
        served.stop()
    if not args.skip_scale:
        _step("scale (generated corpus)")
        from bench.speed import scale as speed_scale

        results["scale"] = speed_scale.measure(plan["scale_max"], qs, service.embedder, settings.index_dir)
    results["seconds"] = round(time.monotonic() - started, 1)

    args.out.mkdir(parents=True, exist_ok=True)
    name = "speed-quick" if args.quick else "speed"
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=2))
    from bench.speed import report as speed_report  # imported late: the JSON above is kept even if rendering fails

    report = speed_report.markdown(results)
    (args.out / f"{name}.md").write_text(report)
    print(report)
    return 0


def _step(name: str) -> None:
    print(f"[bench-speed] {name} ...", file=sys.stderr, flush=True)


def _throughput(served, qs: list[str], plan: dict, workers: int) -> dict:
    """Served requests/s at each concurrency, between two measurements of the bare encode rate."""
    seconds = plan["load_seconds"]
    served_runs = {}
    rate_before = speed_load.bare_encode_rate(qs, workers, threads_per_process(workers), seconds)
    for c in plan["concurrency"]:
        served_runs[str(c)] = speed_load.load_test(served.port, qs, c, seconds)
    rate_after = speed_load.bare_encode_rate(qs, workers, threads_per_process(workers), seconds)
    # Context for the ratios: a worker encodes the questions that wait for its model together (qa/index/batcher.py),
    # at most as many as it has request threads, so this is the ceiling of what batching can give.
    batched = speed_load.bare_encode_rate(qs, workers, threads_per_process(workers), seconds, WORKER_THREADS)
    bare = (rate_before + rate_after) / 2
    for run in served_runs.values():
        run["vs_bare_rate"] = ratio(run["requests_per_s"], bare)
    return {
        "bare_encode_per_s": round(bare, 1),
        "bare_encode_per_s_runs": [round(rate_before, 1), round(rate_after, 1)],
        "bare_processes": workers,
        "batched_encode_per_s": round(batched, 1),
        "batch": WORKER_THREADS,
        "served": served_runs,
    }


def _memory(settings: Settings, served) -> dict:
    """Resident size of each serving worker vs a process holding only the model, and sizes on disk."""
    model_dir = Path(bundled_model_path())
    model_bytes = sum(p.stat().st_size for p in model_dir.rglob("*") if p.name in WEIGHT_FILES)
    index_bytes = sum(p.stat().st_size for p in Path(settings.index_dir).rglob("*") if p.is_file())
    code = (
        "from qa.index.embedder import SentenceTransformerEmbedder as E; from bench.common.stats import rss_mb;"
        "E().encode(['warm up']); print(rss_mb())"
    )
    model_only = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout)
    workers = [round(rss_mb(pid), 1) for pid in served.worker_pids()]
    return {
        "worker_rss_mb": workers,
        "model_only_process_rss_mb": round(model_only, 1),
        "model_on_disk_mb": round(model_bytes / 2**20, 1),
        "index_on_disk_mb": round(index_bytes / 2**20, 1),
        "worker_minus_model_process_mb": round(max(workers) - model_only, 1),
    }


if __name__ == "__main__":
    sys.exit(main())

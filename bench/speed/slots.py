"""Served throughput with and without the per-worker encode slots and batching, in alternating rounds.

Usage: python -m bench.speed.slots [--rounds 3] [--seconds 5] [--concurrency 16]

Two `qa serve --workers <cores>` run side by side over the 10-article benchmark index: one as shipped
(QA_ENCODE_SLOTS unset: as many slots as torch threads, waiting questions batched), one with
QA_ENCODE_SLOTS=0 (no limit, no batching). Each round measures the bare encode rate, then loads each server
in turn, so all three share the machine's state.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.common.data import OUT_DIR
from bench.common.stats import ratio
from bench.speed.corpus import questions, write_corpus
from bench.speed.load import bare_encode_rate, load_test
from bench.speed.server import cpu_ticks, serve
from qa.config import Settings
from qa.http.threads import cores, threads_per_process
from qa.service import QAService


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    work = args.out / "speed"
    settings = Settings(corpus_dir=work / "corpus", index_dir=work / "index")
    qs = questions(write_corpus(settings.corpus_dir, 10), 220)
    QAService(settings).build()
    workers = cores()
    servers = {"slots": serve(settings, workers), "no limit": serve(settings, workers, env={"QA_ENCODE_SLOTS": "0"})}
    rounds = []
    try:
        for served in servers.values():
            load_test(served.port, qs, args.concurrency, 2.0)  # warm-up
        for _ in range(args.rounds):
            bare = bare_encode_rate(qs, workers, threads_per_process(workers), args.seconds)
            row = {"bare_per_s": round(bare, 1)}
            for name, served in servers.items():
                pids = served.worker_pids()
                before, started = [cpu_ticks(pid) for pid in pids], time.perf_counter()
                run = load_test(served.port, qs, args.concurrency, args.seconds)
                elapsed = time.perf_counter() - started
                cpu = [(cpu_ticks(pid) - b) / 100 for pid, b in zip(pids, before, strict=True)]  # 100 ticks/s
                row[name] = {
                    "worker_cpu_share": [round(c / elapsed, 2) for c in cpu],  # of one core, per worker
                    "cpu_ms_per_request": round(1000 * sum(cpu) / max(1, run["requests_per_s"] * args.seconds), 1),
                    "requests_per_s": round(run["requests_per_s"], 1),
                    "vs_bare": ratio(run["requests_per_s"], bare),
                    "p50_ms": run.get("latency_ms", {}).get("p50"),
                    "p99_ms": run.get("latency_ms", {}).get("p99"),
                    "errors": run["non_2xx"] + run["socket_errors"],
                }
            rounds.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        for served in servers.values():
            served.stop()
    print(f"concurrency {args.concurrency}, {workers} workers, {args.seconds:g} s per load")
    print("| round | bare encode /s | with slots: req/s (x bare), p50 ms, worker CPU | no limit: the same |")
    print("|---|---|---|---|")
    for i, r in enumerate(rounds, 1):
        cells = [
            f"{r[n]['requests_per_s']} ({r[n]['vs_bare']}x), {r[n]['p50_ms']} ms, {r[n]['worker_cpu_share']}"
            f" ({r[n]['cpu_ms_per_request']} ms/request)"
            for n in servers
        ]
        print(f"| {i} | {r['bare_per_s']} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load on the production server over loopback: N connections asking at once, latency and memory over time.

Usage: python -m bench.reliability.load [--connections 32] [--seconds 60] [--requests 10000] [--max-seconds 900]

Phase one holds `--connections` client sessions (the server closes each connection after its response) for
`--seconds`; phase two goes on until `--requests` have been answered in all (bounded by --max-seconds),
sampling the servers' resident memory as it goes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.common.stats import percentile
from bench.reliability.live import production_server, request_counts

QUESTIONS = (
    "What is hemifacial spasm?",
    "Which arteries compress the facial nerve?",
    "How is hemifacial spasm treated?",
    "Is botulinum toxin a treatment for facial twitching?",
    "What causes facial twitching?",
    "Who won the 1998 football World Cup?",
    "What is the capital of Australia?",
    "Can stress make the eyelid twitch?",
)


def server_rss_kib(base_pid: int) -> int:
    """Resident memory of the gunicorn arbiter and its workers, in KiB."""
    pids = [base_pid]
    try:
        children = Path(f"/proc/{base_pid}/task/{base_pid}/children").read_text().split()
        pids += [int(p) for p in children]
    except OSError:
        pass
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class Load:
    """Connections that ask in a loop until told to stop or a request budget is spent."""

    def __init__(self, base: str, connections: int) -> None:
        self.base = base
        self.connections = connections
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.done = 0
        self.budget = 0
        self.stop_at = 0.0
        self.lock = threading.Lock()

    def _take(self) -> bool:
        with self.lock:
            if self.done >= self.budget or time.monotonic() >= self.stop_at:
                return False
            self.done += 1
            return True

    def _worker(self, n: int) -> None:
        session = requests.Session()
        i = n
        while self._take():
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            started = time.perf_counter()
            try:
                response = session.post(f"{self.base}/api/ask", json={"question": question}, timeout=60)
                ok = response.status_code == 200 and "citations" in response.json()
                problem = None if ok else f"{response.status_code} {response.text[:200]}"
            except (requests.RequestException, ValueError) as exc:
                problem = repr(exc)
            elapsed = time.perf_counter() - started
            with self.lock:
                self.latencies.append(elapsed)
                if problem:
                    self.errors.append(problem)

    def run(self, budget: int, seconds: float) -> None:
        """Ask until `budget` requests in all or `seconds` from now, whichever comes first."""
        self.budget, self.stop_at = budget, time.monotonic() + seconds
        threads = [threading.Thread(target=self._worker, args=(n,)) for n in range(self.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--max-seconds", type=float, default=900, help="bound on the whole run")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    pids: list[int] = []
    with (
        tempfile.TemporaryDirectory(prefix="qa-load-") as tmp,
        production_server(Path(tmp), args.workers, pids) as base,
    ):
        pid = pids[0]
        load = Load(base, args.connections)
        load.run(budget=200, seconds=120)  # warm-up: every worker has answered before memory is sampled
        warm_errors = len(load.errors)
        load = Load(base, args.connections)
        memory = [(0, server_rss_kib(pid))]
        started = time.monotonic()
        load.run(budget=10**9, seconds=args.seconds)
        held = time.monotonic() - started
        first = {
            "requests": load.done,
            "seconds": round(held, 1),
            "per_second": round(load.done / held, 1),
            "errors": len(load.errors),
            "p50_ms": round(statistics.median(load.latencies) * 1000, 1),
            "p99_ms": round(percentile(load.latencies, 99) * 1000, 1),
        }
        print(json.dumps({"phase": "hold", **first}), flush=True)
        memory.append((load.done, server_rss_kib(pid)))
        deadline = started + args.max_seconds
        while load.done < args.requests and time.monotonic() < deadline:
            step = min(args.requests, load.done + 1000)
            load.run(budget=step, seconds=deadline - time.monotonic())
            memory.append((load.done, server_rss_kib(pid)))
            print(json.dumps({"requests": load.done, "rss_mib": round(memory[-1][1] / 1024, 1)}), flush=True)
        counts = request_counts(base)
    growth = memory[-1][1] - memory[0][1]
    summary = {
        "hold": first,
        "total_requests": load.done,
        "total_errors": len(load.errors) + warm_errors,
        "error_samples": load.errors[:5],
        "server_5xx": counts.get("5xx", 0),
        "rss_mib_by_requests": {n: round(m / 1024, 1) for n, m in memory},
        "rss_growth_mib": round(growth / 1024, 1),
        "p50_ms_all": round(statistics.median(load.latencies) * 1000, 1),
        "p99_ms_all": round(percentile(load.latencies, 99) * 1000, 1),
    }
    print(json.dumps(summary))
    sys.exit(0 if not summary["total_errors"] and not summary["server_5xx"] else 1)


if __name__ == "__main__":
    main()

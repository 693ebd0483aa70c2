"""Starting `qa serve --workers N` as the benchmark's served app, and talking to it over loopback."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from qa.config import Settings


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    """A running gunicorn app on loopback."""

    proc: subprocess.Popen
    port: int
    workers: int

    def worker_pids(self) -> list[int]:
        """Process ids of the gunicorn workers (children of the master)."""
        pids = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            children = (task / "children").read_text().split()
            pids.extend(int(p) for p in children)
        return pids

    def stop(self) -> None:
        """Stop the master (it stops its workers) and wait for it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def serve(settings: Settings, workers: int, timeout: float = 180.0, env: dict | None = None) -> Served:
    """Start `qa serve --workers N` over the settings' index and wait until every worker answers."""
    port = free_port()
    paths = {"QA_CORPUS_DIR": str(settings.corpus_dir), "QA_INDEX_DIR": str(settings.index_dir)}
    env = {**os.environ, **paths, "QA_SELECTOR": settings.selector, **(env or {})}
    env.setdefault("QA_RATE_LIMIT", "0")  # every load-test connection comes from one address: it would answer 429s
    cmd = [sys.executable, "-m", "qa", "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    served = Served(proc, port, workers)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            served.stop()
            raise RuntimeError(f"qa serve did not come up on port {port}")
        try:
            if get(port, "/api/health")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.5)
    # One worker answering does not mean the others have loaded: wait until every worker sits idle.
    while time.monotonic() < deadline:
        pids = served.worker_pids()
        before = [cpu_ticks(p) for p in pids]
        time.sleep(1.0)
        after = [cpu_ticks(p) for p in pids]
        if len(pids) == workers and all(a - b <= 2 for a, b in zip(after, before, strict=True)):
            break
    return served


def cpu_ticks(pid: int) -> int:
    """User plus system CPU ticks a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def get(port: int, path: str) -> tuple[int, bytes]:
    """Status and body of one GET."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Client:
    """One keep-alive connection posting questions to /api/ask."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def ask(self, question: str) -> dict:
        """The JSON answer; raises on any status but 200."""
        body = json.dumps({"question": question})
        self.conn.request("POST", "/api/ask", body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST /api/ask answered {response.status}: {data[:200]!r}")
        return json.loads(data)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

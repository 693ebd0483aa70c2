"""Throughput: the served app under wrk at several concurrencies vs the machine's bare encode rate."""

from __future__ import annotations

import json
import multiprocessing as mp
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.speed.server import Client

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _encode_loop(questions: list[str], seconds: float, threads: int, batch: int, ready, start, out) -> None:
    """In a fresh process: encode `batch` questions per call for `seconds`; put the count in `out`."""
    from qa.http.threads import limit_threads
    from qa.index.embedder import SentenceTransformerEmbedder

    limit_threads(threads)
    model = SentenceTransformerEmbedder().model
    model.encode(["warm up"])
    ready.put(True)
    start.wait()
    count, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        model.encode([questions[(count + i) % len(questions)] for i in range(batch)])
        count += batch
    out.put(count)


def bare_encode_rate(questions: list[str], processes: int, threads: int, seconds: float, batch: int = 1) -> float:
    """Questions per second encoded `batch` at a time by `processes` processes of `threads` threads each."""
    ctx = mp.get_context("spawn")  # no forked torch state
    ready, start, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    args = (questions, seconds, threads, batch, ready, start, out)
    procs = [ctx.Process(target=_encode_loop, args=args) for _ in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)  # all have loaded the model: now they encode side by side
    start.set()
    total = sum(out.get(timeout=seconds + 180) for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def wrk_script(questions: list[str], folder: Path) -> Path:
    """A wrk Lua script posting the questions in turn."""
    bodies = ",\n".join(f"[==[{json.dumps({'question': q})}]==]" for q in questions)
    path = folder / "ask.lua"
    path.write_text(
        f"local bodies = {{\n{bodies}\n}}\nlocal i = 0\n"
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        "request = function()\n  i = i % #bodies + 1\n"
        '  return wrk.format(nil, "/api/ask", nil, bodies[i])\nend\n'
    )
    return path


def parse_wrk(output: str) -> dict:
    """Requests/s, error counts and latency percentiles from `wrk --latency` output."""
    rate = float(re.search(r"Requests/sec:\s*([\d.]+)", output).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    errors = re.search(r"Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)", output)
    latency = {
        f"p{pct}": round(float(value) * _UNITS[unit], 2)
        for pct, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    }
    return {
        "requests_per_s": rate,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "latency_ms": latency,
    }


def run_wrk(port: int, questions: list[str], connections: int, seconds: float) -> dict:
    """One wrk run against POST /api/ask."""
    with tempfile.TemporaryDirectory() as tmp:
        script = wrk_script(questions, Path(tmp))
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script)]
        cmd.append(f"http://127.0.0.1:{port}")
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=True)
    return dict(parse_wrk(result.stdout), tool="wrk")


def run_threads(port: int, questions: list[str], connections: int, seconds: float) -> dict:
    """The same load from Python threads, for machines without wrk (slower client, same server)."""
    counts, errors = [0] * connections, [0] * connections
    deadline = time.perf_counter() + seconds

    def loop(slot: int) -> None:
        client, i = Client(port), slot
        while time.perf_counter() < deadline:
            try:
                client.ask(questions[i % len(questions)])
                counts[slot] += 1
            except (OSError, RuntimeError):
                errors[slot] += 1
                client.close()
                client = Client(port)
            i += connections
        client.close()

    threads = [threading.Thread(target=loop, args=(s,)) for s in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"requests_per_s": sum(counts) / seconds, "non_2xx": sum(errors), "socket_errors": 0, "tool": "threads"}


def load_test(port: int, questions: list[str], connections: int, seconds: float) -> dict:
    """wrk when installed, else the Python client."""
    if shutil.which("wrk"):
        return run_wrk(port, questions, connections, seconds)
    return run_threads(port, questions, connections, seconds)

"""Real `qa serve` processes on free loopback ports, over a copy of the repository's corpus and its real index."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.helpers import DEFAULT_CORPUS, REPO

ADMIN_TOKEN = "live-admin-token"
READY_TRIES = 1200  # a bound on polling for start-up (each try waits a quarter second)


def _env(corpus: Path, index: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(index), PYTHONUNBUFFERED="1", QA_RATE_LIMIT="0")
    return dict(env, **extra)


@functools.cache
def _built(root: Path) -> Path:
    """The repository's corpus with an index built by the real model, once per test session."""
    shutil.copytree(DEFAULT_CORPUS, root / "corpus")
    qa_build(root / "corpus", root / "index")
    return root


def real_site(tmp_path_factory, name: str) -> tuple[Path, Path]:
    """A private (corpus, index) pair: a copy of the session's real build, which a test may change."""
    built = _built(tmp_path_factory.getbasetemp() / "real-index")
    site = tmp_path_factory.mktemp(name)
    shutil.copytree(built / "corpus", site / "corpus")
    shutil.copytree(built / "index", site / "index")
    return site / "corpus", site / "index"


def qa_build(corpus: Path, index: Path) -> None:
    """Run `qa build` as another process would, beside any server."""
    subprocess.run([sys.executable, "-m", "qa", "build"], env=_env(corpus, index), check=True, cwd=REPO)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(
    corpus: Path, index: Path, log: Path, *args: str, pids: list[int] | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run `qa serve` with the admin token set (and env's variables); yield its base URL once /api/health
    answers 200 (its pid to pids)."""
    port = free_port()
    command = [sys.executable, "-m", "qa", "serve", "--port", str(port), *args]
    environment = _env(corpus, index, QA_ADMIN_TOKEN=ADMIN_TOKEN, **(env or {}))
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    if pids is not None:
        pids.append(process.pid)
    try:
        for _ in range(READY_TRIES):
            if process.poll() is not None:
                raise AssertionError(f"qa serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                if requests.get(f"{base}/api/health", timeout=30).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or gunicorn is listening while its workers still load the model
            time.sleep(0.25)
        else:
            raise AssertionError(f"qa serve did not become ready:\n{log.read_text()}")
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen, grace: float = 30) -> None:
    """Terminate a process we started, killing it if it has not ended after `grace` seconds."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

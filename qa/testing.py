"""What tests and benchmarks share: a deterministic fake embedder, corpus files, and real `qa serve` processes."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from qa.text.terms import terms

# Not used by the product itself. The server helpers run `python -m qa` in the source checkout (REPO), so they
# serve the code under test; they need the dev extra (requests).
REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO / "corpus"
ADMIN_TOKEN = "live-admin-token"
READY_TRIES = 1200  # a bound on polling for start-up (each try waits a quarter second)


class HashEmbedder:
    """Deterministic bag-of-terms vectors: fast and lexical, for tests where the model is not the point."""

    def __init__(self, dimension: int = 256) -> None:
        self.name = f"hash-{dimension}"
        self.dimension = dimension
        self.fingerprint = f"hash-{dimension}"
        self.calls = 0
        self.texts_encoded = 0

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """One normalized vector per text; identical texts give identical vectors."""
        self.calls += 1
        self.texts_encoded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                h = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: text or bytes} below root (created) and return root."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(content)
    return root


# Hostile documents (tests/test_hostile.py, bench.reliability.hostile).
SCRIPT_HTML = """<html><head><title>Tricks</title><script>alert('head')</script></head>
<body onload="alert('body')"><main>
<h1>Storm petrels</h1>
<p onclick="alert('click')">Storm petrels <b onmouseover="alert(1)">feed</b> on plankton far out at sea.</p>
<script>document.title = 'pwned'</script><noscript>Enable scripts</noscript>
<p><a href="javascript:alert(2)">A link</a> and <img src=x onerror="alert(3)"> an image.</p>
<iframe src="javascript:alert(4)"></iframe><style>body { display: none }</style>
</main></body></html>"""
LONG_LINE = " ".join(["the keeper climbs the tower stair and lights the lamp"] * 4000)  # ~210 KB, one line
GOOD = "Lighthouses\nThe Fresnel lens concentrates the light of a small lamp into a beam.\n"


def hostile_corpus(root: Path, outside: Path) -> Path:
    """A corpus of broken, hostile and linked-outside files at root (the outside folder written too)."""
    write_files(outside, {"secret.txt": "The vault code is 4711. Nobody outside may read it.\n"})
    corpus = write_files(
        root,
        {
            "good.txt": GOOD,
            "binary.txt": bytes(range(256)) * 64,
            "latin1.md": "Caf\xe9 au lait \xe0 la cr\xe8me".encode("latin-1"),
            "empty.txt": b"",
            "blank.md": "   \n\t\n",
            "big.txt": "A line of text that repeats.\n" * 40_000,  # ~1.1 MB: over a 1 MB max_file_mb
            "long-line.txt": LONG_LINE,
            "no-spaces.txt": "x" * 50_000,
            "scripts.html": SCRIPT_HTML,
            "fake.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 8,
            "control.txt": "Tab\there, bell \a, escape \x1b[31m red, and a form feed \f in a line of text.",
        },
    )
    (corpus / "outside-file.txt").symlink_to(outside / "secret.txt")
    (corpus / "outside-dir").symlink_to(outside, target_is_directory=True)
    (corpus / "dangling.md").symlink_to(root / "nowhere.md")
    (corpus / "loop.txt").symlink_to(corpus / "loop.txt")
    return corpus


def server_env(corpus: Path, index: Path, **extra: str) -> dict[str, str]:
    """The environment of a `qa` process over corpus and index, without the rate limit."""
    env = dict(os.environ, QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(index), PYTHONUNBUFFERED="1", QA_RATE_LIMIT="0")
    return dict(env, **extra)


def qa_build(corpus: Path, index: Path) -> None:
    """Run `qa build` as another process would, beside any server."""
    subprocess.run([sys.executable, "-m", "qa", "build"], env=server_env(corpus, index), check=True, cwd=REPO)


def free_port() -> int:
    """A loopback port that was free a moment ago."""
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
    env = server_env(corpus, index, QA_ADMIN_TOKEN=ADMIN_TOKEN, **(env or {}))
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    if pids is not None:
        pids.append(process.pid)
    try:
        wait_ready(base, process, log)
        yield base
    finally:
        stop(process)


def wait_ready(base: str, process: subprocess.Popen, log: Path) -> None:
    """Return once `qa serve` at base answers /api/health with 200; fail with its log if it exits or never does."""
    import requests  # the dev extra; the product never imports this module

    for _ in range(READY_TRIES):
        if process.poll() is not None:
            raise AssertionError(f"qa serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/api/health", timeout=30).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or gunicorn is listening while its workers still load the model
        time.sleep(0.25)
    raise AssertionError(f"qa serve did not become ready:\n{log.read_text()}")


def stop(process: subprocess.Popen, grace: float = 30) -> None:
    """Terminate a process we started, killing it if it has not ended after `grace` seconds."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def in_own_network(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run a command in a network namespace of its own, where 127.0.0.1 is the only address.

    Ray binds and advertises the machine's other interfaces even when told 127.0.0.1; inside the namespace
    a cluster of several nodes can reach nothing but loopback, so tests and benchmarks send traffic nowhere else.
    """
    script = 'ip link set lo up && exec "$@"'
    return subprocess.run(
        ["unshare", "--net", "sh", "-c", script, "sh", *command], capture_output=True, text=True, timeout=timeout
    )


def local_ray_cluster(nodes: int = 2, cpus: int = 1, dashboard: bool = False):
    """A Ray cluster of `nodes` nodes on 127.0.0.1 (ray.cluster_utils.Cluster); call inside in_own_network.
    With the dashboard, Ray's state API (ray.util.state) answers."""
    from ray.cluster_utils import Cluster

    node = {"num_cpus": cpus, "node_ip_address": "127.0.0.1", "object_store_memory": 128 * 2**20}
    head = dict(node, include_dashboard=dashboard, dashboard_host="127.0.0.1")
    cluster = Cluster(initialize_head=True, head_node_args=head)
    for _ in range(nodes - 1):
        cluster.add_node(**node)
    cluster.wait_for_nodes()
    return cluster

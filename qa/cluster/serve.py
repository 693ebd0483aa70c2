"""Serving from a Ray cluster: one Serve deployment per shard, and a router that answers.

Each shard deployment loads its folder (memory-mapped) and answers the one narrow call of a shard,
ShardSearcher.candidates. The router holds the model and the index's tables (memory-mapped; no FAISS index),
encodes questions in batches (`@serve.batch`) and runs QAService.ask, the single-host code, with each shard's
searcher a RemoteShard. A shard that does not answer within QA_SHARD_TIMEOUT is left out and the answer says so.
The web front (qa.cluster.front) holds neither model nor index: it sends every question to the router over HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import numpy as np
import ray
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse

from qa.cluster.join import join
from qa.cluster.options import ASKS_AT_ONCE, ROUTER_CPUS, SHARD_CPUS, ServeOptions
from qa.config import Settings
from qa.errors import ClusterError, QAError
from qa.index.shards import shard_folders
from qa.index.store import manifest_stamp, read_manifest
from qa.search.shards import Candidates, ShardSearcher, ShardUnavailable

APP = "qa"  # the Serve application's name
ROUTE = "/qa"  # its route on the Serve HTTP proxy
DEPLOY_SECONDS = 600  # for every replica to start (the routers load the model)
OPERATIONS = ("ask", "search", "info", "document", "collection")

log = logging.getLogger(__name__)


def served_shards(index_dir: Path) -> dict[str, Path]:
    """Each shard's deployment name and folder; an ordinary index is one shard."""
    manifest = read_manifest(index_dir)
    if not manifest.shards:
        return {"shard-000": Path(index_dir)}
    return {folder.name: folder for folder in shard_folders(index_dir, manifest)}


class ShardServer:
    """One shard's searcher; it reads its folder again when a build has replaced the index."""

    def __init__(self, folder: str, mmap: bool = True) -> None:
        self.folder, self.mmap = Path(folder), mmap
        self.stamp: tuple = ()
        self._open()

    def _open(self) -> None:
        stamp = manifest_stamp(self.folder)
        self.version = read_manifest(self.folder).index_version
        self.searcher = ShardSearcher.open(self.folder, self.mmap)
        self.stamp = stamp

    def candidates(
        self, query_vector: list[float] | None, terms: list[str] | None, depth: int, allowed: list[int] | None
    ) -> tuple[str, Candidates]:
        """The shard's index version and its candidates (ShardSearcher.candidates)."""
        if manifest_stamp(self.folder) != self.stamp:
            self._open()
        vector = None if query_vector is None else np.asarray(query_vector, dtype=np.float32)
        among = None if allowed is None else np.asarray(allowed, dtype=np.int64)
        return self.version, self.searcher.candidates(vector, terms, depth, among)

    def check(self) -> str:
        """The index version it serves (a health probe)."""
        return self.version


class RemoteShard:
    """A shard deployment seen through ShardSearcher's call; its answers must come from the router's index."""

    def __init__(self, name: str, handle, version: str, timeout: float) -> None:
        self.name, self.handle, self.version, self.timeout = name, handle, version, timeout

    def submit(
        self, query_vector: np.ndarray | None, terms: list[str] | None, depth: int, allowed: np.ndarray | None
    ) -> Callable[[], Candidates]:
        """Ask the shard now; what this returns waits for its answer (ShardUnavailable when none comes in time)."""
        vector = None if query_vector is None else query_vector.tolist()
        response = self.handle.candidates.remote(vector, terms, depth, None if allowed is None else allowed.tolist())

        def result() -> Candidates:
            try:
                version, found = response.result(timeout_s=self.timeout)
            except Exception as exc:  # a timeout, a dead replica, an error in the shard: all mean no answer
                response.cancel()
                raise ShardUnavailable(self.name, f"{type(exc).__name__}: {exc}"[:200]) from None
            if version != self.version:  # mid-swap: its passage numbers are another index's
                raise ShardUnavailable(self.name, f"it serves index {version}, the router {self.version}")
            return found

        return result


class Unserved:
    """A shard of the index that no deployment serves: always missing (deploy again to serve it)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def submit(self, *query) -> Callable[[], Candidates]:
        """A result that reports the shard missing."""

        def result() -> Candidates:
            raise ShardUnavailable(self.name, "no deployment serves it; start `qa serve --ray` again")

        return result


class _LoopEncoder:
    """The router's embedder as QAService sees it: each text goes through the router's batched encode."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.name, self.fingerprint = router.model.name, router.model.fingerprint
        self.path = getattr(router.model, "path", "")

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        futures = [asyncio.run_coroutine_threadsafe(self.router.encode(t), self.router.loop) for t in texts]
        return np.stack([f.result() for f in futures])


class Router:
    """The ingress: POST ask, POST search, GET info, POST document, GET collection (JSON, qa's error shape)."""

    def __init__(self, settings: Settings, shards: dict, timeout: float) -> None:
        import torch

        from qa.index.embedder import SentenceTransformerEmbedder
        from qa.service import QAService

        torch.set_num_threads(1)  # one core per replica (ROUTER_CPUS)
        self.shards, self.timeout = shards, timeout
        # Questions wait in their own threads for the model, which runs in one thread of its own: were they one
        # pool, questions waiting for the model could hold every thread it needs (a deadlock under load).
        self.asks = ThreadPoolExecutor(ASKS_AT_ONCE, thread_name_prefix="ask")
        self.encoding = ThreadPoolExecutor(1, thread_name_prefix="encode")
        self.model = SentenceTransformerEmbedder(settings.model)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.service = QAService(settings, _LoopEncoder(self), remote_shards=self._remote)

    def _remote(self, folder: Path) -> RemoteShard | Unserved:
        name = "shard-000" if folder == self.service.settings.index_dir else folder.name  # see served_shards
        if name not in self.shards:  # a rebuild made a shard that was not there when this application started
            return Unserved(name)
        return RemoteShard(name, self.shards[name], read_manifest(folder).index_version, self.timeout)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.002)
    async def encode(self, texts: list[str]) -> list[np.ndarray]:
        """Questions that arrive together are encoded in one model call."""
        return list(await asyncio.get_running_loop().run_in_executor(self.encoding, self.model.encode, texts))

    async def health(self) -> list[str]:
        """The shards that do not answer a probe in time, and those of the index that no deployment serves."""

        async def probe(handle) -> bool:
            try:
                await asyncio.wait_for(handle.check.remote(), self.timeout)
                return True
            except Exception:
                return False

        answers = await asyncio.gather(*(probe(h) for h in self.shards.values()))
        down = [name for name, ok in zip(self.shards, answers, strict=True) if not ok]
        loaded = (await self._run(self.service.load)).retriever.shards
        return down + sorted(s.name for _, _, s in loaded if isinstance(s, Unserved))

    async def __call__(self, request: Request) -> JSONResponse:
        self.loop = asyncio.get_running_loop()
        operation = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if operation not in OPERATIONS:
            return JSONResponse({"error": {"code": "not_found", "message": f"no operation {operation!r}"}}, 404)
        try:
            body = await request.json() if request.method == "POST" else {}
            return JSONResponse(await self._answer(operation, body))
        except QAError as exc:
            return JSONResponse({"error": {"code": exc.code, "message": str(exc)}}, exc.status)
        except Exception:
            log.exception("router error")
            return JSONResponse({"error": {"code": "internal_server_error", "message": "router error"}}, 500)

    async def _answer(self, operation: str, body: dict) -> dict:
        service = self.service
        if operation == "ask":
            return (await self._run(service.ask, **body)).to_dict()
        if operation == "search":
            search_query, results = await self._run(service.search, **body)
            return {"search_query": search_query, "results": [asdict(r) for r in results]}
        if operation == "info":
            info = await self._run(service.info)
            return {**info, "shards_unhealthy": await self.health()}
        if operation == "document":
            return {"document": await self._run(service.document, body["doc_id"])}
        return await self._run(service.collection)

    async def _run(self, call, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(self.asks, partial(call, *args, **kwargs))


def deploy(settings: Settings, options: ServeOptions) -> str:
    """Start (or update) the Serve application on the connected cluster; the router's URL."""
    # The replicas run in other processes, perhaps on other machines: the folders by their full paths.
    settings = replace(settings, corpus_dir=settings.corpus_dir.resolve(), index_dir=settings.index_dir.resolve())
    serve.start(http_options={"host": "127.0.0.1", "port": options.serve_port})
    shard_app = serve.deployment(ShardServer)
    shards = {
        name: shard_app.options(name=name, **options.shard()).bind(str(folder), settings.index_mmap)
        for name, folder in served_shards(settings.index_dir).items()
    }
    router = serve.deployment(Router).options(name="router", **options.router())
    serve.run(router.bind(settings, shards, settings.shard_timeout), name=APP, route_prefix=ROUTE)
    return f"http://127.0.0.1:{options.serve_port}{ROUTE}"


def running_replicas() -> dict[str, list[dict]]:
    """Each deployment of the application and its live replicas (node_id, actor_name, namespace), from Ray's
    state API (the cluster's dashboard must run; `ray start --head` starts it): where replicas run."""
    import ray
    from ray.util.state import list_actors

    prefix, found = f"ServeReplica:{APP}:", {}
    # The connected cluster's own address: left to find one, Ray picks the newest cluster on the machine.
    address = ray.get_runtime_context().gcs_address
    for actor in list_actors(address=address, filters=[("state", "=", "ALIVE")], limit=10_000):
        if actor.class_name.startswith(prefix):
            replica = {"node_id": actor.node_id, "actor_name": actor.name, "namespace": actor.ray_namespace}
            found.setdefault(actor.class_name[len(prefix) :], []).append(replica)
    return found


@contextmanager
def served(settings: Settings, options: ServeOptions):
    """The application deployed on the cluster for as long as the block runs; settings naming its router.

    A child process deploys it and another deletes it afterwards: this one stays out of the cluster, since
    gunicorn forks its workers from it (they only speak HTTP to the router).
    """
    try:
        _in_child("deploy", settings, options)
    except ClusterError:
        with suppress(ClusterError):  # what did start goes too
            _in_child("delete", settings, options)
        raise
    try:
        yield settings.updated(router=f"http://127.0.0.1:{options.serve_port}{ROUTE}")
    finally:
        _in_child("delete", settings, options)


def _in_child(*job: object) -> None:
    command = [sys.executable, "-m", "qa.cluster.serve"]
    try:
        run = subprocess.run(command, input=pickle.dumps(job), capture_output=True, timeout=DEPLOY_SECONDS)
    except subprocess.TimeoutExpired:
        raise ClusterError(
            f"the application did not start within {DEPLOY_SECONDS} s: the cluster may lack the CPUs it asks for "
            f"({ROUTER_CPUS:g} a router replica, {SHARD_CPUS:g} a shard replica; `ray status` shows what is free)"
        ) from None
    if run.returncode != 0:
        lines = run.stderr.decode(errors="replace").strip().splitlines() or ["(no message)"]
        raise ClusterError(f"cannot {job[0]} the application on the Ray cluster: {lines[-1]}")


def _child(action: str, settings: Settings, options: ServeOptions) -> None:
    join(options.address)
    try:
        if action == "deploy":
            deploy(settings, options)
        else:
            serve.delete(APP)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    try:
        _child(*pickle.loads(sys.stdin.buffer.read()))
    except Exception as exc:
        sys.exit(f"{type(exc).__name__}: {exc}")

"""Shards served elsewhere: a shard that does not answer leaves a marked partial answer, never a silent one.

The shards here are in-process stand-ins behind the same `submit` call the Ray Serve shards answer
(qa.cluster.serve.RemoteShard); tests/test_cluster.py runs the real ones on a real cluster.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qa.config import Settings
from qa.errors import ClusterError, IndexNotFound, InvalidRequest
from qa.http.app import create_app
from qa.index.store import read_manifest
from qa.search.answerer import Answer
from qa.search.shards import ShardSearcher, ShardUnavailable
from qa.service import QAService
from tests.helpers import GENERIC_FILES, HashEmbedder, write_files
from tests.web_helpers import COMETS, WEB_FILES, check_schema

FILES = {**GENERIC_FILES, **WEB_FILES, "space/comets.txt": COMETS}


class StandIn:
    """A shard's searcher that answers through `submit`, or fails as a shard that is down."""

    def __init__(self, folder: Path, down: set[str]) -> None:
        self.name, self.down = folder.name, down
        self.searcher = ShardSearcher.open(folder)

    def submit(self, query_vector, terms, depth, allowed):
        if self.name in self.down:
            raise_down = ShardUnavailable(self.name, "TimeoutError: no answer in 3 s")

            def result():
                raise raise_down

            return result
        return self.searcher.submit(query_vector, terms, depth, allowed)


@pytest.fixture
def sharded(tmp_path: Path) -> tuple[Path, Path, HashEmbedder]:
    corpus, index, embedder = write_files(tmp_path / "corpus", FILES), tmp_path / "index", HashEmbedder()
    QAService(Settings(corpus_dir=corpus, index_dir=index), embedder).build(shards=2)
    return corpus, index, embedder


def remote_service(sharded, down: set[str]) -> QAService:
    corpus, index, embedder = sharded
    settings = Settings(corpus_dir=corpus, index_dir=index)
    return QAService(settings, embedder, remote_shards=lambda folder: StandIn(folder, down))


def test_remote_shards_answer_as_the_local_ones(sharded):
    corpus, index, embedder = sharded
    local = QAService(Settings(corpus_dir=corpus, index_dir=index), embedder)
    remote = remote_service(sharded, set())
    for question in ("How long is green tea brewed?", "How often does Halley's Comet return?", "Who wrote it?"):
        answer = remote.ask(question).to_dict()
        assert answer == local.ask(question).to_dict() and "partial" not in answer


def test_a_shard_that_does_not_answer_gives_a_marked_partial_answer(sharded):
    _, index, _ = sharded
    names = read_manifest(index).shards
    down = names[0]
    answer = remote_service(sharded, {down}).ask("How long is green tea brewed?", k=5)
    data = answer.to_dict()
    assert data["partial"] is True and data["shards_missing"] == [down]
    kept = {d for d, m in read_manifest(index / names[1]).documents.items()}
    assert {c.doc_id for c in answer.citations} <= kept  # quotes only from the shard that answered
    assert Answer.from_dict(json.loads(json.dumps(data))) == answer


def test_no_shard_answering_is_a_cluster_error_with_the_one_error_shape(sharded):
    _, index, _ = sharded
    service = remote_service(sharded, set(read_manifest(index).shards))
    with pytest.raises(ClusterError, match="no shard of the index answered"):
        service.ask("How long is green tea brewed?")
    client = create_app({"QA_SERVICE": service, "RATE_LIMIT": 0, "WARM_UP": False}).test_client()
    response = client.post("/api/ask", json={"question": "How long is green tea brewed?"})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "cluster_error"


def test_the_api_passes_the_partial_mark_on(sharded):
    _, index, _ = sharded
    down = read_manifest(index).shards[1]
    client = create_app({"QA_SERVICE": remote_service(sharded, {down}), "RATE_LIMIT": 0}).test_client()
    body = client.post("/api/ask", json={"question": "What do honey bees make?"}).get_json()
    assert body["partial"] is True and body["shards_missing"] == [down]
    check_schema(body, "Answer")


class Router(BaseHTTPRequestHandler):
    """A stand-in for the Serve router's HTTP protocol, over an in-process QAService (or failing as told)."""

    service: QAService
    fail: dict | None = None

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.fail:
            return self._reply(self.fail["status"], {"error": self.fail})
        if self.path.endswith("/ask"):
            return self._reply(200, self.service.ask(**body).to_dict())
        if self.path.endswith("/search"):
            query, results = self.service.search(**body)
            return self._reply(200, {"search_query": query, "results": [asdict(r) for r in results]})
        return self._reply(200, {"document": self.service.document(body["doc_id"])})

    def do_GET(self):
        if self.fail:
            return self._reply(self.fail["status"], {"error": self.fail})
        return self._reply(200, {**self.service.info(), "shards_unhealthy": ["shard-001"]})

    def log_message(self, *args):
        pass


@pytest.fixture
def router(sharded):
    Router.service, Router.fail = remote_service(sharded, set()), None
    server = ThreadingHTTPServer(("127.0.0.1", 0), Router)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/qa"
    server.shutdown()
    server.server_close()


def test_the_front_answers_through_the_router_and_reports_unhealthy_shards(sharded, router):
    corpus, index, _ = sharded
    client = create_app({"QA_SETTINGS": Settings(corpus_dir=corpus, index_dir=index, router=router, rate_limit=0)})
    client = client.test_client()
    body = client.post("/api/ask", json={"question": "What do honey bees make?"}).get_json()
    assert body == Router.service.ask("What do honey bees make?").to_dict()
    health = client.get("/api/health").get_json()
    check_schema(health, "Health")
    assert health["status"] == "degraded" and health["shards_unhealthy"] == ["shard-001"] and health["shards"] == 2
    assert client.get("/api/documents/owls.txt").get_json()["doc_id"] == "owls.txt"
    assert client.get("/api/documents/none.txt").status_code == 404


def test_the_front_turns_router_errors_into_qas_own(sharded, router):
    from qa.cluster.front import RouterService

    corpus, index, _ = sharded
    front = RouterService(Settings(corpus_dir=corpus, index_dir=index, router=router))
    Router.fail = {"code": "index_not_found", "message": "no index at /srv/index; run `qa build`", "status": 503}
    with pytest.raises(IndexNotFound, match="no index at /srv/index"):
        front.ask("Why?")
    Router.fail = {"code": "something_new", "message": "odd", "status": 500}
    with pytest.raises(ClusterError, match="odd"):
        front.info()
    with pytest.raises(InvalidRequest):
        front.ask("   ")  # checked before anything is sent
    gone = RouterService(Settings(corpus_dir=corpus, index_dir=index, router="http://127.0.0.1:9/qa"))
    with pytest.raises(ClusterError, match="cannot reach the router"):
        gone.ask("Why?")


def test_the_command_line_asks_and_searches_through_the_router(sharded, router):
    from click.testing import CliRunner

    from qa.cli import cli

    corpus, index, _ = sharded
    env = {"QA_ROUTER": router, "QA_CORPUS_DIR": str(corpus), "QA_INDEX_DIR": str(index)}
    runner = CliRunner()
    asked = runner.invoke(cli, ["ask", "--json", "What do honey bees make?"], env=env)
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.output) == Router.service.ask("What do honey bees make?").to_dict()
    found = runner.invoke(cli, ["search", "--json", "green tea"], env=env)
    assert found.exit_code == 0, found.output
    assert json.loads(found.output)["results"][0]["doc_id"] == "tea/green-tea.md"
    Router.fail = {"code": "cluster_error", "message": "shards shard-001 did not answer; search again", "status": 503}
    failed = runner.invoke(cli, ["search", "green tea"], env=env)
    assert failed.exit_code == 1 and "shard-001 did not answer" in failed.output


def test_a_search_with_a_shard_missing_is_refused_not_silently_short(sharded):
    _, index, _ = sharded
    down = read_manifest(index).shards[0]
    with pytest.raises(ClusterError, match=f"shards {down} did not answer"):
        remote_service(sharded, {down}).search("green tea")


def test_serve_options_give_the_router_a_fixed_count_or_an_autoscaling_range():
    from qa.cluster.options import ServeOptions

    fixed = ServeOptions("head:6379", replicas=2).router()
    assert fixed["num_replicas"] == 2 and "autoscaling_config" not in fixed
    scaled = ServeOptions("head:6379", replicas=1, max_replicas=4).router()
    assert scaled["num_replicas"] == "auto"
    assert {k: scaled["autoscaling_config"][k] for k in ("min_replicas", "max_replicas")} == {
        "min_replicas": 1,
        "max_replicas": 4,
    }
    assert ServeOptions(None, replicas=3, max_replicas=2).router()["num_replicas"] == 3  # a range below: fixed
    assert ServeOptions(None, shard_replicas=2).shard()["num_replicas"] == 2

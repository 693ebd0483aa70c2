"""Deployed as operators deploy it: Debian's nginx in front of `qa serve --workers 2`, limits counted in a real
redis-server; both started here on free loopback ports, with their files in a temporary folder."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from qa.testing import free_port, serving, stop
from tests.helpers import real_site

pytestmark = pytest.mark.slow
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
LIMIT = 3  # questions a minute per client
QUESTION = json.dumps({"question": "What is hemifacial spasm?"})
NGINX_CONF = """daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 128; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }}
    }}
}}
"""


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    for _ in range(200):  # bounded: 20 s
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"port {port} never opened:\n{log.read_text(errors='replace')}")


@contextmanager
def running(command: list[str], port: int, log: Path) -> Iterator[None]:
    """A daemon in the foreground, stopped (by its pid) at the end."""
    if not Path(command[0]).exists():
        pytest.fail(f"{command[0]} is missing: apt-get install -y nginx redis-server (make test does this as root)")
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, log)
        yield
    finally:
        stop(process, grace=20)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("redis")
    port = free_port()
    command = [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(root)]
    with running(command, port, root / "redis.log"):
        yield f"redis://127.0.0.1:{port}"


@contextmanager
def nginx_in_front_of(upstream: str, root: Path) -> Iterator[int]:
    """nginx on a free port proxying to upstream (http://127.0.0.1:PORT), as the README shows."""
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=root, port=port, upstream=upstream.rsplit(":", 1)[1]))
    with running([NGINX, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")], port, root / "out.log"):
        yield port


def request(port: int, path: str, source: str = "127.0.0.1", headers: dict | None = None) -> tuple[int, dict, str]:
    """One request on a new connection from the loopback address `source` (a different client per address)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(source, 0))
    try:
        body = QUESTION if path == "/api/ask" else None
        method = "POST" if body else "GET"
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return real_site(tmp_path_factory, "deploy")


@pytest.fixture(scope="module")
def proxied(site, redis_url, tmp_path_factory) -> Iterator[tuple[int, Path]]:
    """nginx's port in front of 2 workers that trust one proxy and count in redis; and the server's log."""
    corpus, index = site
    logs = tmp_path_factory.mktemp("proxied")
    env = {"QA_TRUSTED_PROXIES": "1", "QA_RATE_LIMIT": str(LIMIT), "QA_RATE_LIMIT_STORAGE": redis_url}
    with (
        serving(corpus, index, logs / "serve.log", "--workers", "2", env=env) as upstream,
        nginx_in_front_of(upstream, tmp_path_factory.mktemp("nginx")) as port,
    ):
        yield port, logs / "serve.log"


def test_each_client_behind_the_proxy_has_its_own_limit(proxied):
    port, _ = proxied
    for client in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        statuses = [request(port, "/api/ask", client)[0] for _ in range(LIMIT + 1)]
        assert statuses == [200] * LIMIT + [429], client
    status, headers, body = request(port, "/api/ask", "127.0.0.2")
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 60
    assert json.loads(body)["error"]["code"] == "too_many_requests"
    # A header the client sends to nginx is not believed: nginx replaces X-Forwarded-For with the real address.
    forged = request(port, "/api/ask", "127.0.0.2", {"X-Forwarded-For": "203.0.113.99"})
    assert forged[0] == 429


def test_the_limit_holds_across_both_workers_with_a_shared_store(proxied):
    port, _ = proxied
    # More at once than one worker holds (4 connections): both workers answer, and redis counts for both.
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda _: request(port, "/api/ask", "127.0.0.5")[0], range(10)))
    assert sorted(statuses) == [200] * LIMIT + [429] * (10 - LIMIT)


def test_openapi_advertises_the_proxys_url(proxied):
    port, _ = proxied
    status, _, body = request(port, "/api/openapi.json")
    assert status == 200
    assert json.loads(body)["servers"] == [{"url": f"http://127.0.0.1:{port}"}]


def test_the_production_server_logs_one_line_per_request(proxied):
    port, log = proxied
    before = log.read_text().count('"path": "/api/live"')
    for _ in range(5):
        assert request(port, "/api/live")[0] == 200
    text = log.read_text()
    assert text.count('"path": "/api/live"') - before == 5
    assert "/api/live" not in "\n".join(line for line in text.splitlines() if not line.startswith("{"))
    assert "development server" not in text and "Booting worker" in text


def test_a_forged_forwarded_for_sent_straight_to_the_server_is_ignored(site, redis_url, tmp_path_factory):
    corpus, index = site
    log = tmp_path_factory.mktemp("direct") / "serve.log"
    env = {"QA_TRUSTED_PROXIES": "0", "QA_RATE_LIMIT": str(LIMIT), "QA_RATE_LIMIT_STORAGE": redis_url}
    with serving(corpus, index, log, "--workers", "2", env=env) as base:
        port = int(base.rsplit(":", 1)[1])
        statuses = [
            request(port, "/api/ask", "127.0.0.6", {"X-Forwarded-For": f"198.51.100.{i}"})[0] for i in range(LIMIT + 2)
        ]
        openapi = json.loads(request(port, "/api/openapi.json", headers={"X-Forwarded-Host": "evil.example"})[2])
    assert statuses == [200] * LIMIT + [429, 429]  # one bucket: the connection's own address
    assert openapi["servers"] == [{"url": base}]

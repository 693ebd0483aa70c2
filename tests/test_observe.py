"""Request logs, /api/metrics, the per-client rate limit behind trusted proxies, and the admin token kept secret."""

from __future__ import annotations

import json
import logging

import pytest
from limits.errors import ConfigurationError

from qa.config import Settings
from qa.http import admin
from qa.http.app import create_app
from tests.web_helpers import ADMIN_TOKEN, check_error, web_service

QUESTION = "How long is green tea brewed?"
SECRET_QUESTION = "Is my rare condition zebra-syndrome contagious?"


def access_entries(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "qa.access"]


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text, or 0 when it is absent."""
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            inside = line[line.find("{") + 1 : line.find("}")] if "{" in line else ""
            if wanted <= set(inside.split(",")) if inside else not wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


# --- logs ---


def test_every_request_is_logged_as_one_json_line_without_the_question(client, caplog):
    caplog.set_level(logging.INFO, logger="qa.access")
    client.post("/api/ask", json={"question": SECRET_QUESTION})
    client.get("/api/documents/missing.txt")
    entries = access_entries(caplog)
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/api/ask", 200),
        ("GET", "/api/documents/missing.txt", 404),
    ]
    assert all(isinstance(e["duration_ms"], float) and e["duration_ms"] >= 0 for e in entries)
    assert "zebra" not in caplog.text


def test_questions_are_logged_only_when_enabled(app, caplog):
    caplog.set_level(logging.INFO, logger="qa.access")
    app.config["LOG_QUESTIONS"] = True
    client = app.test_client()
    client.post("/api/ask", json={"question": SECRET_QUESTION})
    client.post("/api/ask", data=b"x" * 70_000, content_type="application/json")  # over the limit: not read
    entries = access_entries(caplog)
    assert entries[0]["question"] == SECRET_QUESTION
    assert entries[1]["status"] == 413 and "question" not in entries[1]


def test_the_admin_token_is_never_logged(client, caplog):
    caplog.set_level(logging.DEBUG)
    client.post("/api/reindex?wait=true", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    client.post("/api/reindex", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"})
    assert len(access_entries(caplog)) == 2
    assert ADMIN_TOKEN not in caplog.text


def test_the_admin_token_is_compared_in_constant_time(client, monkeypatch):
    calls = []

    def compare(a, b):
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(admin.hmac, "compare_digest", compare)
    assert client.post("/api/reindex", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.post("/api/reindex?wait=true", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
    assert calls == [(b"wrong", ADMIN_TOKEN.encode()), (ADMIN_TOKEN.encode(), ADMIN_TOKEN.encode())]


# --- metrics ---


def test_metrics_count_requests_declines_latency_and_the_index_version(app, client):
    client.post("/api/ask", json={"question": QUESTION})
    client.post("/api/ask", json={"question": "Who won the football World Cup in 1998?"})
    client.post("/api/ask", json={"question": ""})
    response = client.get("/api/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    ask = {"method": "POST", "route": "/api/ask"}
    assert metric(text, "qa_http_requests_total", status="200", **ask) == 2
    assert metric(text, "qa_http_requests_total", status="400", **ask) == 1
    assert metric(text, "qa_answers_total", outcome="answered") == 1
    assert metric(text, "qa_answers_total", outcome="declined") == 1
    assert metric(text, "qa_http_request_duration_seconds_count", route="/api/ask") == 3
    assert metric(text, "qa_http_request_duration_seconds_bucket", route="/api/ask", le="+Inf") == 3
    version = app.extensions["qa"].info()["index_version"]
    assert metric(text, "qa_index_info", index_version=version) == 1


def test_metrics_count_the_questions_a_worker_encodes_together(tmp_path):
    service = web_service(tmp_path)
    service.limit_encodes(1)  # as a gunicorn worker's service is set up: its encodes go through the batcher
    client = create_app({"QA_SERVICE": service, "RATE_LIMIT": 0}).test_client()
    for _ in range(3):
        client.post("/api/ask", json={"question": QUESTION})
    text = client.get("/api/metrics").get_data(as_text=True)
    assert metric(text, "qa_encode_batch_size_count") == 3  # one at a time: three passes of one question
    assert metric(text, "qa_encode_batch_size_sum") == 3
    assert metric(text, "qa_encode_batch_size_bucket", le="1.0") == 3


def test_unmatched_paths_share_one_route_label(client):
    for i in range(5):
        client.get(f"/no/such/page/{i}")
    text = client.get("/api/metrics").get_data(as_text=True)
    assert metric(text, "qa_http_requests_total", method="GET", route="unmatched", status="404") == 5
    assert "/no/such" not in text


def test_metrics_without_an_index_have_no_version(tmp_path):
    client = create_app({"QA_SERVICE": web_service(tmp_path, build=False)}).test_client()
    text = client.get("/api/metrics").get_data(as_text=True)
    assert "# TYPE qa_index_info gauge" in text
    assert "qa_index_info{" not in text


# --- rate limit ---


REMOTE = {"REMOTE_ADDR": "203.0.113.7"}  # a client on another machine (loopback is exempt by default)


def asks(client, n: int, **environ: str) -> list[int]:
    environ_base = {**REMOTE, **environ}
    ask = lambda: client.post("/api/ask", json={"question": QUESTION}, environ_base=environ_base).status_code
    return [ask() for _ in range(n)]


def limited_app(tmp_path, **config):
    return create_app({"QA_SERVICE": web_service(tmp_path), "RATE_LIMIT": 3, **config})


def test_the_rate_limit_answers_429_json_with_retry_after(tmp_path):
    client = limited_app(tmp_path).test_client()
    assert asks(client, 3) == [200, 200, 200]
    limited = client.post("/api/ask", json={"question": QUESTION}, environ_base=REMOTE)
    check_error(limited, 429, "too_many_requests")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60  # 3 in any 60 s: the first comes free within a minute
    assert asks(client, 1, REMOTE_ADDR="198.51.100.4") == [200]  # per client address
    assert client.get("/api/health", environ_base=REMOTE).status_code == 200  # only /api/ask is limited


def test_the_rate_limit_is_off_at_zero(tmp_path):
    client = create_app({"QA_SERVICE": web_service(tmp_path), "RATE_LIMIT": 0}).test_client()
    assert set(asks(client, 70)) == {200}


def test_the_rate_limit_comes_from_qa_rate_limit(tmp_path):
    service = web_service(tmp_path)
    service.settings = service.settings.updated(rate_limit=Settings.from_env({"QA_RATE_LIMIT": "1"}).rate_limit)
    client = create_app({"QA_SERVICE": service}).test_client()
    assert asks(client, 2) == [200, 429]


def test_loopback_clients_are_not_limited_by_default(tmp_path):
    client = limited_app(tmp_path).test_client()
    assert set(asks(client, 10, REMOTE_ADDR="127.0.0.1")) == {200}  # a notebook or benchmark on this machine
    assert set(asks(client, 10, REMOTE_ADDR="::1")) == {200}
    assert asks(client, 4) == [200, 200, 200, 429]


def test_exempt_networks_come_from_the_settings(tmp_path):
    exempt = Settings.from_env({"QA_RATE_LIMIT_EXEMPT": "10.0.0.0/8, 192.0.2.1"}).rate_limit_exempt
    client = limited_app(tmp_path, RATE_LIMIT_EXEMPT=exempt).test_client()
    assert set(asks(client, 5, REMOTE_ADDR="10.20.30.40")) == {200}
    assert asks(client, 4, REMOTE_ADDR="127.0.0.1") == [200, 200, 200, 429]  # no longer exempt
    nobody = Settings.from_env({"QA_RATE_LIMIT_EXEMPT": "none"}).rate_limit_exempt
    assert nobody == ()
    none = limited_app(tmp_path / "none", RATE_LIMIT_EXEMPT=nobody)
    assert asks(none.test_client(), 4, REMOTE_ADDR="127.0.0.1") == [200, 200, 200, 429]


def test_forwarded_headers_are_ignored_without_trusted_proxies(tmp_path):
    client = limited_app(tmp_path).test_client()
    forged = [f"192.0.2.{i}" for i in range(5)]
    statuses = [
        client.post(
            "/api/ask", json={"question": QUESTION}, environ_base=REMOTE, headers={"X-Forwarded-For": address}
        ).status_code
        for address in forged
    ]
    assert statuses == [200, 200, 200, 429, 429]  # one bucket: the socket's address
    assert asks(client, 1, REMOTE_ADDR="127.0.0.1") == [200]
    spoofed = client.post(
        "/api/ask", json={"question": QUESTION}, environ_base=REMOTE, headers={"X-Forwarded-For": "127.0.0.1"}
    )
    assert spoofed.status_code == 429  # claiming loopback does not exempt a remote client


def test_a_trusted_proxy_gives_each_client_its_own_bucket_and_the_openapi_its_url(tmp_path):
    client = limited_app(tmp_path, TRUSTED_PROXIES=1).test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}  # the proxy on this machine; the clients it forwards are not exempt
    headers = lambda address: {"X-Forwarded-For": f"6.6.6.6, {address}", "X-Forwarded-Proto": "https"}
    for address in ("203.0.113.1", "203.0.113.2"):
        statuses = [
            client.post(
                "/api/ask", json={"question": QUESTION}, environ_base=proxy, headers=headers(address)
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]  # the last hop counts; the client's own claim (6.6.6.6) does not
    doc = client.get(
        "/api/openapi.json",
        environ_base=proxy,
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "qa.example.org"},
    ).get_json()
    assert doc["servers"] == [{"url": "https://qa.example.org"}]


def test_rate_limits_are_counted_in_the_configured_storage(tmp_path):
    app = limited_app(tmp_path, RATE_LIMIT_STORAGE="memory://")
    assert asks(app.test_client(), 4) == [200, 200, 200, 429]
    with pytest.raises(ConfigurationError, match="redisx"):  # a mistyped store stops the start, not each request
        limited_app(tmp_path / "bad", RATE_LIMIT_STORAGE="redisx://nowhere")


def test_exempt_addresses_are_checked_when_read():
    with pytest.raises(ValueError):
        Settings.from_env({"QA_RATE_LIMIT_EXEMPT": "127.0.0.1,localhost"})

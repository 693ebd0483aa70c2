"""Request logs, /api/metrics, the per-client rate limit, and the admin token kept secret."""

from __future__ import annotations

import json
import logging

import pytest

from qa.config import Settings
from qa.http import admin
from qa.http.app import create_app
from qa.http.limits import MAX_CLIENTS, RateLimiter
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


def test_the_rate_limit_answers_429_json_with_retry_after(tmp_path):
    app = create_app({"QA_SERVICE": web_service(tmp_path), "RATE_LIMIT": 3})
    client = app.test_client()
    statuses = [client.post("/api/ask", json={"question": QUESTION}).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = client.post("/api/ask", json={"question": QUESTION})
    check_error(limited, 429, "too_many_requests")
    assert 1 <= int(limited.headers["Retry-After"]) <= 20  # 3 a minute: one more every 20 s
    other = client.post("/api/ask", json={"question": QUESTION}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200  # per client address
    assert client.get("/api/health").status_code == 200  # only /api/ask is limited


def test_the_rate_limit_is_off_at_zero(tmp_path):
    client = create_app({"QA_SERVICE": web_service(tmp_path), "RATE_LIMIT": 0}).test_client()
    assert {client.post("/api/ask", json={"question": QUESTION}).status_code for _ in range(70)} == {200}


def test_the_rate_limit_comes_from_qa_rate_limit(tmp_path):
    service = web_service(tmp_path)
    service.settings = service.settings.updated(rate_limit=Settings.from_env({"QA_RATE_LIMIT": "1"}).rate_limit)
    client = create_app({"QA_SERVICE": service}).test_client()
    assert [client.post("/api/ask", json={"question": QUESTION}).status_code for _ in range(2)] == [200, 429]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_at_the_configured_rate():
    clock = Clock()
    limiter = RateLimiter(60, clock)  # one a second, bursts of 60
    assert [limiter.check("a") for _ in range(60)] == [0] * 60
    assert limiter.check("a") == 1
    clock.now += 0.5
    assert limiter.check("a") == 1
    clock.now += 0.5
    assert limiter.check("a") == 0
    assert limiter.check("b") == 0


def test_many_client_addresses_do_not_grow_memory_without_bound():
    clock = Clock()
    limiter = RateLimiter(10, clock)
    for i in range(MAX_CLIENTS * 2):
        limiter.check(f"client-{i}")
        clock.now += 60  # each one idle (its bucket full again) by the time the next comes
    assert len(limiter) <= MAX_CLIENTS


@pytest.mark.parametrize("per_minute", [0, -5])
def test_a_limiter_needs_a_positive_rate(per_minute):
    with pytest.raises(ValueError):
        RateLimiter(per_minute)

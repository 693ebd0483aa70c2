"""The HTML surface through the Flask test client: chat page, source pages, headers, and the serve command."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from qa import cli as qa_cli
from qa.config import DEFAULT_EXAMPLES, Settings
from qa.http import server
from qa.http.app import create_app
from qa.http.threads import cores
from qa.service import QAService
from qa.testing import HashEmbedder
from tests.helpers import write_files
from tests.web_helpers import OWLS, check_error


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_chat_page_has_a_labelled_box_examples_and_the_note(client):
    text = page(client, "/")
    tags = Tags(text).tags
    assert ("textarea", {"id": "question"}) in [(t, {"id": a.get("id")}) for t, a in tags if t == "textarea"]
    assert any(t == "label" and a.get("for") == "question" for t, a in tags)
    for example in DEFAULT_EXAMPLES:
        assert f'class="example">{html.escape(example)}</button>' in text
    assert "not medical advice" in text


def test_example_questions_come_from_qa_examples(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_EXAMPLES", "How do barn owls hunt? | <b>Where</b> is green tea from?|")
    settings = Settings.from_env(index_dir=tmp_path / "index")
    client = create_app({"QA_SETTINGS": settings, "WARM_UP": False}).test_client()
    buttons = re.findall(r'class="example">(.*?)</button>', page(client, "/"))
    assert buttons == ["How do barn owls hunt?", "&lt;b&gt;Where&lt;/b&gt; is green tea from?"]


@pytest.mark.parametrize("path", ["/", "/source/owls.txt?start=0&end=9"])
def test_pages_load_only_local_files_and_carry_no_inline_script_or_style(client, path):
    tags = Tags(page(client, path)).tags
    scripts = [a for t, a in tags if t == "script"]
    assert scripts and all(a.get("src", "").startswith("/static/") for a in scripts)
    for tag, attrs in tags:
        assert not [name for name in attrs if name.startswith("on") or name == "style"], (tag, attrs)
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"^(https?:)?//", value), (tag, value)


@pytest.mark.parametrize("path", ["/", "/source/owls.txt", "/static/chat.js", "/static/style.css", "/nothing-here"])
def test_every_page_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "default-src 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_static_files_are_served_locally(client):
    for name, mimetype in (("chat.js", "text/javascript"), ("style.css", "text/css"), ("source.js", "text/javascript")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.mimetype == mimetype


def test_source_page_marks_the_cited_span(client):
    start = OWLS.index("Barn owls nest")
    end = OWLS.index("towers.") + len("towers.")
    text = page(client, f"/source/owls.txt?start={start}&end={end}")
    marked = re.search(r'<mark id="cited"[^>]*>(.*?)</mark>', text, re.S)
    assert marked and marked.group(1) == OWLS[start:end]
    assert f"characters {start}–{end}" in text
    assert "<h1>Barn Owls</h1>" in text


def test_source_page_without_a_span_shows_the_whole_document_unmarked(client):
    text = page(client, "/source/tea/green-tea.md")
    assert "<mark" not in text
    assert "Green tea originated in China" in text


def test_source_page_shows_markup_in_documents_as_text(client):
    text = page(client, "/source/owls.txt")
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "<img" not in text


@pytest.mark.parametrize(
    "path",
    [
        "/source/..%2F..%2F..%2Fetc%2Fpasswd",
        "/source/%2Fetc%2Fpasswd",
        "/source/tea/../owls.txt",
        "/source/notes.bin",
        "/api/documents/..%2Fcorpus%2Fnotes.bin",
        "/api/documents/notes.bin",
    ],
)
def test_only_indexed_documents_are_served(app, client, path):
    write_files(app.extensions["qa"].settings.corpus_dir, {"notes.bin": "private notes beside the corpus"})
    response = client.get(path)
    check_error(response, 404, "not_found")
    assert "private" not in response.get_data(as_text=True)


@pytest.fixture
def fake_servers(monkeypatch):
    """Record how `qa serve` would start a server, and use the fake embedder for any build it does."""
    calls: dict[str, tuple] = {}
    monkeypatch.setattr(qa_cli, "service_for", lambda settings: QAService(settings, HashEmbedder()))
    monkeypatch.setattr(server, "run_development", lambda *args: calls.setdefault("development", args))
    monkeypatch.setattr(server, "run_gunicorn", lambda *args: calls.setdefault("gunicorn", args))
    monkeypatch.setattr(server, "build_in_child", lambda settings: calls.setdefault("build_in_child", (settings,)))
    return calls


def test_serve_runs_gunicorn_with_a_worker_per_core_after_building_in_a_child(runner, fake_servers, tmp_path):
    corpus = write_files(tmp_path / "docs", {"owls.txt": OWLS})
    args = ["serve", "--corpus", str(corpus), "--index", str(tmp_path / "idx"), "--port", "5077"]
    result = runner.invoke(qa_cli.cli, args)
    assert result.exit_code == 0, result.output
    (settings,) = fake_servers["build_in_child"]
    assert settings.corpus_dir == corpus
    assert fake_servers["gunicorn"] == (settings, "127.0.0.1", 5077, cores())
    assert "development" not in fake_servers


def test_serve_with_workers_runs_that_many(runner, fake_servers, tmp_path):
    corpus = write_files(tmp_path / "docs", {"owls.txt": OWLS})
    args = ["serve", "--corpus", str(corpus), "--index", str(tmp_path / "idx"), "--workers", "3", "--host", "0.0.0.0"]
    result = runner.invoke(qa_cli.cli, args)
    assert result.exit_code == 0, result.output
    (settings,) = fake_servers["build_in_child"]
    assert fake_servers["gunicorn"] == (settings, "0.0.0.0", 5000, 3)


def test_serve_dev_runs_the_development_server_over_an_existing_index(runner, fake_servers, tmp_path):
    corpus = write_files(tmp_path / "docs", {"owls.txt": OWLS})
    index = tmp_path / "idx"
    QAService(Settings(corpus_dir=corpus, index_dir=index), HashEmbedder()).build()
    result = runner.invoke(qa_cli.cli, ["serve", "--dev", "--corpus", str(corpus), "--index", str(index)])
    assert result.exit_code == 0, result.output
    service, host, port = fake_servers["development"]
    assert (host, port) == ("127.0.0.1", 5000)
    assert service.settings.index_dir == index
    assert "gunicorn" not in fake_servers and "build_in_child" not in fake_servers


def test_serve_dev_refuses_workers(runner, fake_servers, tmp_path):
    result = runner.invoke(qa_cli.cli, ["serve", "--dev", "--workers", "2", "--index", str(tmp_path / "idx")])
    assert result.exit_code == 2 and "--dev runs one process" in result.output
    assert not fake_servers


def test_the_api_docs_page_loads_only_files_of_this_server(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and "text/html" in page.content_type
    html = page.get_data(as_text=True)
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert sources == ["/swagger-ui/swagger-ui-bundle.js", "/static/api-docs.js"]
    assert re.findall(r"<script[^>]*>\s*[^<\s]", html) == []  # no inline script: the CSP forbids it
    for src in [*sources, "/swagger-ui/swagger-ui.css"]:
        assert client.get(src).status_code == 200, src
    css = client.get("/swagger-ui/swagger-ui.css").get_data(as_text=True)
    assert "data:" not in css  # img-src 'self': its images are files here
    images = re.findall(r'url\("(images/[^"]+)"\)', css)
    assert images and all(client.get(f"/swagger-ui/{name}").status_code == 200 for name in set(images))
    check_error(client.get("/swagger-ui/images/nope.svg"), 404, "not_found")
    check_error(client.get("/swagger-ui/index.html"), 404, "not_found")  # the package's page has inline script


def test_cores_count_what_joblib_counts_within_the_affinity():
    import os

    from joblib import cpu_count

    assert 1 <= cores() == cpu_count() <= len(os.sched_getaffinity(0))

"""The chat in real headless Chromium against the real server: ask, read, follow a citation, follow up, stay safe."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from qa.testing import qa_build, serving
from tests.helpers import REPO, real_site, write_files

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = REPO / "tests" / "artifacts"
HOSTILE = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
# Documents that carry script payloads: as literal text in a .txt, and as live markup in an .html.
PETRELS = (
    f"Storm petrels\nStorm petrels feed on plankton {HOSTILE} far out at sea, pattering on the water as they fly.\n"
)
PETRELS_HTML = (
    "<html><body onload=\"document.title='pwned'\"><main><h1>Petrel nests</h1>"
    "<p onclick=\"document.title='pwned'\">Storm petrels nest in burrows on remote islands.</p>"
    "<script>document.title='pwned'</script></main></body></html>"
)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    corpus, index = real_site(tmp_path_factory, "browser")
    write_files(corpus, {"petrels.txt": PETRELS, "petrel-nests.html": PETRELS_HTML})
    qa_build(corpus, index)
    with serving(corpus, index, tmp_path_factory.mktemp("logs") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("chromium is missing: apt-get install -y chromium (make test does this as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, base):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(base_url=base, viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.problems = []  # console errors (a CSP violation is one) and page errors
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
    yield page
    context.close()


def send(page, question: str) -> None:
    page.get_by_label("Your question").fill(question)
    page.keyboard.press("Enter")


def test_ask_read_follow_up_and_open_the_cited_passage(page):
    from playwright.sync_api import expect

    page.goto("/")
    expect(page.get_by_text("not medical advice")).to_be_visible()
    examples = page.locator("button.example")
    expect(examples.first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "chat-empty.png")

    # Hold the first answer back to see the waiting state.
    held = []
    page.route("**/api/ask", lambda route: held.append(route))
    examples.first.click()
    question = examples.first.text_content().strip()
    box = page.get_by_label("Your question")
    expect(box).to_be_disabled()
    expect(page.get_by_role("status")).to_be_visible()
    expect(examples.first).to_be_hidden()
    for _ in range(200):  # bounded: let Playwright deliver the held request to the handler
        if held:
            break
        page.wait_for_timeout(50)
    held[0].continue_()
    page.unroute("**/api/ask")
    first = page.locator("article.turn.bot").first
    expect(first.locator("blockquote").first).to_be_visible()
    expect(box).to_be_enabled()
    expect(box).to_be_focused()
    expect(page.get_by_role("status")).to_be_hidden()
    expect(page.locator(".turn.user .bubble").first).to_have_text(question)

    # Shift+Enter breaks the line instead of sending.
    box.fill("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    assert box.input_value() == "first line\nsecond line"
    expect(page.locator(".turn.user")).to_have_count(1)

    # A follow-up carries the earlier question as history.
    with page.expect_request("**/api/ask") as request:
        send(page, "How is it treated?")
    assert json.loads(request.value.post_data) == {"question": "How is it treated?", "history": [question]}
    expect(page.locator("article.turn.bot")).to_have_count(2)
    expect(page.locator("article.turn.bot").nth(1).locator("blockquote").first).to_be_visible()

    # A question the documents do not answer is declined in words.
    send(page, "Who won the 1998 football World Cup?")
    expect(page.locator("article.turn.bot").nth(2)).to_contain_text("Not found in these documents")
    page.screenshot(path=ARTIFACTS / "chat-answers.png")

    # The first citation opens its exact passage, marked and in view.
    quote = first.locator("blockquote").first.text_content()
    link = first.locator("a.cite").first
    expect(link).to_contain_text("[1]")
    link.click()
    page.wait_for_url("**/source/**")
    mark = page.locator("mark#cited")
    expect(mark).to_have_text(quote)
    expect(mark).to_be_in_viewport()
    page.screenshot(path=ARTIFACTS / "source-cited.png")
    assert page.problems == []


def test_html_in_a_question_is_shown_as_text_and_runs_nothing(page):
    from playwright.sync_api import expect

    page.goto("/")
    title = page.title()
    send(page, HOSTILE)
    expect(page.locator("article.turn.bot")).to_have_count(1)
    expect(page.locator(".turn.user .bubble")).to_have_text(HOSTILE)
    assert page.locator("#log img, #log script").count() == 0
    assert page.title() == title
    assert page.problems == []
    page.screenshot(path=ARTIFACTS / "chat-hostile.png")


def test_a_partial_answer_from_a_cluster_says_which_part_was_not_searched(page):
    from playwright.sync_api import expect

    def partial(route):  # the real answer, as a router whose shard-001 did not answer would send it
        answer = route.fetch().json()
        route.fulfill(json=dict(answer, partial=True, shards_missing=["shard-001"]))

    page.route("**/api/ask", partial)
    page.goto("/")
    send(page, "What is hemifacial spasm?")
    turn = page.locator("article.turn.bot").first
    expect(turn.locator(".partial")).to_contain_text("Only part of the documents could be searched (shard-001")
    expect(turn.locator("blockquote").first).to_be_visible()  # the quotes from the shards that answered
    assert page.problems == []


def test_the_chat_works_at_phone_width(page):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/")
    send(page, "What is hemifacial spasm?")
    answer = page.locator("article.turn.bot").first
    expect(answer.locator("blockquote").first).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390  # nothing forces sideways scrolling
    page.screenshot(path=ARTIFACTS / "chat-phone.png")
    assert page.problems == []


def test_the_chat_is_usable_from_the_keyboard(page):
    from playwright.sync_api import expect

    page.goto("/")
    box = page.get_by_label("Your question")
    expect(box).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Ask")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.locator("button.example").last).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("article.turn.bot")).to_have_count(1)
    assert page.problems == []


def test_a_document_carrying_scripts_is_quoted_and_shown_as_text_and_runs_nothing(page):
    from playwright.sync_api import expect

    page.goto("/")
    title = page.title()
    send(page, "What do storm petrels feed on?")
    answer = page.locator("article.turn.bot").first
    quote = answer.locator("blockquote").first
    expect(quote).to_contain_text("plankton")
    expect(quote).to_contain_text("<script>")  # the payload is shown, as text
    assert page.locator("#log img, #log script").count() == 0
    answer.locator("a.cite").first.click()
    page.wait_for_url("**/source/**")
    expect(page.locator("mark#cited")).to_contain_text("onerror=")
    assert page.locator("main img, main script").count() == 0
    page.goto("/source/petrel-nests.html")
    expect(page.locator("body")).to_contain_text("Storm petrels nest in burrows")
    assert page.title() != "pwned" and title != "pwned"
    assert page.problems == []
    page.screenshot(path=ARTIFACTS / "source-hostile.png")


def test_the_api_docs_show_every_endpoint_under_the_strict_csp(page):
    from playwright.sync_api import expect

    response = page.goto("/api/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]  # the policy is not relaxed
    paths = ("/api/ask", "/api/live", "/api/health", "/api/documents/{doc_id}", "/api/reindex", "/api/jobs/{job_id}")
    for path in (*paths, "/api/feedback"):
        # GET and DELETE /api/documents/{doc_id} are two operations on one path: each has its own row.
        expect(page.locator(f'.opblock-summary-path[data-path="{path}"]').first).to_be_visible()
    page.locator('.opblock-summary-path[data-path="/api/ask"]').click()
    expect(page.get_by_text("Answer a question with verbatim, cited quotes, or decline").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "api-docs.png", full_page=True)
    assert page.problems == []  # a CSP violation is a console error


COMETS_DOC = "Comets\n\nHalley's Comet returns to the inner solar system every seventy-six years.\n"


@pytest.fixture(scope="module")
def collection_base(tmp_path_factory):
    corpus, index = real_site(tmp_path_factory, "browser-collection")
    with serving(corpus, index, tmp_path_factory.mktemp("logs") / "serve-collection.log") as url:
        yield url


def test_list_upload_with_the_token_ask_the_new_file_and_give_feedback(browser, collection_base):
    import requests
    from playwright.sync_api import expect

    from qa.testing import ADMIN_TOKEN

    context = browser.new_context(base_url=collection_base, viewport={"width": 1100, "height": 800})
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/")

    # The collection: every indexed document's title, linking to its source page.
    page.locator("#collection summary").click()
    docs = page.locator("#doc-list li")
    expect(docs).to_have_count(1)
    expect(docs.first.locator("a.doc-link")).to_have_attribute("href", "/source/what-causes-facial-twitching.txt")
    expect(page.locator("#upload-form")).to_be_hidden()

    # The token unlocks uploads; it is kept in this tab's session storage and never put in a URL.
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("#upload-form")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('qa-admin-token')") == ADMIN_TOKEN
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.get_by_label("Add a document").set_input_files(
        files=[{"name": "comets.txt", "mimeType": "text/plain", "buffer": COMETS_DOC.encode()}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#job-status")).to_contain_text("Index updated: 1 added", timeout=120_000)
    expect(docs).to_have_count(2)
    expect(page.locator("#doc-list")).to_contain_text("Comets")
    assert requested and not any(ADMIN_TOKEN in url for url in requested)
    page.screenshot(path=ARTIFACTS / "collection-uploaded.png")

    # Restricted to the new document by its checkbox, the chat answers from it.
    page.get_by_role("checkbox", name="Comets").check()
    with page.expect_request("**/api/ask") as request:
        send(page, "How often does Halley's Comet return?")
    assert json.loads(request.value.post_data)["doc_ids"] == ["comets.txt"]
    answer = page.locator("article.turn.bot").first
    expect(answer.locator("blockquote").first).to_contain_text("seventy-six years")
    expect(answer.locator("a.cite").first).to_have_attribute("href", re.compile(r"^/source/comets\.txt"))

    # Feedback on the answer, found in the export.
    answer.get_by_role("button", name="Not helpful").click()
    answer.get_by_label("Comment (optional)").fill("should name the year of the last return")
    answer.get_by_role("button", name="Send feedback").click()
    expect(answer.locator(".feedback")).to_contain_text("your feedback was recorded")
    page.screenshot(path=ARTIFACTS / "collection-feedback.png")
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    exported = requests.get(f"{collection_base}/api/feedback?verdict=not_helpful", headers=auth, timeout=60)
    items = [json.loads(line) for line in exported.text.splitlines()]
    assert [i["question"] for i in items] == ["How often does Halley's Comet return?"]
    assert items[0]["comment"] == "should name the year of the last return"
    assert "seventy-six years" in items[0]["quotes"][0]
    assert problems == []
    context.close()

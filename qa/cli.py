"""The `qa` command line: build, ask, search, eval, info, serve."""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import asdict

import click

from qa.cluster.options import ServeOptions
from qa.config import MODES, Settings
from qa.errors import QAError
from qa.search.params import MAX_PASSAGES, MAX_QUOTES
from qa.service import QAService, service_for
from qa.stdin import each_request, note

DOC_HELP = "Only this document, or the documents in this folder (a doc_id prefix such as guides/); repeatable."
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def common(func):
    """--corpus, --index and --model on every command; unset, they come from the settings (qa.config)."""

    @click.option(
        "--corpus",
        "corpus_dir",
        type=click.Path(file_okay=False),
        help="Documents folder [env QA_CORPUS_DIR; default: corpus/]",
    )
    @click.option(
        "--index",
        "index_dir",
        type=click.Path(file_okay=False),
        help="Index folder [env QA_INDEX_DIR; default: index/]",
    )
    @click.option(
        "--model",
        type=click.Path(file_okay=False),
        help="A sentence-transformers model folder [env QA_MODEL; default: the bundled all-MiniLM-L6-v2]",
    )
    @click.option(
        "--selector",
        metavar="shipped|PATH|none",
        help=(
            "The learned answer selector: shipped (the one `make train` made, in models/selector/), another folder "
            "it made, or none (the hand-weighted score) [env QA_SELECTOR; default: shipped]"
        ),
    )
    @functools.wraps(func)
    def wrapper(corpus_dir, index_dir, model, selector, **kwargs):
        try:
            settings = Settings.from_env(corpus_dir=corpus_dir, index_dir=index_dir, model=model, selector=selector)
            _check_selector(settings.selector)
            return func(service_for(settings), **kwargs)
        except (QAError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _check_selector(setting: str) -> None:
    """Refuse a missing or damaged selector folder now, before an index is built or a model loaded."""
    from qa.search.selector import read_manifest, selector_path, uses_none

    if not uses_none(setting):
        read_manifest(selector_path(setting))


def _ready(service: QAService) -> None:
    """Build the index first if there is none."""
    report = service.ensure_index(progress=sys.stderr.isatty())
    if report is not None:
        note(f"Built the index: {report.documents} documents, {report.passages} passages.")
        _problems(report.problems)


def _problems(problems) -> None:
    for p in problems:
        note(f"skipped {p.path}: {p.message}")


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="qa", prog_name="qa")
def cli() -> None:
    """Answer questions from a folder of documents with verbatim, cited quotes.

    \b
    Examples:
      qa build                                  # index corpus/ (only changed files)
      qa ask "What causes hemifacial spasm?"
      qa ask --json "How is it treated?" < /dev/null
      echo '{"question": "What causes it?", "history": ["What is hemifacial spasm?"]}' | qa ask --json
      qa search -k 5 "botulinum toxin"
      qa eval ../shared/eval/dev.jsonl
    """


@cli.command(context_settings=CONTEXT)
@click.option("--rebuild", is_flag=True, help="Re-read and re-embed every document.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--ray", "use_ray", is_flag=True, help="Chunk and embed on a Ray cluster's workers (needs qa[ray]).")
@click.option("--address", help="The Ray cluster to join, HOST:PORT [env RAY_ADDRESS; default: start a local one]")
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True, help="Ray actors that embed.")
@click.option(
    "--shards", type=click.IntRange(1), help="Split the index into this many shards [default: as it is now, or 1]"
)
@common
def build(
    service: QAService, rebuild: bool, as_json: bool, use_ray: bool, address: str | None, workers: int, shards: int
) -> None:
    """Build or update the index from the corpus folder.

    Only documents whose content changed are processed; deleted ones are dropped.

    \b
    Examples:
      qa build
      qa build --rebuild --corpus docs/ --index /tmp/docs-index
      qa build --rebuild --ray --address 10.0.0.5:6379 --workers 8
      qa build --shards 4                       # documents split over 4 shards, searched as one index
    """
    ray = None
    if use_ray:
        from qa.cluster.embed import RayEmbedder

        ray = RayEmbedder(address, workers, service.settings.model)
        service = QAService(service.settings, ray)
    report = service.build(
        shards=shards,
        chunker=ray.chunk if use_ray else None,
        rebuild=rebuild,
        progress=sys.stderr.isatty() and not as_json,
        on_wait=lambda: note("Waiting for another build to finish..."),
    )
    cluster = {"ray_nodes": len(ray.nodes), "ray_chunked": ray.chunked} if use_ray else {}
    if use_ray:
        ray.close()
    if as_json:
        click.echo(json.dumps(dict(asdict(report), problems=[asdict(p) for p in report.problems], **cluster)))
        return
    _problems(report.problems)
    click.echo(
        f"added {report.added}, changed {report.changed}, removed {report.removed}, unchanged {report.unchanged}"
    )
    if use_ray:
        note(f"chunked {ray.chunked} documents and embedded on {len(ray.nodes)} Ray node(s) by {workers} actor(s)")
    state = "written" if report.wrote_index else "already up to date"
    click.echo(
        f"index {state}: {report.documents} documents, {report.passages} passages, "
        f"{report.sentences} sentences; {report.embedded} texts embedded; "
        f"version {report.index_version} ({report.seconds:.1f}s)"
    )


def _print_answer(answer) -> None:
    click.secho(f"Q: {answer.question}", bold=True)
    if answer.search_query != answer.question:
        click.echo(f"   (searched: {answer.search_query})")
    if answer.shards_missing:
        click.secho(f"   (partial: {', '.join(answer.shards_missing)} did not answer in time)", fg="yellow")
    if answer.abstained:
        click.echo(f"\n{answer.answer}\n")
        return
    for c in answer.citations:
        where = c.title if c.section in (None, c.title) else f"{c.title} \u203a {c.section}"
        click.echo(f"\n[{c.id}] \u201c{c.quote}\u201d")
        click.echo(f"    \u2014 {where} ({c.doc_id}, characters {c.start}-{c.end})")
    click.echo(f"\nconfidence {answer.confidence:.2f} \u00b7 index {answer.index_version}\n")


@cli.command(context_settings=CONTEXT)
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON answer per question.")
@click.option("-k", default=3, show_default=True, type=click.IntRange(1, MAX_QUOTES), help="Most quotes per answer.")
@click.option("--mode", type=click.Choice(MODES), help="Retrieval mode [env QA_MODE; default: hybrid]")
@click.option("--doc", "doc_ids", multiple=True, help=DOC_HELP)
@common
def ask(
    service: QAService, question: str | None, as_json: bool, k: int, mode: str | None, doc_ids: tuple[str, ...]
) -> None:
    """Answer QUESTION, or each line of standard input, with cited quotes.

    A stdin line is plain text or {"question": ..., "history": [earlier questions]}.

    \b
    Examples:
      qa ask "What is hemifacial spasm?"
      qa ask --json -k 1 "Who proposed microvascular decompression?"
      printf 'What is HFS?\\nHow is it treated?\\n' | qa ask
      qa ask --doc guides/ "How do I reset it?"   # only documents in the folder guides/
    """
    _ready(service)

    def one(text: str, history: list[str] | None) -> None:
        answer = service.ask(text, history, k=k, mode=mode, doc_ids=list(doc_ids) or None)
        if as_json:
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            _print_answer(answer)

    each_request(question, "question", as_json, one)


@cli.command(context_settings=CONTEXT)
@click.argument("query", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query.")
@click.option("-k", default=10, show_default=True, type=click.IntRange(1, MAX_PASSAGES), help="How many passages.")
@click.option("--mode", type=click.Choice(MODES), help="Retrieval mode [env QA_MODE; default: hybrid]")
@click.option("--doc", "doc_ids", multiple=True, help=DOC_HELP)
@common
def search(
    service: QAService, query: str | None, as_json: bool, k: int, mode: str | None, doc_ids: tuple[str, ...]
) -> None:
    """Ranked passages for QUERY (or each stdin line), without declining.

    \b
    Examples:
      qa search "microvascular decompression"
      qa search --json -k 20 --mode bm25 "Teflon"
    """
    _ready(service)

    def one(text: str, history: list[str] | None) -> None:
        search_query, results = service.search(text, k=k, history=history, mode=mode, doc_ids=list(doc_ids) or None)
        if as_json:
            click.echo(json.dumps({"query": search_query, "results": [asdict(r) for r in results]}, ensure_ascii=False))
            return
        click.secho(f"Q: {search_query}", bold=True)
        for rank, r in enumerate(results, 1):
            click.echo(f"\n{rank}. {r.doc_id} \u203a {r.section or '-'} [{r.start}-{r.end}] score {r.score:.3f}")
            click.echo(f"   {r.text}")
        click.echo()

    each_request(query, "query", as_json, one)


@cli.command("eval", context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("-k", default=3, show_default=True, type=click.IntRange(1, MAX_QUOTES), help="Quotes per answer.")
@common
def eval_(service: QAService, file: str, as_json: bool, k: int) -> None:
    """Score answers against a question file (JSON lines: id, question, answers, history).

    A hit is a quote containing an accepted answer (case and spaces folded); questions with no
    answers are out of scope and should be declined.

    \b
    Example:
      qa eval ../shared/eval/dev.jsonl
    """
    from qa.evaluate import evaluate, read_items

    _ready(service)
    report = evaluate(service, read_items(file), k=k)
    if as_json:
        click.echo(json.dumps(asdict(report), ensure_ascii=False))
        return
    click.echo(f"questions {report.questions} (in scope {report.in_scope}, out of scope {report.out_of_scope})")
    click.echo(f"hit@1 {report.hit_at_1:.3f}  hit@3 {report.hit_at_3:.3f}")
    click.echo(f"declined out-of-scope {report.declined_out_of_scope:.3f}  falsely declined {report.falsely_declined}")
    for miss in report.misses:
        click.echo(f"\nmiss {miss['id']}: {miss['question']} ({miss['problem']}, confidence {miss['confidence']})")
        if miss["quote"]:
            click.echo(f"   got: {miss['quote'][:300]}")


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@common
def info(service: QAService, as_json: bool) -> None:
    """What the index holds: documents, passages, model, version, build time."""
    data = service.info()
    if as_json:
        click.echo(json.dumps(data))
    else:
        for key, value in data.items():
            click.echo(f"{key:14} {value}")


@cli.command(context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="gunicorn worker processes [default: one per core, cgroup CPU quota included]",
)
@click.option("--dev", is_flag=True, help="Werkzeug's development server instead, restarted when code changes.")
@click.option("--ray", "use_ray", is_flag=True, help="Answer on a Ray cluster: Serve deployments (needs qa[ray]).")
@click.option("--address", help="The Ray cluster to join, HOST:PORT [env RAY_ADDRESS]")
@click.option("--replicas", type=click.IntRange(1), default=1, show_default=True, help="Router replicas (--ray).")
@click.option("--max-replicas", type=click.IntRange(1), help="Autoscale the routers up to this many (--ray).")
@click.option("--shard-replicas", type=click.IntRange(1), default=1, show_default=True, help="Replicas per shard.")
@click.option("--serve-port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Ray Serve's port.")
@common
def serve(
    service: QAService,
    host: str,
    port: int,
    workers: int | None,
    dev: bool,
    use_ray: bool,
    address: str | None,
    replicas: int,
    max_replicas: int | None,
    shard_replicas: int,
    serve_port: int,
) -> None:
    """Serve the chat page at / and the JSON API under /api/, building the index first if there is none.

    By default gunicorn runs one worker process per core; put a TLS-terminating proxy in front for anything
    public (and set QA_TRUSTED_PROXIES). Reindexing, uploads,
    deletions, jobs and the feedback export over HTTP need QA_ADMIN_TOKEN set.

    \b
    Examples:
      qa serve                                  # http://127.0.0.1:5000
      qa serve --dev                            # reloads when a source file changes
      QA_ADMIN_TOKEN=secret qa serve --host 0.0.0.0 --port 8000 --workers 2
      qa serve --ray --address 10.0.0.5:6379 --replicas 2   # questions answered on the cluster's nodes
      qa serve --ray --address 10.0.0.5:6379 --replicas 1 --max-replicas 4   # routers autoscaled
    """
    from qa.http import server

    if dev and (workers is not None or use_ray):
        raise click.UsageError("--dev runs one process: leave out --workers and --ray")
    if use_ray and not (address or os.environ.get("RAY_ADDRESS")):
        raise click.UsageError("--ray serves from a running cluster: start one (`ray start --head`), give --address")
    cluster = ServeOptions(address, replicas, max_replicas, shard_replicas, serve_port) if use_ray else None
    server.serve(service, host, port, workers, dev, cluster)


@cli.group(context_settings=CONTEXT)
def feedback() -> None:
    """Feedback people gave on answers in the chat (helpful / not helpful)."""


@feedback.command("export", context_settings=CONTEXT)
@click.option("--verdict", type=click.Choice(["helpful", "not-helpful"]), help="Only feedback with this verdict.")
@common
def feedback_export(service: QAService, verdict: str | None) -> None:
    """Print the feedback as JSON lines of `qa eval` questions (fill in "answers", then run qa eval on them).

    \b
    Example:
      qa feedback export --verdict not-helpful > complaints.jsonl
    """
    from qa.feedback import FeedbackStore, feedback_path

    store = FeedbackStore(feedback_path(service.settings))
    for item in store.export(verdict.replace("-", "_") if verdict else None):
        click.echo(json.dumps(item, ensure_ascii=False))


def main() -> None:
    """Entry point of the `qa` console script."""
    cli(prog_name="qa")

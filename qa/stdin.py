"""The command line's questions: one from the argument, or one per line of standard input, each answered in turn."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator

import click

from qa.errors import QAError


def note(message: str) -> None:
    """A message for the person at the terminal (standard error)."""
    click.echo(message, err=True)


def requests(argument: str | None, key: str) -> Iterator[tuple[str, list[str] | None, str | None]]:
    """(text, history, error) from the argument, or one per stdin line (plain text or a JSON object)."""
    if argument is not None:
        yield argument, None, None
        return
    if sys.stdin.isatty():
        note("Reading questions from standard input, one per line (Ctrl-D to end).")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                yield obj.get(key, obj.get("question")), obj.get("history"), None
            except (ValueError, AttributeError) as exc:
                yield line, None, f"not a JSON object: {exc}"
        else:
            yield line, None, None


def each_request(argument: str | None, key: str, as_json: bool, run: Callable[[str, list[str] | None], None]) -> None:
    """Run each request; a failed one is reported (as JSON with --json) and the others go on; exit 1 if any failed."""
    failed = 0
    for text, history, error in requests(argument, key):
        try:
            if error:
                raise QAError(error)
            run(text, history)
        except QAError as exc:
            failed += 1
            if as_json:
                click.echo(json.dumps({key: text, "error": {"code": exc.code, "message": str(exc)}}))
            else:
                note(f"Error: {exc}")
    if failed:
        sys.exit(1)

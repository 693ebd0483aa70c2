"""Markdown tables of benchmark rows, and their generated sections in docs/QUALITY.md."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.common.data import REPO

DOC = REPO / "docs" / "QUALITY.md"


@dataclass
class Row:
    """One table row: a benchmark measured in one retrieval mode."""

    mode: str
    n: int
    metrics: dict[str, float] = field(default_factory=dict)


def _cell(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def table(rows: list[Row]) -> str:
    """A markdown table: one row per mode, one column per metric."""
    names = list(dict.fromkeys(name for row in rows for name in row.metrics))
    lines = ["| mode | n | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for row in rows:
        lines.append(
            f"| {row.mode} | {row.n} | " + " | ".join(_cell(row.metrics.get(n, math.nan)) for n in names) + " |"
        )
    return "\n".join(lines)


def write_section(key: str, body: str, path: Path = DOC) -> None:
    """Replace (or append) the generated section `key` of the quality document."""
    start, end = f"<!-- generated:{key} -->", f"<!-- /generated:{key} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Answer quality\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")

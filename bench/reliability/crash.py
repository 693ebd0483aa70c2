"""kill -9 `qa build --rebuild` at random moments; after each, the index loads whole (old or new) and answers.

Usage: python -m bench.reliability.crash [--kills 20] [--docs 100] [--seed 7]

Half the kills land at a uniformly random moment of the build, half just after its temporary folder
appears (the write and swap, the dangerous part). tests/test_crash.py runs the same with the fake embedder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.common.data import REPO
from qa.config import Settings
from qa.index.store import read_index
from qa.service import QAService

KEEPERS = {"a": "Alma Rasmussen", "b": "Brand Olufsen"}
QUESTION = "Who keeps the Skerry light?"
TOPICS = ("lighthouse", "harbour", "ferry", "tide", "storm", "beacon", "reef", "pilot", "buoy", "keeper")
POLL = 0.001  # seconds between looks for the build's temporary folder


def make_corpus(root: Path, docs: int, variant: str) -> Path:
    """`docs` distinct documents plus the marker one whose keeper differs between variants "a" and "b"."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(docs):
        rng = random.Random(i)
        lines = [f"Station {i} log"]
        for j in range(12):
            topic, other = rng.choice(TOPICS), rng.choice(TOPICS)
            lines.append(
                f"On day {j} of season {i} the {topic} crew noted {rng.randint(2, 90)} sightings near the {other}. "
                f"The {other} watch at station {i} logged wind of {rng.randint(3, 60)} knots from the {topic} side."
            )
        (root / f"station-{i:03d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    marker = f"The Skerry light\nThe Skerry light is kept by {KEEPERS[variant]}, who lives in the tower.\n"
    (root / "skerry.txt").write_text(marker, encoding="utf-8")
    return root


@dataclass
class Crash:
    """One kill and what was found after it."""

    moment: str  # "random" or "write"
    after_seconds: float
    outcome: str  # "old", "new", or "none" (killed before any index existed)
    leftovers: int  # temporary folders the killed build left behind
    answer_ok: bool


@dataclass
class CrashReport:
    kills: int = 0
    survived: int = 0
    old: int = 0
    new: int = 0
    with_leftovers: int = 0
    leftovers_after_next_build: int = 0
    full_build_seconds: float = 0.0
    crashes: list[Crash] = field(default_factory=list)


def leftovers(index: Path) -> list[Path]:
    """Temporary and old folders of builds beside index."""
    return [p for p in index.parent.glob(f".{index.name}.*") if p.is_dir()]


def check(service_for: Callable[[Path], QAService], index: Path, versions: dict[str, str]) -> tuple[str, bool]:
    """Which build the index is ('a' or 'b' by version) and whether the marker question is answered from it."""
    data = read_index(index)  # sizes and SHA-256 of every file: a mix of two builds fails here
    which = next(v for v, version in versions.items() if version == data.index_version)
    answer = service_for(index).ask(QUESTION, k=1)
    quote = answer.citations[0].quote if answer.citations else ""
    return which, KEEPERS[which] in quote


def kill_at(command: list[str], env: dict, index: Path, moment: str, delay: float | None) -> tuple[float, float]:
    """Start the build and kill -9 it at the moment chosen (delay None: let it finish).

    Returns the seconds it ran, and the seconds from its temporary folder appearing to its end.
    """
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    appeared = None
    if moment == "write" or delay is None:
        before = set(leftovers(index))
        deadline = started + 600
        while process.poll() is None and time.monotonic() < deadline:
            if set(leftovers(index)) - before:
                appeared = time.monotonic()
                break
            time.sleep(POLL)
    if delay is None:
        if process.wait() != 0:
            raise RuntimeError(f"the build failed: {command}")
    else:
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
    ended = time.monotonic()
    return ended - started, ended - appeared if appeared else 0.0


def run(
    root: Path,
    command: Callable[[Path, Path], list[str]],
    service_for: Callable[[Path], QAService],
    kills: int,
    docs: int,
    seed: int,
    log: Callable[[str], None] = lambda _: None,
) -> CrashReport:
    """The whole experiment in root; command(corpus, index) is the build to kill."""
    rng = random.Random(seed)
    corpus, index = root / "corpus", root / "index"
    env = dict(os.environ, QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(index), QA_LOCK_TIMEOUT="0")
    report = CrashReport()
    versions = {}
    write_seconds = 0.0
    for variant in ("b", "a"):  # ends on "a", complete: the index the first kill may leave
        make_corpus(corpus, docs, variant)
        report.full_build_seconds, write_seconds = kill_at(command(corpus, index), env, index, "write", None)
        versions[variant] = read_index(index).index_version
    log(f"full rebuild {report.full_build_seconds:.1f}s, writing {write_seconds:.2f}s; versions {versions}")
    current = "a"
    for i in range(kills):
        target = "b" if current == "a" else "a"
        make_corpus(corpus, docs, target)
        moment = "random" if i % 2 == 0 else "write"
        # A write-phase kill comes up to a little after the build would have ended, so some find the new index.
        limit = report.full_build_seconds if moment == "random" else write_seconds * 1.2
        ran, _ = kill_at(command(corpus, index), env, index, moment, rng.uniform(0, limit))
        left = len(leftovers(index))
        which, answer_ok = check(service_for, index, versions)
        outcome = "new" if which == target else "old"
        crash = Crash(moment, round(ran, 3), outcome, left, answer_ok)
        report.crashes.append(crash)
        report.kills += 1
        report.survived += answer_ok
        report.old += outcome == "old"
        report.new += outcome == "new"
        report.with_leftovers += left > 0
        current = which
        log(f"kill {i + 1}/{kills}: {moment} after {ran:.2f}s -> {outcome}, leftovers {left}, answer ok {answer_ok}")
    subprocess.run(command(corpus, index), env=env, cwd=REPO, check=True, capture_output=True)
    report.leftovers_after_next_build = len(leftovers(index))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    service = QAService(Settings())
    embedder = service.embedder  # loaded once here; each check reads the index afresh
    with tempfile.TemporaryDirectory(prefix="qa-crash-") as tmp:
        report = run(
            Path(tmp),
            lambda corpus, index: [sys.executable, "-m", "qa", "build", "--rebuild"],
            lambda index: QAService(Settings(index_dir=index), embedder),
            args.kills,
            args.docs,
            args.seed,
            log=lambda line: print(line, flush=True),
        )
    print(json.dumps({k: v for k, v in asdict(report).items() if k != "crashes"}))
    ok = report.survived == report.kills and report.leftovers_after_next_build == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""`qa build` over hostile and broken documents, with a 100 MB file among them: each is reported, none crashes it.

Usage: python -m bench.reliability.hostile [--big-mb 100]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qa.testing import REPO, hostile_corpus

LINE = b"Fog signals are sounded whenever visibility falls below two miles. " * 15 + b"\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mb", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qa-hostile-") as tmp:
        corpus = hostile_corpus(Path(tmp) / "corpus", Path(tmp) / "outside")
        with open(corpus / "huge.txt", "wb") as fh:
            for _ in range(args.big_mb * 1024 * 1024 // len(LINE) + 1):
                fh.write(LINE)
        env = dict(os.environ, QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(Path(tmp) / "index"))
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "qa", "build", "--json"], env=env, cwd=REPO, capture_output=True, text=True
        )
        seconds = time.monotonic() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        files = sorted(p.name for p in corpus.iterdir())
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        sys.exit(1)
    report = json.loads(result.stdout)
    summary = {
        "files_tried": len(files),
        "indexed": report["documents"],
        "reported": {p["path"]: p["message"] for p in report["problems"]},
        "build_seconds": round(seconds, 1),
        "peak_rss_mib": round(peak_mib),
    }
    print(json.dumps(summary, indent=2))
    # Every file is indexed or reported, but for the linked outside folder, which is simply not walked.
    ok = "huge.txt" in summary["reported"] and summary["indexed"] + len(summary["reported"]) == len(files) - 1
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

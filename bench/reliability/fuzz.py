"""Schemathesis against the production server, driven by its own /api/openapi.json: every check, no 5xx.

Usage: python -m bench.reliability.fuzz [--max-examples 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.reliability.live import ADMIN_TOKEN, production_server, request_counts

DOC_ID = "what-causes-facial-twitching.txt"  # the default corpus's document, so some lookups find it
# 413 is how this API refuses a question or body over its limits; schemathesis expects 4xx rejections by name.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "413", "415", "422", "429"]

[[operations]]
include-path = "/api/documents/{{doc_id}}"
parameters = {{ "path.doc_id" = "{doc_id}" }}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=500, help="per operation and phase")
    parser.add_argument("--max-time", type=int, default=150, help="seconds; fuzzing repeats until they are spent")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qa-fuzz-") as tmp, production_server(Path(tmp)) as base:
        before = request_counts(base)
        config = Path(tmp) / "schemathesis.toml"
        config.write_text(CONFIG.format(doc_id=DOC_ID), encoding="utf-8")
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(config),
            "run",
            f"{base}/api/openapi.json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(args.max_examples),
            "--max-time",
            str(args.max_time),
            "--seed",
            str(args.seed),
            "--workers",
            "4",
            "-H",
            f"Authorization: Bearer {ADMIN_TOKEN}",
        ]
        result = subprocess.run(command)
        after = request_counts(base)
    served = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    print(json.dumps({"schemathesis_exit": result.returncode, "requests_by_status": served}))
    sys.exit(0 if result.returncode == 0 and not served.get("5xx") else 1)


if __name__ == "__main__":
    main()

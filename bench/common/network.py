"""Benchmarks that start a Ray cluster run in a network namespace of their own (loopback only)."""

from __future__ import annotations

import os
import sys

INSIDE = "QA_BENCH_IN_OWN_NETWORK"


def rerun_inside(module: str) -> int | None:
    """Outside the namespace: run `python -m module` with this process's arguments inside one, print its output
    and return its exit code. Inside: None (go on measuring)."""
    if os.environ.get(INSIDE) == "1":
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        return None
    from qa.testing import in_own_network

    os.environ[INSIDE] = "1"
    run = in_own_network([sys.executable, "-m", module, *sys.argv[1:]], timeout=3600)
    sys.stderr.write(run.stderr[-3000:] if run.returncode else "")
    print(run.stdout, end="")
    return run.returncode

"""The markdown report of a bench-speed run."""

from __future__ import annotations

import json


def markdown(results: dict) -> str:
    """Placeholder."""
    return json.dumps(results, indent=2)

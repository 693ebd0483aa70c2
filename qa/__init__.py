"""qa: citation-first question answering over a folder of documents.

from qa import QAService, Settings
answer = QAService(Settings(corpus_dir=Path("corpus"))).ask("What is hemifacial spasm?")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Answer", "Citation", "QAService", "Settings"]

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.search.answerer import Answer, Citation
    from qa.service import QAService

# Imported when first used: QAService brings in torch (seconds), which `qa --help` and `qa info` do not need.
_HOMES = {
    "QAService": "qa.service",
    "Settings": "qa.config",
    "Answer": "qa.search.answerer",
    "Citation": "qa.search.answerer",
}


def __getattr__(name: str) -> object:
    """The public API's classes, imported on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value

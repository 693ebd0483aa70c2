"""Settings shared by every surface, from arguments or QA_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

MODES = ("hybrid", "dense", "bm25")
# Chosen with `qa eval` on the dev set; see docs/DESIGN.md (800 chars stays inside MiniLM's 256-token window).
# Here rather than in qa.text.passages, so reading settings does not import the sentence splitter (NLTK).
DEFAULT_MAX_CHARS = 800
DEFAULT_OVERLAP = 1


@dataclass(frozen=True)
class Settings:
    """Where the documents and index live, which model embeds them, and how text is chunked."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: str | None = None  # a sentence-transformers folder; None means the bundled MiniLM
    max_chars: int = DEFAULT_MAX_CHARS
    overlap: int = DEFAULT_OVERLAP
    mode: str = "hybrid"
    lock_timeout: float = 600.0
    max_file_mb: float = 20.0  # larger files are reported and skipped: embedding them would take hours

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then QA_CORPUS_DIR / QA_INDEX_DIR / QA_MODEL / QA_MODE..., then non-None overrides."""
        env = os.environ if env is None else env
        names = {f.name: f for f in fields(cls)}
        values: dict[str, object] = {}
        for name in names:
            raw = env.get(f"QA_{name.upper()}")
            if raw not in (None, ""):
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls()
        for name, raw in values.items():
            current = getattr(settings, name)
            if isinstance(current, Path) or name.endswith("_dir"):
                raw = Path(raw)
            elif isinstance(current, bool):
                raw = str(raw).lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int):
                raw = int(raw)
            elif isinstance(current, float):
                raw = float(raw)
            settings = replace(settings, **{name: raw})
        if settings.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {settings.mode!r}")
        return settings

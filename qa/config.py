"""Every setting of qa in one registry: its name, environment variable, default and help, read once.

Values come, later ones winning, from the defaults, an optional TOML file named by QA_CONFIG (keys are the
setting names: `index_dir = "/srv/qa/index"`), QA_* environment variables, and explicit overrides
(command-line options). README's configuration table lists every setting; a test holds it to this registry.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

MODES = ("hybrid", "dense", "bm25")
CONFIG_ENV = "QA_CONFIG"
TRUTHY = ("1", "true", "yes", "on")
# Chosen with `qa eval` on the dev set; see docs/DESIGN.md (800 chars stays inside MiniLM's 256-token window).
# Here rather than in qa.text.passages, so reading settings does not import the sentence splitter (NLTK).
DEFAULT_MAX_CHARS = 800
DEFAULT_OVERLAP = 1
DEFAULT_EXAMPLES = (
    "What is hemifacial spasm?",
    "Which arteries compress the facial nerve?",
    "How is hemifacial spasm treated?",
)


def truthy(raw: object) -> bool:
    """A flag from text: 1, true, yes or on (any case) is on; anything else is off."""
    return raw is True or str(raw).strip().lower() in TRUTHY


def _examples(raw: object) -> tuple[str, ...]:
    items = raw.split("|") if isinstance(raw, str) else list(raw)  # type: ignore[arg-type]
    return tuple(q.strip() for q in items if q.strip()) or DEFAULT_EXAMPLES


def _optional_int(raw: object) -> int | None:
    return None if raw in (None, "") else int(raw)  # type: ignore[arg-type]


def _optional_str(raw: object) -> str | None:
    return None if raw in (None, "") else str(raw)


def _addresses(raw: object) -> tuple[str, ...]:
    """Client addresses or networks, comma-separated (or a TOML list); "none" for none. Each must parse."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)  # type: ignore[arg-type]
    names = tuple(item.strip() for item in items if item.strip())
    if names == ("none",):
        return ()
    for name in names:
        ipaddress.ip_network(name, strict=False)  # a typo fails at start-up, not silently at every request
    return names


def _non_negative(raw: object) -> int:
    value = int(raw)  # type: ignore[arg-type]
    if value < 0:
        raise ValueError(f"must be 0 or more, not {value}")
    return value


def _mode(raw: object) -> str:
    if raw not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {raw!r}")
    return str(raw)


@dataclass(frozen=True)
class Setting:
    """One setting: its field on Settings, its environment variable, how text becomes its value, and its help."""

    name: str
    parse: Callable[[object], object]
    help: str

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return f"QA_{self.name.upper()}"


REGISTRY: tuple[Setting, ...] = (
    Setting("corpus_dir", Path, "documents folder"),
    Setting("index_dir", Path, "index folder"),
    Setting("model", _optional_str, "a sentence-transformers model folder; unset: the bundled all-MiniLM-L6-v2"),
    Setting("mode", _mode, "retrieval mode: hybrid, dense or bm25"),
    Setting("selector", str, "answer selector: none (hand-weighted), a folder made by `make train`, or shipped"),
    Setting("max_chars", int, "passage size in characters"),
    Setting("overlap", int, "sentences shared by neighbouring passages"),
    Setting("index_mmap", truthy, "memory-map the loaded index (workers share one copy); off: each reads its own"),
    Setting("max_file_mb", float, "largest document read, in MB; larger files are reported and skipped"),
    Setting("lock_timeout", float, "seconds a build waits for another build's lock"),
    Setting("threads", _optional_int, "torch/FAISS threads per gunicorn worker; unset: cores / workers"),
    Setting("encode_slots", _optional_int, "encodes a gunicorn worker runs at once; 0 turns limit and batching off"),
    Setting("admin_token", _optional_str, "token of the admin endpoints (reindex, uploads, jobs); unset: they are off"),
    Setting("examples", _examples, "example questions on the empty chat, separated by |"),
    Setting("rate_limit", int, "questions a minute per client address on /api/ask; 0 turns it off"),
    Setting("rate_limit_storage", str, "where limits are counted: memory:// (per worker) or redis://host:port"),
    Setting("rate_limit_exempt", _addresses, "client addresses or networks never limited, comma-separated; none"),
    Setting("trusted_proxies", _non_negative, "proxies in front whose X-Forwarded-For/-Proto/-Host are believed"),
    Setting("log_questions", truthy, "question text in the request log"),
    Setting("feedback_db", _optional_str, "feedback database file; unset: <index folder>.feedback.sqlite3 beside it"),
    Setting("router", _optional_str, "URL of a qa router on Ray Serve (`qa serve --ray` sets it); the server asks it"),
    Setting("shard_timeout", float, "seconds the router waits for a shard before answering without it (partial)"),
)


@dataclass(frozen=True)
class Settings:
    """Where the documents and index live, how text is chunked and searched, and how the server runs."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: str | None = None
    mode: str = "hybrid"
    # The cross-encoder that ships in models/selector/ (`make train`); "none" keeps the hand-weighted score alone.
    selector: str = "shipped"
    max_chars: int = DEFAULT_MAX_CHARS
    overlap: int = DEFAULT_OVERLAP
    # On: the workers' index is one copy in the page cache (docs/PERFORMANCE.md, "Workers share one index").
    index_mmap: bool = True
    max_file_mb: float = 20.0  # larger files are reported and skipped: embedding them would take hours
    lock_timeout: float = 600.0
    threads: int | None = None
    encode_slots: int | None = None
    admin_token: str | None = None
    examples: tuple[str, ...] = DEFAULT_EXAMPLES
    rate_limit: int = 60
    rate_limit_storage: str = "memory://"
    # The machine itself: a notebook or a benchmark on loopback is not abuse (README, "Rate limits").
    rate_limit_exempt: tuple[str, ...] = ("127.0.0.1", "::1")
    trusted_proxies: int = 0
    log_questions: bool = False
    feedback_db: str | None = None
    router: str | None = None
    shard_timeout: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then the QA_CONFIG file, then QA_* environment variables, then non-None overrides."""
        env = os.environ if env is None else env
        values: dict[str, object] = dict(read_config_file(env.get(CONFIG_ENV)))
        for setting in REGISTRY:
            raw = env.get(setting.env)
            if raw not in (None, ""):
                values[setting.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls().updated(**values)

    def updated(self, **values: object) -> Settings:
        """A copy with the given settings, each parsed as its registry entry says; unknown names are refused."""
        by_name = {s.name: s for s in REGISTRY}
        unknown = sorted(set(values) - set(by_name))
        if unknown:
            raise ValueError(f"unknown setting: {', '.join(unknown)}")
        return replace(self, **{name: by_name[name].parse(raw) for name, raw in values.items()})


def read_config_file(path: str | None) -> dict[str, object]:
    """The settings of a TOML config file (empty when no file is named)."""
    if not path:
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ValueError(f"cannot read the config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"the config file {path} is not valid TOML: {exc}") from None

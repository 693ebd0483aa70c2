"""SQLite files beside the index (jobs, feedback): one connection per use, WAL, safe across gunicorn workers."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another process's transaction


@contextlib.contextmanager
def connect(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection to the database at path (made with `schema` if new) in WAL mode; commits on success."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE where a read decides a write).
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        _prepare(conn, schema)
        yield conn
    finally:
        conn.close()


def _prepare(conn: sqlite3.Connection, schema: str) -> None:
    """WAL mode, sync level and schema, retried while another connection holds the lock."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            # WAL: readers in one worker never wait for a writer in another; NORMAL sync is durable across crashes
            # of the process (a power loss may lose the last transactions, never corrupt the file).
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(schema)
            return
        except sqlite3.OperationalError as exc:
            # Switching to WAL while the last connection closes (and removes the WAL file) fails at once with
            # "database is locked": SQLite does not call its busy handler there, so the timeout does not help.
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an exception): a read in it decides a write no other process races."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")

"""Index builds as jobs: queued, running with progress, done with counts or failed with the reason.

Job state lives in a SQLite file beside the index (`.<index>.jobs.sqlite3`, next to the build lock), so a job
started by one gunicorn worker is seen from every worker. One build runs at a time (the build lock); a request
while a job is still queued joins that job rather than queuing another, since the queued build has not yet
listed the corpus and will see the change that request made.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from qa.db import connect, transaction
from qa.errors import QAError
from qa.index.build import BuildReport
from qa.service import QAService

KEEP_JOBS = 200  # finished jobs kept for GET /api/jobs/<id>; older ones are forgotten
POLL_S = 0.1
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, pid INTEGER NOT NULL,
    created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT,
    progress TEXT, result TEXT, error TEXT, error_status INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
"""
log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process has the pid: not ours, but not provably dead either
    return True


def _lost(pid: int) -> dict:
    message = (
        f"the server process running this job (pid {pid}) stopped; the index is whole, as it was before the job "
        "or as the job finished it: start a new reindex"
    )
    return {"code": "job_lost", "message": message}


def report_dict(report: BuildReport) -> dict:
    """What a build did, as the API reports it."""
    return {
        "added": report.added,
        "changed": report.changed,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "documents": report.documents,
        "passages": report.passages,
        "index_version": report.index_version,
        "problems": [asdict(p) for p in report.problems],
    }


@dataclass
class Job:
    """One build job as GET /api/jobs/<id> shows it."""

    id: str
    kind: str
    state: str  # queued | running | done | failed
    created_at: str
    started_at: str | None
    finished_at: str | None
    progress: dict | None  # stage, done, total
    result: dict | None  # the build's report when done
    error: dict | None  # code and message when failed
    error_status: int | None = None  # the HTTP status of the failure (?wait=true answers with it)

    @property
    def finished(self) -> bool:
        """Whether the job is done or failed."""
        return self.state in ("done", "failed")

    def to_dict(self) -> dict:
        """The JSON form of the API."""
        out = asdict(self)
        del out["error_status"]
        return out


class JobStore:
    """The jobs of one index, in a SQLite file beside it."""

    def __init__(self, index_dir: Path) -> None:
        index_dir = Path(index_dir)
        self.path = index_dir.with_name(f".{index_dir.name}.jobs.sqlite3")

    def _connect(self):
        return connect(self.path, SCHEMA)

    def enqueue(self, kind: str) -> tuple[Job, bool]:
        """The queued job to join, or a new one (then True): a job this process must run."""
        with self._connect() as conn, transaction(conn):
            queued = None
            for row in conn.execute("SELECT * FROM jobs WHERE state IN ('queued', 'running') ORDER BY created_at"):
                if not _alive(row["pid"]):
                    conn.execute(
                        "UPDATE jobs SET state = 'failed', finished_at = ?, error = ? WHERE id = ?",
                        (_now(), json.dumps(_lost(row["pid"])), row["id"]),
                    )
                elif row["state"] == "queued" and queued is None:
                    queued = row
            if queued is not None:
                return self._job(queued), False
            job_id = secrets.token_hex(8)
            conn.execute(
                "INSERT INTO jobs (id, kind, state, pid, created_at) VALUES (?, ?, 'queued', ?, ?)",
                (job_id, kind, os.getpid(), _now()),
            )
            conn.execute(
                "DELETE FROM jobs WHERE state IN ('done', 'failed') AND id NOT IN "
                "(SELECT id FROM jobs ORDER BY created_at DESC LIMIT ?)",
                (KEEP_JOBS,),
            )
        return self.get(job_id), True

    def update(self, job_id: str, **fields: object) -> None:
        """Set some columns of a job (dicts are stored as JSON)."""
        names = ", ".join(f"{name} = ?" for name in fields)
        values = [json.dumps(v) if isinstance(v, dict) else v for v in fields.values()]
        with self._connect() as conn:
            conn.execute(f"UPDATE jobs SET {names} WHERE id = ?", [*values, job_id])  # names are ours, not input

    def get(self, job_id: str) -> Job | None:
        """The job, or None; a queued or running job whose process has died is marked failed first."""
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        job = self._job(row)
        if not job.finished and not _alive(row["pid"]):
            self.update(job_id, state="failed", finished_at=_now(), error=_lost(row["pid"]))
            return self.get(job_id)
        return job

    def wait(self, job_id: str) -> Job:
        """The job once it is done or failed."""
        while True:
            job = self.get(job_id)
            if job is None or job.finished:
                return job
            time.sleep(POLL_S)

    @staticmethod
    def _job(row) -> Job:
        loads = lambda v: None if v is None else json.loads(v)
        return Job(
            row["id"],
            row["kind"],
            row["state"],
            row["created_at"],
            row["started_at"],
            row["finished_at"],
            loads(row["progress"]),
            loads(row["result"]),
            loads(row["error"]),
            row["error_status"],
        )


class JobRunner:
    """Starts jobs for a QAService and runs each one in a thread of this process."""

    def __init__(self, service: QAService) -> None:
        self.service = service
        self.store = JobStore(service.settings.index_dir)

    def submit(self, kind: str) -> Job:
        """A job that brings the index up to date with the corpus folder: the queued one, or a new one started."""
        job, created = self.store.enqueue(kind)
        if created:
            # A daemon: a server that stops mid-build leaves the index whole (the build is crash-safe).
            threading.Thread(target=self.run, args=(job.id,), name=f"job-{job.id}", daemon=True).start()
        return job

    def run(self, job_id: str) -> None:
        """Run one job to its end, recording its progress, result or failure."""
        store = self.store

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "started":  # the build lock is held: a later request can no longer join this job
                store.update(job_id, state="running", started_at=_now(), progress={"stage": stage})
            else:
                store.update(job_id, progress={"stage": stage, "done": done, "total": total})

        try:
            report = self.service.build(on_progress=progress)
            self.service.load()  # this worker answers from the new index at once; the others on their next request
            done = {"stage": "done"}
            store.update(job_id, state="done", finished_at=_now(), progress=done, result=report_dict(report))
        except QAError as exc:
            error = {"code": exc.code, "message": str(exc)}
            store.update(job_id, state="failed", finished_at=_now(), error=error, error_status=exc.status)
        except Exception:
            log.exception("job %s failed", job_id)
            error = {"code": "internal_server_error", "message": "the build failed unexpectedly; see the server log"}
            store.update(job_id, state="failed", finished_at=_now(), error=error, error_status=500)

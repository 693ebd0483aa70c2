"""The jobs blueprint: GET /api/jobs/<id>, and the 202-or-wait answer of every request that starts a build."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request, url_for

from qa.config import truthy
from qa.errors import JobFailed
from qa.http.admin import require_admin
from qa.http.context import service
from qa.jobs import Job, JobRunner

bp = Blueprint("jobs", __name__, url_prefix="/api")


@bp.record_once
def _runner(state) -> None:
    state.app.extensions["qa.jobs"] = JobRunner(state.app.extensions["qa"])


def runner() -> JobRunner:
    """The JobRunner of the current app."""
    return current_app.extensions["qa.jobs"]


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    """The state of a build job: queued, running (with progress), done (with its report) or failed (why)."""
    require_admin()
    found = runner().store.get(job_id)
    if found is None:
        abort(404, f"no job {job_id!r} (jobs are kept for a while after they finish)")
    return found.to_dict()


def start_build(kind: str, extra: dict | None = None):
    """Start (or join) a build job: 202 with Location at once, or with ?wait=true the finished job (or its error)."""
    started = runner().submit(kind)
    if not truthy(request.args.get("wait", "")):
        body = {**(extra or {}), "job": started.to_dict()}
        return body, 202, {"Location": url_for("jobs.job", job_id=started.id)}
    return finished_response(runner().store.wait(started.id), extra)


def finished_response(job: Job, extra: dict | None):
    """A finished job as the synchronous form answers it: 200 when done, else its error with the error's status."""
    if job.state == "failed":
        raise JobFailed(job.error["message"], job.error["code"], job.error_status)
    service().load()  # the build may have run in another worker: answer from its index from now on
    return {**(extra or {}), "job": job.to_dict()}

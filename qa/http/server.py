"""Running the app: gunicorn with worker processes by default, Werkzeug's reloading server for development."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from gunicorn.app.base import BaseApplication
from werkzeug.serving import is_running_from_reloader, run_simple

from qa.cluster.options import ServeOptions
from qa.config import Settings
from qa.errors import IndexNotFound, QAError
from qa.http.app import create_app
from qa.http.metrics import MULTIPROC_ENV, enable_multiprocess, worker_exited
from qa.http.observe import configure_logging
from qa.http.threads import cores, encode_slots, limit_threads, worker_threads
from qa.index.store import read_manifest
from qa.service import QAService

# Request threads per gunicorn worker: one encodes while others parse, answer or reindex.
WORKER_THREADS = 4


def default_workers() -> int:
    """Worker processes when none are asked for: one per core (docs/PERFORMANCE.md measured workers = cores)."""
    return cores()


def _not_served(environ, start_response):  # pragma: no cover - the reloader's watcher never serves
    raise RuntimeError("the reloader's watching process does not serve requests")


def run_development(service: QAService, host: str, port: int) -> None:
    """Werkzeug's server, one thread per request, restarted when a source file changes (for development)."""
    configure_logging()
    # The first process only watches files and restarts the second, which serves: only that one loads the model.
    app = create_app({"QA_SERVICE": service}) if is_running_from_reloader() else _not_served
    # Installed packages (torch has thousands of files) are not watched: polling them would cost a core.
    installed = {f"{sysconfig.get_path('purelib')}/*", f"{sysconfig.get_path('platlib')}/*"}
    run_simple(host, port, app, use_reloader=True, threaded=True, exclude_patterns=installed)


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Runs in each worker after the fork: every worker loads the model and index once, for itself.
        configure_logging()
        threads = worker_threads(self.options["workers"], self.settings.threads)
        limit_threads(threads)
        # As many encodes at once as the worker has torch threads; questions that wait are then encoded together.
        slots = encode_slots(threads, self.settings.encode_slots)
        return create_app({"QA_SETTINGS": self.settings, "ENCODE_SLOTS": slots})


def run_gunicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    """`workers` processes with a few threads each, so a reindex in one thread never blocks answers."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    # The workers count requests into files here, so /api/metrics from any worker sums them all. An operator's
    # PROMETHEUS_MULTIPROC_DIR is used as it is; else a temporary folder, removed by the arbiter at exit.
    given = os.environ.get(MULTIPROC_ENV)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="qa-metrics-"))
    enable_multiprocess(folder)
    if not given:
        parent = os.getpid()
        # Forked workers inherit atexit hooks: only the arbiter removes the folder.
        atexit.register(lambda: os.getpid() == parent and shutil.rmtree(folder, ignore_errors=True))
    options = {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": WORKER_THREADS,
        "timeout": 120,  # a worker reads the model and index before its first heartbeat; a stuck one is replaced
        "graceful_timeout": 30,
        # A connection is closed after its response and a worker holds no more connections than it has threads:
        # the rest wait in the listen queue for whichever worker is free. With keep-alive, a load's connections
        # stayed on the worker that accepted them, often one worker of two (docs/PERFORMANCE.md).
        "keepalive": 0,
        "worker_connections": WORKER_THREADS,
        "limit_request_line": 8190,
        "limit_request_fields": 50,
        "limit_request_field_size": 8190,
        "errorlog": "-",
        # No gunicorn access log: qa logs one JSON line per request itself (qa.http.observe).
        "accesslog": None,
        # The scheme comes from X-Forwarded-Proto only through QA_TRUSTED_PROXIES (ProxyFix), never from
        # gunicorn's own trust of loopback peers.
        "secure_scheme_headers": {},
        "proc_name": "qa",
        "child_exit": lambda _arbiter, worker: worker_exited(worker.pid),
    }
    _Gunicorn(settings, options).run()


def serve(
    service: QAService, host: str, port: int, workers: int | None, dev: bool, cluster: ServeOptions | None
) -> None:
    """`qa serve`: build the index if there is none, then serve it (on a Ray cluster when `cluster` is given)."""
    settings = service.settings
    if not is_running_from_reloader() and not settings.router:  # a router reads the index itself
        try:
            read_manifest(settings.index_dir)  # the serving processes read the index; here only check it
        except IndexNotFound:
            # In a child: the model must not be loaded in the process gunicorn forks or the reloader watches from.
            build_in_child(settings)
    workers = workers or default_workers()
    if dev:
        run_development(service, host, port)
    elif cluster:
        from qa.cluster.serve import served

        with served(settings, cluster) as front:
            print(f"qa: answering through {front.router}", file=sys.stderr)
            run_gunicorn(front, host, port, workers)
    else:
        run_gunicorn(settings, host, port, workers)


def build_in_child(settings: Settings) -> None:
    """Build the index in a child process, so the model is not loaded in the process gunicorn forks."""
    env = dict(os.environ, QA_CORPUS_DIR=str(settings.corpus_dir), QA_INDEX_DIR=str(settings.index_dir))
    if settings.model:
        env["QA_MODEL"] = settings.model
    if subprocess.run([sys.executable, "-m", "qa", "build"], env=env).returncode != 0:
        raise QAError("building the index failed; see the messages above")

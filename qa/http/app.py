"""The Flask app factory: the JSON API and the chat page over one QAService per process."""

from __future__ import annotations

import logging
from importlib.resources import files
from pathlib import Path

from flask import Flask
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from qa.config import Settings
from qa.errors import QAError, TooLarge
from qa.http import api, docs, documents, feedback, jobs, limiting, observe, pages
from qa.service import QAService, service_for

# The repository's web/ folder, shipped in the wheel as the package qa.web (pyproject.toml's package-dir).
WEB_DIR = Path(str(files("qa.web")))
MAX_BODY_BYTES = 64 * 1024
SECURITY_HEADERS = {
    # No inline script or style anywhere: every script and stylesheet is a file under /static/.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    """Build the app; config may hold QA_SERVICE or QA_SETTINGS, overrides of what the settings give (ADMIN_TOKEN,
    EXAMPLES, RATE_LIMIT, RATE_LIMIT_STORAGE, RATE_LIMIT_EXEMPT, TRUSTED_PROXIES, LOG_QUESTIONS), ENCODE_SLOTS
    and WARM_UP."""
    config = config or {}
    qa_service = config.get("QA_SERVICE") or service_for(
        config.get("QA_SETTINGS") or Settings.from_env(), config.get("ENCODE_SLOTS")
    )
    settings = qa_service.settings
    app = Flask(__name__, template_folder=str(WEB_DIR / "templates"), static_folder=str(WEB_DIR / "static"))
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        ADMIN_TOKEN=settings.admin_token,
        EXAMPLES=settings.examples,
        WARM_UP=True,
        RATE_LIMIT=settings.rate_limit,
        RATE_LIMIT_STORAGE=settings.rate_limit_storage,
        RATE_LIMIT_EXEMPT=settings.rate_limit_exempt,
        TRUSTED_PROXIES=settings.trusted_proxies,
        LOG_QUESTIONS=settings.log_questions,
    )
    app.config.update(config)
    app.json.sort_keys = False  # answers keep the documented field order
    app.url_map.merge_slashes = False  # "//" would redirect with an HTML body; here it is simply not found
    app.extensions["qa"] = qa_service

    proxies = int(app.config["TRUSTED_PROXIES"] or 0)
    if proxies > 0:
        # Only then are X-Forwarded-* believed, and only the last `proxies` hops of each: the ones our proxies
        # added. Without a proxy a client could otherwise pick its own address (and rate-limit bucket).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    observe.install(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(pages.bp)
    limiting.install(app)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(RequestEntityTooLarge, _body_too_large)
    app.register_error_handler(QAError, _qa_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.after_request(_security_headers)
    if app.config["WARM_UP"]:
        _warm_up(qa_service)
    return app


def _error(status: int, code: str, message: str, headers: dict | None = None):
    """The one error shape of every path: {"error": {"code", "message"}}."""
    return {"error": {"code": code, "message": message}}, status, headers or {}


def _http_error(exc: HTTPException, extra: dict | None = None):
    code = (exc.name or "error").lower().replace(" ", "_")
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}  # keeps Allow, WWW-Authenticate
    return _error(exc.code or 500, code, exc.description or exc.name, {**headers, **(extra or {})})


def _rate_limited(exc: RateLimitExceeded):
    return _http_error(exc, {"Retry-After": str(limiting.retry_after(exc))})


def _body_too_large(exc: RequestEntityTooLarge):
    return _error(413, TooLarge.code, f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB")


def _qa_error(exc: QAError):
    return _error(exc.status, exc.code, str(exc))


def _unexpected_error(exc: Exception):
    log.exception("unexpected error")
    return _http_error(InternalServerError())


def _security_headers(response):
    response.headers.update(SECURITY_HEADERS)
    return response


def _warm_up(qa_service: QAService) -> None:
    """Load the model and index now, so the first question is not the one that waits for them."""
    try:
        qa_service.warm_up()
    except QAError as exc:
        # The server still starts: /api/health answers 503 until an index is there.
        log.warning("qa: %s", exc)

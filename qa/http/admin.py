"""The admin bearer token (QA_ADMIN_TOKEN) that reindexing, uploads, deletions, jobs and the feedback export need."""

from __future__ import annotations

import hmac

from flask import abort, current_app, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized


def require_admin() -> None:
    """Return if the request carries the admin token; 401 without a bearer token, 403 with a wrong one or none set."""
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        abort(403, "admin endpoints are disabled: start the server with QA_ADMIN_TOKEN set")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("send Authorization: Bearer <QA_ADMIN_TOKEN>", www_authenticate=WWWAuthenticate("bearer"))
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        abort(403, "the admin token is not right")

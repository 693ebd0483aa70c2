"""API documentation at /api/docs: Swagger UI 5 (OpenAPI 3.1) from the flask-swagger-ui package, served here."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files
from urllib.parse import unquote

from flask import Blueprint, Response, abort, render_template, send_from_directory

bp = Blueprint("docs", __name__)
# Swagger UI's own files as the package ships them; its blueprint's template (an inline script) is not used.
SWAGGER_UI = files("flask_swagger_ui") / "dist"
SCRIPT = "swagger-ui-bundle.js"
MAX_AGE = 86400
# url("data:...") and url(data:...) in the stylesheet: the CSP allows images from this server only.
_DATA_URL = re.compile(r'url\((?:"data:((?:[^"\\]|\\.)*)"|data:([^)"\']*))\)')
_ESCAPE = re.compile(r"\\(.)")  # the quotes of an SVG inside url("...") are escaped: \"
_SUFFIX = {"image/svg+xml": ".svg", "image/png": ".png", "image/jpeg": ".jpg"}


@bp.get("/api/docs")
def page():
    """Swagger UI over /api/openapi.json; its start-up script is static/api-docs.js (no inline script)."""
    return render_template("api_docs.html")


@cache
def _stylesheet() -> tuple[str, dict[str, tuple[bytes, str]]]:
    """Swagger UI's stylesheet with its inline images moved to files of their own, and those images."""
    images: dict[str, tuple[bytes, str]] = {}

    def move(match: re.Match) -> str:
        meta, _, payload = _ESCAPE.sub(r"\1", match.group(1) or match.group(2)).partition(",")
        mimetype = meta.split(";")[0]
        data = base64.b64decode(payload) if meta.endswith(";base64") else unquote(payload).encode()
        name = hashlib.sha256(data).hexdigest()[:16] + _SUFFIX.get(mimetype, "")
        images[name] = (data, mimetype)
        return f'url("images/{name}")'

    return _DATA_URL.sub(move, (SWAGGER_UI / "swagger-ui.css").read_text(encoding="utf-8")), images


# Outside /api/: these are files, not API operations.
@bp.get("/swagger-ui/swagger-ui.css")
def stylesheet():
    """Swagger UI's stylesheet, its images served from here (no data: URLs)."""
    response = Response(_stylesheet()[0], mimetype="text/css")
    response.cache_control.max_age = MAX_AGE
    return response


@bp.get("/swagger-ui/images/<name>")
def image(name: str):
    """One of the images of Swagger UI's stylesheet."""
    found = _stylesheet()[1].get(name)
    if found is None:
        abort(404, f"no image {name!r} here")
    response = Response(found[0], mimetype=found[1])
    response.cache_control.max_age = MAX_AGE
    return response


@bp.get(f"/swagger-ui/{SCRIPT}")
def script():
    """Swagger UI's script, from the installed package."""
    return send_from_directory(str(SWAGGER_UI), SCRIPT, max_age=MAX_AGE)

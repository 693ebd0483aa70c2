"""API documentation at /api/docs: Swagger UI from the swagger-ui-bundle package, served by this server."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs", __name__)
# Only what the page loads: the package's folder also holds an index.html with an inline script.
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})


@bp.get("/api/docs")
def page():
    """Swagger UI over /api/openapi.json; its start-up script is static/api-docs.js (no inline script)."""
    return render_template("api_docs.html")


@bp.get("/swagger-ui/<name>")  # outside /api/: these are files, not API operations
def asset(name: str):
    """One of Swagger UI's own files, from the installed package."""
    if name not in ASSETS:
        abort(404, f"no file {name!r} here")
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)

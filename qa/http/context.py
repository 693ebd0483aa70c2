"""What the blueprints need from the app, without importing the app factory."""

from __future__ import annotations

from flask import current_app

from qa.service import QAService


def service() -> QAService:
    """The QAService of the current app."""
    return current_app.extensions["qa"]

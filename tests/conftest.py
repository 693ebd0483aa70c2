"""Shared pytest configuration."""

import pytest

# --- core fixtures (tests branch): small corpora, a QAService with the fake HashEmbedder; see tests/helpers.py ---
pytest_plugins = ["tests.helpers"]


# --- web fixtures (web branch): a Flask app over a small corpus with the fake HashEmbedder, flaskr style ---
@pytest.fixture
def app(tmp_path):
    """The app over a freshly built index of the small web corpus; its QAService is app.extensions["qa"]."""
    from qa.http.app import create_app
    from tests.web_helpers import ADMIN_TOKEN, web_service  # here: tests.helpers must load as a plugin first

    config = {"TESTING": True, "QA_SERVICE": web_service(tmp_path), "ADMIN_TOKEN": ADMIN_TOKEN, "RATE_LIMIT": 0}
    return create_app(config)


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner bound to the app (invoke any click command with it)."""
    return app.test_cli_runner()

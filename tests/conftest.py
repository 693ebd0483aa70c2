"""Shared pytest configuration."""

# --- core fixtures (tests branch): small corpora, a QAService with the fake HashEmbedder; see tests/helpers.py ---
pytest_plugins = ["tests.helpers"]

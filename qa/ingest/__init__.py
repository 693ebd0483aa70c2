"""Ingest: listing and reading files, HTML/PDF extraction, headings and page chrome."""

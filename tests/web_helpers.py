"""Helpers of the web tests: a small corpus, its QAService with the fake embedder, and schema checks."""

from __future__ import annotations

from pathlib import Path

import jsonschema

from qa.http.openapi import openapi_document
from qa.service import QAService
from qa.testing import HashEmbedder
from tests.helpers import make_service, write_files

ADMIN_TOKEN = "test-admin-token"
OWLS = """Barn Owls

Hunting
Barn owls hunt small mammals at night. They locate prey by sound alone, even in total darkness.

Nesting
Barn owls nest in hollow trees, barns and church towers. The female lays four to seven eggs.

Markup
A web page may quote the literal text <img src=x onerror=alert(1)> and must show it as text.
"""
TEA = """# Green Tea

## Brewing
Green tea is brewed with water at about eighty degrees for two to three minutes. Boiling water makes it bitter.

## Origin
Green tea originated in China, where people have drunk it for more than four thousand years.
"""
COMETS = """Comets

Halley's Comet returns to the inner solar system every seventy-six years. Its tail always points away from the Sun.
"""
WEB_FILES = {"owls.txt": OWLS, "tea/green-tea.md": TEA}


def web_service(tmp_path: Path, embedder: HashEmbedder | None = None, build: bool = True, **settings) -> QAService:
    """A QAService over the web corpus in tmp_path with the fake embedder, its index built unless build=False."""
    service = make_service(write_files(tmp_path / "corpus", WEB_FILES), tmp_path / "index", embedder, **settings)
    if build:
        service.build()
    return service


def check_schema(instance: object, name: str) -> None:
    """Fail unless instance matches components/schemas/<name> of the OpenAPI document."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": openapi_document("")["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)


def check_error(response, status: int, code: str) -> None:
    """The response is the one JSON error shape, with this status and code."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    check_schema(body, "Error")
    assert body["error"]["code"] == code, body
    assert body["error"]["message"].strip()

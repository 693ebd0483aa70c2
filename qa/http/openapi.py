"""The OpenAPI 3.1 description of the JSON API; tests hold the server's responses to these schemas."""

from __future__ import annotations

from qa import __version__
from qa.http import openapi_collection as collection
from qa.search.filter import MAX_FILTER_CHARS, MAX_FILTERS
from qa.search.params import MAX_QUOTES
from qa.search.validate import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS


def _obj(properties: dict, required: list[str] | None = None) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    meaning = {
        400: "Bad request: missing, empty or non-string question, bad k or history, malformed JSON",
        401: "No bearer token given",
        403: "Wrong token, or reindexing disabled (no QA_ADMIN_TOKEN)",
        404: "No such document",
        409: "Another build is running",
        413: "Question over the length limit, or body over 64 KiB",
        415: "Body is not JSON",
        429: "Too many questions from this client address; wait the Retry-After seconds",
        503: "The index is not ready",
    }
    out = {str(s): _json(_ref("Error"), meaning[s]) for s in statuses}
    if 429 in statuses:
        retry_after = {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}
        out["429"]["headers"] = {"Retry-After": dict(retry_after, required=True)}
    return out


# A character Python's str.strip() keeps; JSON Schema's \S (ECMAScript) would accept U+0085 and U+001C-U+001F.
NOT_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

SCHEMAS = {
    "AskRequest": {
        "type": "object",
        "properties": {
            "question": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_QUESTION_CHARS,
                "pattern": NOT_BLANK,
                "description": "Not blank: holds a character other than white space.",
            },
            "history": {
                "type": ["array", "null"],
                "items": {"type": "string", "maxLength": MAX_QUESTION_CHARS},
                "description": f"Earlier user turns, oldest first (the last {MAX_HISTORY_TURNS} used); null: none.",
            },
            "k": {"type": "integer", "minimum": 1, "maximum": MAX_QUOTES, "default": 3, "description": "Most quotes."},
            "doc_ids": {
                "type": ["array", "null"],
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_FILTER_CHARS, "pattern": NOT_BLANK},
                "minItems": 1,
                "maxItems": MAX_FILTERS,
                "description": "Answer only from these documents: doc_ids, or folder prefixes such as guides/.",
            },
        },
        "required": ["question"],
    },
    "Citation": _obj(
        {
            "id": {"type": "integer", "minimum": 1},
            "doc_id": {"type": "string"},
            "title": {"type": "string"},
            "section": {"type": ["string", "null"]},
            "quote": {"type": "string", "description": "Exactly text[start:end] of the document."},
            "start": {"type": "integer", "minimum": 0},
            "end": {"type": "integer", "minimum": 0},
            "score": {"type": "number"},
        }
    ),
    "Answer": _obj(
        {
            "question": {"type": "string"},
            "search_query": {"type": "string", "description": "The question with follow-up context resolved."},
            "abstained": {"type": "boolean", "description": "True when the documents do not answer."},
            "answer": {"type": "string"},
            "index_version": {"type": "string"},
            "confidence": {"type": "number"},
            "citations": {"type": "array", "items": _ref("Citation")},
            "partial": {"const": True, "description": "Present when some shards of a cluster did not answer."},
            "shards_missing": {"type": "array", "items": {"type": "string"}, "description": "Those shards."},
        },
        ["question", "search_query", "abstained", "answer", "index_version", "confidence", "citations"],
    ),
    "Live": _obj({"status": {"const": "alive"}}),
    "Health": _obj(
        {
            "status": {"enum": ["ok", "degraded"], "description": "degraded: some shards of a cluster do not answer."},
            "documents": {"type": "integer"},
            "passages": {"type": "integer"},
            "model": {"type": "string"},
            "index_version": {"type": "string"},
            "shards": {"type": "integer", "description": "Served from a Ray cluster (qa serve --ray): its shards."},
            "shards_unhealthy": {"type": "array", "items": {"type": "string"}, "description": "Those not answering."},
        },
        ["status", "documents", "passages", "model", "index_version"],
    ),
    "Document": _obj({"doc_id": {"type": "string"}, "title": {"type": "string"}, "text": {"type": "string"}}),
    "ReindexReport": _obj(
        {
            "added": {"type": "integer"},
            "changed": {"type": "integer"},
            "removed": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "documents": {"type": "integer"},
            "passages": {"type": "integer"},
            "index_version": {"type": "string"},
            "problems": {
                "type": "array",
                "items": _obj({"path": {"type": "string"}, "message": {"type": "string"}}),
                "description": "Files that were skipped, and why.",
            },
        }
    ),
    "Error": _obj({"error": _obj({"code": {"type": "string"}, "message": {"type": "string"}})}),
}

PATHS = {
    "/api/ask": {
        "post": {
            "summary": "Answer a question with verbatim, cited quotes, or decline",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AskRequest")}}},
            "responses": {"200": _json(_ref("Answer"), "The answer"), **_errors(400, 413, 415, 429, 503)},
        }
    },
    "/api/live": {
        "get": {
            "summary": "Liveness: the process answers (never touches the index; use it to decide on restarts)",
            "responses": {"200": _json(_ref("Live"), "The process is alive")},
        }
    },
    "/api/health": {
        "get": {
            "summary": "Readiness: what the loaded index holds; 503 until an index is there",
            "responses": {"200": _json(_ref("Health"), "The server is ready"), **_errors(503)},
        }
    },
    "/api/documents/{doc_id}": {
        "get": {
            "summary": "The indexed text of a document; citation offsets index this text",
            "parameters": [{"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json(_ref("Document"), "The document"), **_errors(404, 503)},
        }
    },
    "/api/metrics": {
        "get": {
            "summary": "Requests, answers and declines, latency histogram and index version (Prometheus text format)",
            "responses": {"200": {"description": "Prometheus text exposition", "content": {"text/plain": {}}}},
        }
    },
    "/api/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
        }
    },
    "/api/docs": {
        "get": {
            "summary": "This document as a browsable page (Swagger UI, served locally)",
            "responses": {"200": {"description": "HTML page", "content": {"text/html": {}}}},
        }
    },
}


def openapi_document(server_url: str) -> dict:
    """The OpenAPI 3.1 document, naming server_url as the server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "qa",
            "version": __version__,
            "description": "Citation-first question answering: every answer is a verbatim quote from the documents, "
            "with character offsets into the document text; questions the documents do not answer are declined. "
            'Every error is {"error": {"code", "message"}}.',
        },
        "servers": [{"url": server_url}],
        "paths": {**PATHS, **{path: {**PATHS.get(path, {}), **ops} for path, ops in collection.PATHS.items()}},
        "components": {
            "schemas": {**SCHEMAS, **collection.SCHEMAS},
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
    }

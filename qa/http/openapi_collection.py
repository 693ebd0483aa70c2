"""The OpenAPI description of the collection endpoints: documents, uploads, deletions, jobs and feedback."""

from __future__ import annotations

from qa.feedback import MAX_COMMENT_CHARS, MAX_QUOTE_CHARS, VERDICTS
from qa.search.params import MAX_QUOTES
from qa.search.validate import MAX_QUESTION_CHARS

# The pattern of a question that is not blank (qa.http.openapi.NOT_BLANK; that module imports this one).
NOT_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _obj(properties: dict, required: list[str] | None = None) -> dict:
    required = list(properties) if required is None else required
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    out = {"description": description, "content": {"application/json": {"schema": schema}}}
    return dict(out, headers=headers) if headers else out


MEANING = {
    400: "Bad request: a file with no or an unsafe name, empty, undecodable or unreadable; a bad feedback body",
    401: "No bearer token given",
    403: "Wrong token, or admin endpoints disabled (no QA_ADMIN_TOKEN)",
    404: "No such document or job",
    409: "The name is taken (send replace=true), the last document, or a build lock not had in QA_LOCK_TIMEOUT",
    413: "A file over QA_MAX_FILE_MB, or a body over 64 KiB",
    415: "Not multipart/form-data (uploads) or not JSON (feedback), or a file type qa does not read",
    429: "Too many requests from this client address; wait the Retry-After seconds",
    500: "The build failed (with ?wait=true: the code of what stopped it)",
    503: "The index is not ready",
}


def _errors(*statuses: int) -> dict:
    out = {str(s): _json(_ref("Error"), MEANING[s]) for s in statuses}
    if 429 in statuses:
        retry_after = {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}, "required": True}
        out["429"]["headers"] = {"Retry-After": retry_after}
    return out


TEXT = {"type": "string", "maxLength": MAX_QUOTE_CHARS}
ANSWER_LIMITS = {
    "answer": TEXT,
    "search_query": TEXT,
    "index_version": TEXT,
    "citations": {"type": "array", "maxItems": MAX_QUOTES, "items": {"properties": {"quote": TEXT}}},
}
NULLABLE_INT = {"type": ["integer", "null"]}
WAIT = {
    "name": "wait",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["true", "false"]},
    "description": "true: answer once the job is done, with its result (the synchronous form, for scripts).",
}
LOCATION = {"Location": {"description": "The job: GET it for its state", "schema": {"type": "string"}}}
DOC_ID = {"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"}}

SCHEMAS = {
    "Job": _obj(
        {
            "id": {"type": "string"},
            "kind": {"enum": ["reindex", "upload", "delete"], "description": "What started it (others may join)."},
            "state": {"enum": ["queued", "running", "done", "failed"]},
            "created_at": {"type": "string"},
            "started_at": {"type": ["string", "null"]},
            "finished_at": {"type": ["string", "null"]},
            "progress": {
                "type": ["object", "null"],
                "properties": {
                    "stage": {"enum": ["started", "reading", "embedding", "writing", "done"]},
                    "done": {"type": "integer"},
                    "total": {"type": "integer"},
                },
                "required": ["stage"],
            },
            "result": {"oneOf": [_ref("ReindexReport"), {"type": "null"}]},
            "error": {"oneOf": [_obj({"code": {"type": "string"}, "message": {"type": "string"}}), {"type": "null"}]},
        }
    ),
    "JobStarted": _obj({"job": _ref("Job")}),
    "CollectionDocument": _obj(
        {
            "doc_id": {"type": "string"},
            "title": {"type": "string"},
            "format": {"enum": ["text", "markdown", "html", "pdf"]},
            "bytes": dict(NULLABLE_INT, description="Size of the file; null once it is gone from the folder."),
            "chars": {"type": "integer", "description": "Length of the indexed text."},
            "passages": {"type": "integer"},
            "sha256": {"type": "string"},
            "indexed_at": {"type": "string"},
        }
    ),
    "Collection": _obj(
        {
            "index_version": {"type": "string"},
            "documents": {"type": "array", "items": _ref("CollectionDocument")},
            "unreadable": {
                "type": "array",
                "items": _obj({"path": {"type": "string"}, "message": {"type": "string"}}),
                "description": "Files in the corpus folder that could not be read as documents, and why.",
            },
        }
    ),
    "Upload": _obj(
        {
            "document": _obj(
                {
                    "doc_id": {"type": "string"},
                    "bytes": {"type": "integer"},
                    "sha256": {"type": "string"},
                    "replaced": {"type": "boolean"},
                }
            ),
            "job": _ref("Job"),
        }
    ),
    "Deletion": _obj({"document": _obj({"doc_id": {"type": "string"}}), "job": _ref("Job")}),
    "FeedbackRequest": {
        "type": "object",
        "properties": {
            "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS, "pattern": NOT_BLANK},
            "history": {"type": ["array", "null"], "items": {"type": "string", "maxLength": MAX_QUESTION_CHARS}},
            "answer": {
                "allOf": [_ref("Answer"), {"properties": ANSWER_LIMITS}],
                "description": "The answer as /api/ask gave it.",
            },
            "verdict": {"enum": list(VERDICTS)},
            "comment": {"type": ["string", "null"], "maxLength": MAX_COMMENT_CHARS},
        },
        "required": ["question", "answer", "verdict"],
    },
    "FeedbackStored": _obj({"id": {"type": "integer"}, "verdict": {"enum": list(VERDICTS)}}),
}

ADMIN = [{"adminToken": []}]


def _starts_a_job(summary: str, schema: str, meanings: tuple[str, str], errors: tuple, **more) -> dict:
    """An admin operation answered 202 with its job (or with wait=true, 200 once the job is done)."""
    started, finished = meanings
    responses = {"202": _json(_ref(schema), started, LOCATION), "200": _json(_ref(schema), finished)}
    operation = {"summary": summary, "security": ADMIN, "parameters": [WAIT], **more}
    return operation | {"responses": {**responses, **_errors(*errors)}}


PATHS = {
    "/api/reindex": {
        "post": _starts_a_job(
            "Start (or join the queued) job that updates the index from the corpus folder",
            "JobStarted",
            ("The job, started or joined", "With wait=true: the finished job and its report"),
            (401, 403, 409, 500, 503),
        )
    },
    "/api/jobs/{job_id}": {
        "get": {
            "summary": "A build job: queued, running with progress, done with its report, or failed with the reason",
            "security": ADMIN,
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json(_ref("Job"), "The job"), **_errors(401, 403, 404)},
        }
    },
    "/api/documents": {
        "get": {
            "summary": "Every indexed document, and the files that could not be read",
            "responses": {"200": _json(_ref("Collection"), "The collection"), **_errors(503)},
        },
        "post": _starts_a_job(
            "Upload a .txt, .md, .html/.htm or .pdf file into the corpus folder and index it as a job",
            "Upload",
            ("Written; the job indexing it", "With wait=true: written and indexed"),
            (400, 401, 403, 409, 413, 415, 500, 503),
            requestBody={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "replace": {"type": "string", "enum": ["true", "false"]},
                            },
                            "required": ["file"],
                        }
                    }
                },
            },
        ),
    },
    "/api/documents/{doc_id}": {
        "delete": _starts_a_job(
            "Remove a file from the corpus folder and, as a job, from the index",
            "Deletion",
            ("Removed; the job updating the index", "With wait=true: removed from the index too"),
            (401, 403, 404, 409, 500, 503),
            parameters=[DOC_ID, WAIT],
        )
    },
    "/api/feedback": {
        "post": {
            "summary": "Record helpful / not helpful (and a comment) on an answer",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("FeedbackRequest")}}},
            "responses": {"201": _json(_ref("FeedbackStored"), "Stored"), **_errors(400, 413, 415, 429)},
        },
        "get": {
            "summary": "The feedback as JSON lines in the format of `qa eval` question files",
            "security": ADMIN,
            "parameters": [
                {"name": "verdict", "in": "query", "required": False, "schema": {"enum": list(VERDICTS)}},
            ],
            "responses": {
                "200": {"description": "One JSON object a line", "content": {"application/x-ndjson": {}}},
                **_errors(400, 401, 403),
            },
        },
    },
}

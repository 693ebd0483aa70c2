"""Generated requests: schemathesis from /api/openapi.json, and hypothesis bodies for the request parser.

The long run against the production server (over 1,000 requests) is bench/reliability/fuzz.py in
`make bench-reliability`.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from qa.http.app import create_app
from qa.search.validate import MAX_QUESTION_CHARS
from tests.web_helpers import ADMIN_TOKEN, check_schema, web_service

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
FIELDS = {
    "question": st.one_of(
        JSON, st.text(max_size=40), st.text(min_size=MAX_QUESTION_CHARS - 2, max_size=MAX_QUESTION_CHARS + 2)
    ),
    "history": st.one_of(JSON, st.lists(st.text(max_size=40), max_size=25)),
    "k": st.one_of(JSON, st.integers(-3, 15)),
    "mode": JSON,
}
BODIES = st.one_of(JSON, st.fixed_dictionaries({}, optional=FIELDS))
STATUSES = {200: "Answer", 400: "Error", 413: "Error"}
OPERATIONS = [
    "POST /api/ask",
    "GET /api/live",
    "GET /api/health",
    "GET /api/documents/{doc_id}",
    "POST /api/reindex",
    "GET /api/metrics",
    "GET /api/docs",
    "GET /api/documents",
    "POST /api/documents",
    "DELETE /api/documents/{doc_id}",
    "GET /api/jobs/{job_id}",
    "POST /api/feedback",
    "GET /api/feedback",
]


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    service = web_service(tmp_path_factory.mktemp("fuzz"))
    return create_app({"TESTING": True, "QA_SERVICE": service, "ADMIN_TOKEN": ADMIN_TOKEN, "RATE_LIMIT": 0})


@pytest.fixture(scope="module")
def operations(api_app) -> dict:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)
    return {op.label: op for op in (result.ok() for result in schema.get_all_operations())}


def test_every_operation_is_fuzzed(operations):
    assert sorted(operations) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_generated_requests_get_documented_responses_and_never_5xx(operations, label):
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(operations[label].as_strategy())
    def check(case):
        # Every check: no 5xx, documented status, content type and headers, and the body matches its schema.
        # Whether an upload or a doc_ids filter is accepted depends on the file's bytes and on which documents
        # are indexed, which no schema can say: for those alone a schema-valid request may get a 400.
        content_dependent = label == "POST /api/documents" or (isinstance(case.body, dict) and "doc_ids" in case.body)
        excluded = [positive_data_acceptance] if content_dependent else []
        case.call_and_validate(headers=AUTH, excluded_checks=excluded)

    check()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(BODIES)
def test_any_json_body_gets_an_answer_or_a_json_4xx(api_app, body):
    response = api_app.test_client().post("/api/ask", data=json.dumps(body), content_type="application/json")
    assert response.status_code in STATUSES, (body, response.get_data(as_text=True))
    check_schema(response.get_json(), STATUSES[response.status_code])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300), st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"]))
def test_any_bytes_as_a_body_get_a_json_4xx_or_an_answer(api_app, data, content_type):
    response = api_app.test_client().post("/api/ask", data=data, content_type=content_type)
    assert response.status_code in (*STATUSES, 415), (data, response.get_data(as_text=True))
    check_schema(response.get_json(), STATUSES.get(response.status_code, "Error"))
    if response.status_code == 200:
        assert isinstance(json.loads(data), dict)


def test_a_long_question_of_unknown_words_is_declined_not_a_500(api_app):
    # Found by the generated bodies above: the confidence of such a question overflowed math.exp.
    question = " ".join(f"zqx{i}vw" for i in range(400))[:MAX_QUESTION_CHARS]
    response = api_app.test_client().post("/api/ask", json={"question": question})
    assert response.status_code == 200
    assert response.get_json()["abstained"] is True

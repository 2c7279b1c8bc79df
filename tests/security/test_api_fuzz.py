"""Hostile input to the JSON API: schemathesis generates requests from /api/v1/openapi.json.

In process, against the WSGI app, authenticated as an admin with a bearer token. Every
operation gets schema-valid requests with the ids of real rows (so bodies reach the
services), schema-valid requests with random ids, and schema-violating requests; in all, at
least MIN_CASES requests. Hypothesis is derandomized, so a run is reproducible.
"""
from __future__ import annotations

import math

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in requirements-dev.txt")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance)

from tests.conftest import TEST_PASSWORD  # noqa: E402
from tests.security.world import build_world  # noqa: E402

MIN_CASES = 1000


@pytest.fixture
def served(app):
    """The app with a world of rows and an admin token, and no app context held by the test.

    Each request then gets its own app context (and database session), as on a real server.
    """
    from app.extensions import db
    from tests.conftest import _empty_all_tables

    with app.app_context():
        world = build_world(db.session)
        email = world.users["admin"].email
        db.session.remove()
    token = app.test_client().post("/api/v1/auth/tokens", json={"email": email, "password": TEST_PASSWORD}).json["token"]
    try:
        yield world, {"Authorization": f"Bearer {token}"}
    finally:
        with app.app_context():
            db.session.remove()
            _empty_all_tables(db)


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operations"
    return operations


def _strategy(operation, ids):
    path_names = [p.name for p in operation.path_parameters]
    strategies = [operation.as_strategy()]
    if path_names and all(name in ids for name in path_names):
        strategies.append(operation.as_strategy(path_parameters={name: ids[name] for name in path_names}))
    if path_names or operation.query or operation.body:
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def _describe(exc: BaseException) -> str:
    """The failure and, for a group (schemathesis, a flaky hypothesis run), each failure in it."""
    text = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, BaseExceptionGroup):
        text += "\n" + "\n".join("  - " + _describe(e).replace("\n", "\n    ") for e in exc.exceptions)
    return text


def _run(operations, ids, headers, checks, per_operation: int) -> tuple[int, list[str]]:
    calls = 0
    failures: list[str] = []
    for operation in operations:
        strategy = _strategy(operation, ids)

        @settings(max_examples=per_operation, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink],
                  report_multiple_bugs=False)
        @given(case=strategy)
        def check(case):
            nonlocal calls
            calls += 1
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks, headers=headers)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {_describe(exc)[:2500]}")
    print(f"\nFUZZ calls={calls} operations={len(operations)} per_operation={per_operation}")
    return calls, failures


def test_no_generated_request_gets_a_server_error(app, served):
    world, headers = served
    operations = _operations(app)
    per_operation = max(20, math.ceil(MIN_CASES * 1.25 / len(operations)))
    calls, failures = _run(operations, world.ids, headers, [not_a_server_error, content_type_conformance],
                           per_operation)
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
    assert calls >= MIN_CASES, f"only {calls} generated requests for {len(operations)} operations"


def test_every_response_matches_the_openapi_document(app, served):
    world, headers = served
    operations = _operations(app)
    calls, failures = _run(operations, world.ids, headers,
                           [response_schema_conformance, status_code_conformance], per_operation=15)
    assert not failures, f"{len(failures)} operations answer outside their documented responses:\n\n" + \
        "\n\n".join(failures)
    assert calls >= len(operations)

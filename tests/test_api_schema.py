"""Property-based API test: schemathesis generates requests from the app's own OpenAPI schema
and checks every answer against it (no server error, documented status, content type and
body shape), with a valid admin key, against a database that holds a small organisation.

Every check runs except "schema-valid data is accepted": the API also refuses, with a 4xx,
input that a JSON schema cannot describe (an unknown unit or element code, a period that
does not parse). One test per operation; Hypothesis drives each directly (schemathesis's
pytest fixture loader does not run under pytest 9)."""

import os
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from sqlmodel import Session

from app.main import create_app
from app.models import CounterCreate, ServiceCreate, UnitCreate
from app.services import intake, org
from tests.factories import bearer, response

pytestmark = pytest.mark.slow

# Per operation; a deeper local run: SKM_SCHEMA_EXAMPLES=500 pytest tests/test_api_schema.py
EXAMPLES = int(os.environ.get("SKM_SCHEMA_EXAMPLES", "40"))
OPERATIONS = [
    (path, method.upper())
    for path, methods in create_app().openapi()["paths"].items()
    for method in methods
]


def _seed(session: Session) -> None:
    # Codes the generator may hit among random ones: "demo" with a service and a counter.
    unit = org.create_unit(
        session=session, data=UnitCreate(code="demo", name="Demo", time_zone="WITA")
    )
    org.create_service(
        session=session, data=ServiceCreate(unit_code="demo", code="ktp", name="KTP")
    )
    org.create_counter(
        session=session, data=CounterCreate(unit_code="demo", code="loket-1", name="Loket 1")
    )
    when = datetime(2026, 2, 10, 3, tzinfo=UTC)
    items = [response((4, 3, 2, 4, 3, 3, 4, 3, 4), when) for _ in range(3)]
    intake.record_responses(session=session, unit=unit, items=items, channel="paper")


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_operation_conforms_to_schema(
    app: FastAPI,
    session: Session,
    admin: str,
    path: str,
    method: str,
) -> None:
    _seed(session)
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]
    calls: list[schemathesis.Case[Any]] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: schemathesis.Case[Any]) -> None:
        calls.append(case)
        case.call_and_validate(headers=bearer(admin), excluded_checks=[positive_data_acceptance])

    check()
    assert calls, "no case was generated"
    print(f"{method} {path}: {len(calls)} cases")  # shown with -s: the case count

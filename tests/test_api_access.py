"""Access rules over every API operation: no key is a 401, a key outside its subtree sees
404 for every object there, and each route holds to its scope."""

import httpx
import pytest
from sqlmodel import Session

from app.main import create_app
from app.models import CounterCreate, ServiceCreate
from app.services import apikeys, org
from tests.factories import CODES, bearer, make_unit

OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_app().openapi()["paths"].items()
    for method in methods
    if path.startswith("/api/")
]


FORMATS = {"image_format": "png", "file_format": "xlsx"}


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
async def test_every_operation_needs_a_key(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    # Any value, no body: a text that is no key is refused before anything else is looked at
    # (a well-formed key that is unknown: see test_api_responses).
    url = path.replace("{", "").replace("}", "")
    response = await client.request(method, url, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401, url
    assert response.json()["error"] == "unauthorized"


async def test_subtree_key_gets_404_for_everything_outside(
    client: httpx.AsyncClient, session: Session
) -> None:
    mine, other = make_unit(session), make_unit(session)
    org.create_service(
        session=session, data=ServiceCreate(unit_code=other.code, code="ktp", name="KTP")
    )
    org.create_counter(
        session=session, data=CounterCreate(unit_code=other.code, code="l1", name="L1")
    )
    _, key = apikeys.create_key(session=session, name="opd", scopes=["admin"], unit_code=mine.code)
    o = other.code
    requests = [
        ("GET", f"/api/v1/units/{o}", None),
        ("PATCH", f"/api/v1/units/{o}", {"name": "X"}),
        ("GET", f"/api/v1/units?parent={o}", None),
        ("GET", f"/api/v1/units/{o}/services", None),
        ("POST", f"/api/v1/units/{o}/services", {"code": "x", "name": "X"}),
        ("GET", f"/api/v1/units/{o}/services/ktp", None),
        ("PATCH", f"/api/v1/units/{o}/services/ktp", {"name": "X"}),
        ("GET", f"/api/v1/units/{o}/counters", None),
        ("POST", f"/api/v1/units/{o}/counters", {"code": "x", "name": "X"}),
        ("GET", f"/api/v1/units/{o}/counters/l1", None),
        ("PATCH", f"/api/v1/units/{o}/counters/l1", {"name": "X"}),
        ("POST", f"/api/v1/units/{o}/counters/l1/rotate-token", None),
        ("GET", f"/api/v1/units/{o}/counters/l1/qr.png", None),
        ("GET", f"/api/v1/units/{o}/counters/l1/poster.pdf", None),
        ("GET", f"/api/v1/units/{o}/posters.pdf", None),
        ("PUT", f"/api/v1/units/{o}/population/2026", {"population": 10}),
        ("GET", f"/api/v1/units/{o}/population/2026", None),
        ("GET", f"/api/v1/units/{o}/report-settings", None),
        ("PUT", f"/api/v1/units/{o}/report-settings", {"city": "Kendari"}),
        ("GET", f"/api/v1/units/{o}/logo", None),
        ("PUT", f"/api/v1/units/{o}/logo", "a logo"),  # json: a string the body route takes
        ("DELETE", f"/api/v1/units/{o}/logo", None),
        ("GET", f"/api/v1/ikm?unit={o}&period=2026", None),
        ("GET", f"/api/v1/ikm/ranking?parent={o}&period=2026", None),
        ("GET", f"/api/v1/ikm/trend?unit={o}&from=2025&to=2026&granularity=year", None),
        ("GET", f"/api/v1/responses?unit={o}&period=2026", None),
        ("GET", f"/api/v1/responses.csv?unit={o}&period=2026", None),
        ("GET", f"/api/v1/reports/{o}/2026.xlsx", None),
        ("GET", f"/api/v1/reports/{o}/2026/evidence-pack.zip", None),
        (
            "POST",
            "/api/v1/responses",
            {
                "unit": o,
                "responses": [
                    {
                        "idempotency_key": "k",
                        "submitted_at": "2026-01-05T10:00:00+08:00",
                        "answers": {},
                    }
                ],
            },
        ),
    ]
    assert {(m, p.split("?")[0]) for m, p, _ in requests} >= {
        (m, p.format(unit=o, service="ktp", counter="l1", period="2026", **FORMATS))
        for m, p in OPERATIONS
        if "{unit}" in p or p in {"/api/v1/responses", "/api/v1/ikm"}
    }, "every operation on a unit is tried"
    for method, url, body in requests:
        response = await client.request(method, url, json=body, headers=bearer(key))
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("scope", "method", "url"),
    [
        ("ikm:read", "PATCH", "/api/v1/units/{u}"),
        ("ikm:read", "GET", "/api/v1/responses?unit={u}&period=2026"),
        ("ikm:read", "POST", "/api/v1/responses"),
        ("responses:read", "GET", "/api/v1/ikm?unit={u}&period=2026"),
        ("responses:read", "POST", "/api/v1/responses"),
        ("responses:write", "GET", "/api/v1/units/{u}"),
        ("responses:write", "GET", "/api/v1/units/{u}/counters/l1/qr.svg"),
    ],
)
async def test_missing_scope_is_403(
    client: httpx.AsyncClient, session: Session, scope: str, method: str, url: str
) -> None:
    unit = make_unit(session)
    _, key = apikeys.create_key(session=session, name="narrow", scopes=[scope])
    # A valid body: the key's scope is checked with the key, in the session that would store
    # the batch, so after the body's validation.
    one = {"idempotency_key": "k", "submitted_at": "2026-05-14", "answers": dict.fromkeys(CODES, 4)}
    body = {"unit": unit.code, "responses": [one]} if method != "GET" else None
    response = await client.request(method, url.format(u=unit.code), json=body, headers=bearer(key))
    assert (response.status_code, response.json()["error"]) == (403, "forbidden")

"""The IKM routes: /ikm (equal to the CLI), /ikm/ranking, /ikm/trend."""

import json
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import Session

from app.models import Unit
from app.services import apikeys, intake
from tests.conftest import Cli
from tests.factories import bearer, make_unit, response


def _seed_ikm(session: Session) -> Unit:
    root = make_unit(session)
    child = make_unit(session, parent=root)
    when = datetime(2026, 2, 10, 3, tzinfo=UTC)
    rows = [
        (4, 3, 2, 4, 3, 3, 4, 3, 4),
        (3, 3, 3, 4, 3, 4, 4, 2, 3),
        (2, 3, None, 4, 3, 3, 3, 3, 3),
    ]
    for unit in (root, child):
        intake.record_responses(
            session=session, unit=unit, channel="paper", items=[response(r, when) for r in rows]
        )
    return root


@pytest.mark.parametrize("weight", ["exact", "0.111"])
async def test_ikm_api_equals_cli(
    client: httpx.AsyncClient, session: Session, run_cli: Cli, weight: str
) -> None:
    root = _seed_ikm(session)
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    params = {"unit": root.code, "period": "2026-Q1", "include_children": "true", "weight": weight}
    response = await client.get("/api/v1/ikm", params=params, headers=bearer(reader))
    assert response.status_code == 200, response.text
    code, output = run_cli(
        "ikm",
        "--unit",
        root.code,
        "--period",
        "2026-Q1",
        "--include-children",
        "--weight",
        weight,
        "--json",
    )
    assert code == 0, output
    assert response.json() == json.loads(output)
    assert response.json()["n"] == 6


async def test_ikm_api_etag_gives_304(client: httpx.AsyncClient, session: Session) -> None:
    root = _seed_ikm(session)
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    url = f"/api/v1/ikm?unit={root.code}&period=2026"
    first = await client.get(url, headers=bearer(reader))
    etag = first.headers["etag"]
    again = await client.get(url, headers={**bearer(reader), "If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("period=2026&colour=red", 422, "validation_error"),
        ("period=2026-Q9", 422, "validation_error"),
        ("period=2026&weight=0.5", 422, "validation_error"),
        ("period=2026&service=nope", 404, "not_found"),
    ],
)
async def test_ikm_api_bad_queries(
    client: httpx.AsyncClient, session: Session, query: str, status: int, error: str
) -> None:
    root = _seed_ikm(session)
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    response = await client.get(f"/api/v1/ikm?unit={root.code}&{query}", headers=bearer(reader))
    assert response.status_code == status
    assert response.json()["error"] == error


async def test_ikm_api_subtree_limit(client: httpx.AsyncClient, session: Session) -> None:
    root = _seed_ikm(session)
    other = make_unit(session)
    _, limited = apikeys.create_key(
        session=session, name="opd", scopes=["ikm:read"], unit_code=other.code
    )
    response = await client.get(
        f"/api/v1/ikm?unit={root.code}&period=2026", headers=bearer(limited)
    )
    assert response.status_code == 404
    unknown = await client.get("/api/v1/ikm?unit=no-such&period=2026", headers=bearer(limited))
    assert unknown.status_code == 404


async def test_ranking_lists_children_best_first(
    client: httpx.AsyncClient, session: Session
) -> None:
    root = make_unit(session)
    good, weak, empty = (make_unit(session, parent=root) for _ in range(3))
    grandchild = make_unit(session, parent=weak)
    when = datetime(2026, 3, 1, 3, tzinfo=UTC)
    for unit, value in ((good, 4), (weak, 2), (grandchild, 1)):
        intake.record_responses(
            session=session, unit=unit, channel="paper", items=[response((value,) * 9, when)]
        )
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    result = await client.get(
        f"/api/v1/ikm/ranking?parent={root.code}&period=2026", headers=bearer(reader)
    )
    assert result.status_code == 200, result.text
    units = [(u["unit"], u["n"], u["nik_rounded"], u["mutu"]) for u in result.json()["units"]]
    # The weak unit pools its grandchild by sums: (2 x 9 + 1 x 9) / 18 -> 1.5 -> 37.50.
    assert units == [
        (good.code, 1, 100.0, "A"),
        (weak.code, 2, 37.5, "D"),
        (empty.code, 0, None, None),
    ]


async def test_trend_per_quarter(client: httpx.AsyncClient, session: Session) -> None:
    unit = make_unit(session)
    for month, value in ((1, 3), (5, 4)):
        intake.record_responses(
            session=session,
            unit=unit,
            channel="paper",
            items=[response((value,) * 9, datetime(2026, month, 10, 3, tzinfo=UTC))],
        )
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    result = await client.get(
        f"/api/v1/ikm/trend?unit={unit.code}&from=2025-Q4&to=2026-Q3&granularity=quarter",
        headers=bearer(reader),
    )
    assert result.status_code == 200, result.text
    points = [(p["period"], p["n"], p["nik_rounded"]) for p in result.json()["points"]]
    assert points == [
        ("2025-Q4", 0, None),
        ("2026-Q1", 1, 75.0),
        ("2026-Q2", 1, 100.0),
        ("2026-Q3", 0, None),
    ]
    too_long = await client.get(
        f"/api/v1/ikm/trend?unit={unit.code}&from=2000&to=2026-Q3&granularity=quarter",
        headers=bearer(reader),
    )
    assert too_long.status_code == 422

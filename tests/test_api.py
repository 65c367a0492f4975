import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from app import apikeys, services
from app.models import ApiKey, Counter, CounterCreate, Unit
from tests.conftest import Cli
from tests.factories import make_unit, response
from tests.tools import decode_qr, pdf_text


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _counter(session: Session, unit: Unit) -> Counter:
    data = CounterCreate(unit_code=unit.code, code="loket-1", name="Loket Satu")
    return services.create_counter(session=session, data=data)


@pytest.fixture
def admin(session: Session) -> str:
    return apikeys.create_key(session=session, name="Bagian Organisasi", scopes=["admin"])[1]


async def test_missing_or_bad_keys_are_401(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    counter = _counter(session, make_unit(session))
    url = f"/api/v1/counters/{counter.id}/qr.png"
    cases = [
        ({}, "send an API key as 'Authorization: Bearer <key>'"),
        ({"Authorization": "Basic abc"}, "send an API key as 'Authorization: Bearer <key>'"),
        (_bearer(admin + "x"), "invalid API key"),
        (_bearer("skm_00000000.nope"), "invalid API key"),
    ]
    for headers, detail in cases:
        response = await client.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized", "detail": detail}


async def test_revoked_and_expired_keys_are_401(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    counter = _counter(session, make_unit(session))
    apikeys.revoke_key(session=session, prefix=admin.partition(".")[0])
    response = await client.get(f"/api/v1/counters/{counter.id}/qr.svg", headers=_bearer(admin))
    assert response.status_code == 401
    assert response.json()["detail"] == "this API key is revoked or expired"


async def test_missing_scope_is_403(client: httpx.AsyncClient, session: Session) -> None:
    counter = _counter(session, make_unit(session))
    _, reader = apikeys.create_key(session=session, name="dashboard", scopes=["ikm:read"])
    response = await client.get(f"/api/v1/counters/{counter.id}/qr.png", headers=_bearer(reader))
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "detail": "this API key lacks the scope 'admin'",
    }


async def test_counter_qr_png_decodes_to_survey_url_and_records_use(
    client: httpx.AsyncClient, session: Session, admin: str, tmp_path: Path
) -> None:
    counter = _counter(session, make_unit(session))
    response = await client.get(f"/api/v1/counters/{counter.id}/qr.png", headers=_bearer(admin))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = tmp_path / "qr.png"
    image.write_bytes(response.content)
    assert decode_qr(image) == f"http://127.0.0.1:8000/s/{counter.token}"
    key = apikeys.list_keys(session=session)[-1]
    session.refresh(key)
    assert key.last_used_at is not None


async def test_counter_qr_svg_and_posters(
    client: httpx.AsyncClient, session: Session, admin: str, tmp_path: Path
) -> None:
    counter = _counter(session, make_unit(session))
    headers = _bearer(admin)
    svg = await client.get(f"/api/v1/counters/{counter.id}/qr.svg", headers=headers)
    assert (svg.status_code, svg.headers["content-type"]) == (200, "image/svg+xml")
    for path in (f"counters/{counter.id}/poster.pdf", f"units/{counter.unit_id}/posters.pdf"):
        response = await client.get(f"/api/v1/{path}", headers=headers)
        assert (response.status_code, response.headers["content-type"]) == (200, "application/pdf")
        pdf = tmp_path / "poster.pdf"
        pdf.write_bytes(response.content)
        text = pdf_text(pdf)
        assert "Loket Satu" in text
        assert f"http://127.0.0.1:8000/s/{counter.token}" in text


async def test_subtree_key_sees_nothing_outside_its_subtree(
    client: httpx.AsyncClient, session: Session
) -> None:
    root = make_unit(session)
    inside, outside = make_unit(session, parent=root), make_unit(session)
    _, limited = apikeys.create_key(
        session=session, name="opd", scopes=["admin"], unit_code=root.code
    )
    mine, theirs = _counter(session, inside), _counter(session, outside)
    ok = await client.get(f"/api/v1/counters/{mine.id}/qr.png", headers=_bearer(limited))
    assert ok.status_code == 200
    for path in (f"counters/{theirs.id}/qr.png", f"units/{outside.id}/posters.pdf"):
        response = await client.get(f"/api/v1/{path}", headers=_bearer(limited))
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


async def test_unknown_counter_and_unit_are_404(client: httpx.AsyncClient, admin: str) -> None:
    for path in ("counters/999999/qr.png", "units/999999/posters.pdf"):
        response = await client.get(f"/api/v1/{path}", headers=_bearer(admin))
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


def test_apikey_cli_create_list_revoke(run_cli: Cli, session: Session) -> None:
    unit = make_unit(session)
    code, output = run_cli(
        "apikey",
        "create",
        "--name",
        "Dasbor Pemda",
        "--scope",
        "ikm:read",
        "--scope",
        "responses:read",
        "--unit",
        unit.code,
        "--expires",
        "2099-12-31",
    )
    assert code == 0, output
    plaintext = output.splitlines()[0]
    prefix = plaintext.partition(".")[0]
    stored = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).one()
    assert stored.secret_hash != plaintext and plaintext not in stored.secret_hash
    assert stored.scopes == "ikm:read responses:read"
    code, output = run_cli("apikey", "list")
    assert prefix in output and "Dasbor Pemda" in output and plaintext not in output
    assert run_cli("apikey", "revoke", prefix) == (0, f"key {prefix} revoked\n")
    assert "revoked" in run_cli("apikey", "list")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scope", "root"], "scopes must be among"),
        (["--scope", "admin", "--unit", "nope"], "unknown unit code 'nope'"),
        (["--scope", "admin", "--expires", "2001-01-01"], "is in the past"),
        (["--scope", "admin", "--expires", "soon"], "is not a date"),
    ],
)
def test_apikey_create_bad_input(run_cli: Cli, args: list[str], message: str) -> None:
    code, output = run_cli("apikey", "create", "--name", "x", *args)
    assert code == 1
    assert message in output


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
        services.record_responses(
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
    response = await client.get("/api/v1/ikm", params=params, headers=_bearer(reader))
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
    first = await client.get(url, headers=_bearer(reader))
    etag = first.headers["etag"]
    again = await client.get(url, headers={**_bearer(reader), "If-None-Match": etag})
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
    response = await client.get(f"/api/v1/ikm?unit={root.code}&{query}", headers=_bearer(reader))
    assert response.status_code == status
    assert response.json()["error"] == error


async def test_ikm_api_subtree_limit(client: httpx.AsyncClient, session: Session) -> None:
    root = _seed_ikm(session)
    other = make_unit(session)
    _, limited = apikeys.create_key(
        session=session, name="opd", scopes=["ikm:read"], unit_code=other.code
    )
    response = await client.get(
        f"/api/v1/ikm?unit={root.code}&period=2026", headers=_bearer(limited)
    )
    assert response.status_code == 404
    unknown = await client.get("/api/v1/ikm?unit=no-such&period=2026", headers=_bearer(limited))
    assert unknown.status_code == 404


async def test_ranking_lists_children_best_first(
    client: httpx.AsyncClient, session: Session
) -> None:
    root = make_unit(session)
    good, weak, empty = (make_unit(session, parent=root) for _ in range(3))
    grandchild = make_unit(session, parent=weak)
    when = datetime(2026, 3, 1, 3, tzinfo=UTC)
    for unit, value in ((good, 4), (weak, 2), (grandchild, 1)):
        services.record_responses(
            session=session, unit=unit, channel="paper", items=[response((value,) * 9, when)]
        )
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    result = await client.get(
        f"/api/v1/ikm/ranking?parent={root.code}&period=2026", headers=_bearer(reader)
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
        services.record_responses(
            session=session,
            unit=unit,
            channel="paper",
            items=[response((value,) * 9, datetime(2026, month, 10, 3, tzinfo=UTC))],
        )
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    result = await client.get(
        f"/api/v1/ikm/trend?unit={unit.code}&from=2025-Q4&to=2026-Q3&granularity=quarter",
        headers=_bearer(reader),
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
        headers=_bearer(reader),
    )
    assert too_long.status_code == 422


async def test_units_list_tree_and_subtree_limit(
    client: httpx.AsyncClient, session: Session
) -> None:
    root = make_unit(session)
    opd = make_unit(session, parent=root)
    loket = make_unit(session, parent=opd)
    sibling = make_unit(session, parent=root)
    _, everything = apikeys.create_key(session=session, name="pemda", scopes=["ikm:read"])
    _, limited = apikeys.create_key(
        session=session, name="opd", scopes=["ikm:read"], unit_code=opd.code
    )
    listed = await client.get(f"/api/v1/units?parent={root.code}", headers=_bearer(everything))
    assert listed.status_code == 200
    rows = [(u["code"], u["parent"], u["depth"]) for u in listed.json()]
    assert rows[0] == (root.code, None, 0)
    assert {
        (opd.code, root.code, 1),
        (loket.code, opd.code, 2),
        (sibling.code, root.code, 1),
    } <= set(rows)
    mine = await client.get("/api/v1/units", headers=_bearer(limited))
    assert [(u["code"], u["depth"]) for u in mine.json()] == [(opd.code, 0), (loket.code, 1)]
    outside = await client.get(f"/api/v1/units?parent={root.code}", headers=_bearer(limited))
    assert outside.status_code == 404


async def test_population_put_then_get(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    url = f"/api/v1/units/{unit.code}/population/2026-S1"
    missing = await client.get(url, headers=_bearer(admin))
    assert missing.status_code == 403  # an admin key has no ikm:read
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    assert (await client.get(url, headers=_bearer(reader))).status_code == 404
    put = await client.put(url, json={"population": 1000}, headers=_bearer(admin))
    assert put.status_code == 200
    expected = {"unit": unit.code, "period": "2026-S1", "population": 1000, "minimum_sample": 278}
    assert put.json() == expected
    assert (await client.get(url, headers=_bearer(reader))).json() == expected
    for body in ({"population": 0}, {"population": 5, "extra": 1}, {}):
        bad = await client.put(url, json=body, headers=_bearer(admin))
        assert bad.status_code == 422
        assert bad.json()["error"] == "validation_error"
    wrong_period = await client.put(
        f"/api/v1/units/{unit.code}/population/2026-S9",
        json={"population": 5},
        headers=_bearer(admin),
    )
    assert wrong_period.status_code == 422
    denied = await client.put(url, json={"population": 5}, headers=_bearer(reader))
    assert denied.status_code == 403

"""Units, services, counters, populations and QR codes over the API."""

from pathlib import Path

import httpx
from sqlmodel import Session, select

from app.models import AuditEntry, Counter, CounterCreate, Unit
from app.services import apikeys, org
from tests.factories import bearer, make_unit
from tests.tools import decode_qr, pdf_text


def _counter(session: Session, unit: Unit) -> Counter:
    data = CounterCreate(unit_code=unit.code, code="loket-1", name="Loket Satu")
    return org.create_counter(session=session, data=data)


async def test_counter_qr_png_decodes_to_survey_url_and_records_use(
    client: httpx.AsyncClient, session: Session, admin: str, tmp_path: Path
) -> None:
    unit = make_unit(session)
    counter = _counter(session, unit)
    url = f"/api/v1/units/{unit.code}/counters/loket-1/qr.png?allow_local=true"
    response = await client.get(url, headers=bearer(admin))
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
    unit = make_unit(session)
    counter = _counter(session, unit)
    headers = bearer(admin)
    base = f"/api/v1/units/{unit.code}"
    svg = await client.get(f"{base}/counters/loket-1/qr.svg?allow_local=true", headers=headers)
    assert (svg.status_code, svg.headers["content-type"]) == (200, "image/svg+xml")
    for path in (f"{base}/counters/loket-1/poster.pdf", f"{base}/posters.pdf"):
        path += "?allow_local=true"  # the default base URL, a loopback one
        response = await client.get(path, headers=headers)
        assert (response.status_code, response.headers["content-type"]) == (200, "application/pdf")
        pdf = tmp_path / "poster.pdf"
        pdf.write_bytes(response.content)
        text = pdf_text(pdf)
        assert "Loket Satu" in text
        assert f"http://127.0.0.1:8000/s/{counter.token}" in text
        etag = response.headers["etag"]
        cached = await client.get(path, headers={**headers, "If-None-Match": etag})
        assert cached.status_code == 304
    await client.post(f"{base}/counters/loket-1/rotate-token", headers=headers)
    reprinted = await client.get(path, headers={**headers, "If-None-Match": etag})
    assert reprinted.status_code == 200  # a new token is a new poster


async def test_subtree_key_sees_nothing_outside_its_subtree(
    client: httpx.AsyncClient, session: Session
) -> None:
    root = make_unit(session)
    inside, outside = make_unit(session, parent=root), make_unit(session)
    _, limited = apikeys.create_key(
        session=session, name="opd", scopes=["admin"], unit_code=root.code
    )
    _counter(session, inside), _counter(session, outside)
    ok = await client.get(
        f"/api/v1/units/{inside.code}/counters/loket-1/qr.png?allow_local=true",
        headers=bearer(limited),
    )
    assert ok.status_code == 200
    for path in (f"units/{outside.code}/counters/loket-1/qr.png", f"units/{outside.code}"):
        response = await client.get(f"/api/v1/{path}", headers=bearer(limited))
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


async def test_unknown_counter_and_unit_are_404(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    for path in (f"units/{unit.code}/counters/nope/qr.png", "units/nope/posters.pdf"):
        response = await client.get(f"/api/v1/{path}", headers=bearer(admin))
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


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
    listed = await client.get(f"/api/v1/units?parent={root.code}", headers=bearer(everything))
    assert listed.status_code == 200
    rows = [(u["code"], u["parent"], u["depth"]) for u in listed.json()]
    assert rows[0] == (root.code, None, 0)
    assert {
        (opd.code, root.code, 1),
        (loket.code, opd.code, 2),
        (sibling.code, root.code, 1),
    } <= set(rows)
    mine = await client.get("/api/v1/units", headers=bearer(limited))
    assert [(u["code"], u["depth"]) for u in mine.json()] == [(opd.code, 0), (loket.code, 1)]
    outside = await client.get(f"/api/v1/units?parent={root.code}", headers=bearer(limited))
    assert outside.status_code == 404


async def test_population_put_then_get(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    url = f"/api/v1/units/{unit.code}/population/2026-S1"
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    assert (await client.get(url, headers=bearer(reader))).status_code == 404
    put = await client.put(url, json={"population": 1000}, headers=bearer(admin))
    assert put.status_code == 200
    expected = {"unit": unit.code, "period": "2026-S1", "population": 1000, "minimum_sample": 278}
    assert put.json() == expected
    assert (await client.get(url, headers=bearer(reader))).json() == expected
    for body in ({"population": 0}, {"population": 5, "extra": 1}, {}):
        bad = await client.put(url, json=body, headers=bearer(admin))
        assert bad.status_code == 422
        assert bad.json()["error"] == "validation_error"
    wrong_period = await client.put(
        f"/api/v1/units/{unit.code}/population/2026-S9",
        json={"population": 5},
        headers=bearer(admin),
    )
    assert wrong_period.status_code == 422
    denied = await client.put(url, json={"population": 5}, headers=bearer(reader))
    assert denied.status_code == 403


async def test_unit_create_get_update_and_nested_list(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    root = make_unit(session)
    body = {"code": "dukcapil", "name": " Dinas Dukcapil ", "parent_code": root.code}
    created = await client.post("/api/v1/units", json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    assert created.json() == {
        "code": "dukcapil",
        "name": "Dinas Dukcapil",
        "address": None,
        "time_zone": "WITA",
        "parent": root.code,
        "form": None,
        "active": True,
    }
    again = await client.post("/api/v1/units", json=body, headers=bearer(admin))
    assert (again.status_code, again.json()["error"]) == (409, "conflict")
    change = {"address": "Jl. Mayjen Sutoyo", "time_zone": "WIT", "active": False}
    patched = await client.patch("/api/v1/units/dukcapil", json=change, headers=bearer(admin))
    assert patched.status_code == 200, patched.text
    assert patched.json() | {} == created.json() | {
        "address": "Jl. Mayjen Sutoyo",
        "time_zone": "WIT",
        "active": False,
    }
    fetched = await client.get("/api/v1/units/dukcapil", headers=bearer(admin))
    assert fetched.json() == patched.json()
    nested = await client.get(
        f"/api/v1/units?parent={root.code}&nested=true", headers=bearer(admin)
    )
    [tree] = nested.json()
    assert (tree["code"], [c["code"] for c in tree["children"]]) == (root.code, ["dukcapil"])
    assert tree["children"][0]["children"] == []


async def test_unit_move_refuses_cycles_and_bad_fields(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    root = make_unit(session)
    child = make_unit(session, parent=root)
    cycle = await client.patch(
        f"/api/v1/units/{root.code}", json={"parent_code": child.code}, headers=bearer(admin)
    )
    assert (cycle.status_code, cycle.json()["error"]) == (409, "conflict")
    top = await client.patch(
        f"/api/v1/units/{child.code}", json={"parent_code": None}, headers=bearer(admin)
    )
    assert (top.status_code, top.json()["parent"]) == (200, None)
    for body in ({"colour": "red"}, {"time_zone": "UTC"}, {"name": ""}):
        bad = await client.patch(f"/api/v1/units/{child.code}", json=body, headers=bearer(admin))
        assert bad.status_code == 422, body
        assert bad.json()["error"] == "validation_error"
        assert bad.json()["errors"][0]["loc"] == ["body", *body]
    zone = await client.patch(
        f"/api/v1/units/{child.code}", json={"time_zone": "UTC"}, headers=bearer(admin)
    )
    assert zone.json()["detail"] == (
        "body.time_zone: time zone must be WIB, WITA or WIT "
        "(Asia/Jakarta, Asia/Makassar, Asia/Jayapura)"
    )


async def test_subtree_key_cannot_touch_units_outside(
    client: httpx.AsyncClient, session: Session
) -> None:
    root, other = make_unit(session), make_unit(session)
    _, limited = apikeys.create_key(
        session=session, name="opd", scopes=["admin"], unit_code=root.code
    )
    headers = bearer(limited)
    inside = {"code": "loket-baru", "name": "Unit Baru", "parent_code": root.code}
    assert (await client.post("/api/v1/units", json=inside, headers=headers)).status_code == 201
    outside = {**inside, "code": "di-luar", "parent_code": other.code}
    assert (await client.post("/api/v1/units", json=outside, headers=headers)).status_code == 404
    top = await client.post("/api/v1/units", json={"code": "x", "name": "X"}, headers=headers)
    assert (top.status_code, top.json()["error"]) == (403, "forbidden")
    for method, path in (
        ("GET", f"/api/v1/units/{other.code}"),
        ("PATCH", f"/api/v1/units/{other.code}"),
        ("GET", f"/api/v1/units/{other.code}/services"),
        ("POST", f"/api/v1/units/{other.code}/counters"),
    ):
        body = {"name": "X", "code": "x"} if method == "POST" else {"name": "X"}
        response = await client.request(
            method, path, headers=headers, json=body if method != "GET" else None
        )
        assert response.status_code == 404, (method, path)
    escape = await client.patch(
        f"/api/v1/units/{root.code}", json={"parent_code": None}, headers=headers
    )
    assert escape.status_code == 403


async def test_services_and_counters_crud(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    base = f"/api/v1/units/{unit.code}"
    headers = bearer(admin)
    service = await client.post(
        f"{base}/services", json={"code": "ktp-el", "name": "KTP-el"}, headers=headers
    )
    assert service.status_code == 201
    assert service.json() == {"code": "ktp-el", "name": "KTP-el", "active": True}
    counter = await client.post(
        f"{base}/counters",
        json={"code": "loket-1", "name": "Loket 1", "service_code": "ktp-el"},
        headers=headers,
    )
    assert counter.status_code == 201, counter.text
    url = counter.json()["survey_url"]
    assert url.startswith("http://127.0.0.1:8000/s/")
    assert counter.json() | {"survey_url": ""} == {
        "code": "loket-1",
        "name": "Loket 1",
        "service": "ktp-el",
        "active": True,
        "kiosk": False,
        "survey_url": "",
    }
    closed = await client.patch(
        f"{base}/counters/loket-1", json={"active": False, "service_code": None}, headers=headers
    )
    assert (closed.json()["active"], closed.json()["service"]) == (False, None)
    rotated = await client.post(f"{base}/counters/loket-1/rotate-token", headers=headers)
    assert rotated.json()["survey_url"] != url
    renamed = await client.patch(f"{base}/services/ktp-el", json={"name": "KTP"}, headers=headers)
    assert renamed.json()["name"] == "KTP"
    services_list = await client.get(f"{base}/services", headers=headers)
    assert [s["code"] for s in services_list.json()] == ["ktp-el"]
    counters_list = await client.get(f"{base}/counters", headers=headers)
    assert counters_list.json() == [rotated.json() | {"active": False, "service": None}]
    unknown = await client.patch(
        f"{base}/counters/loket-1", json={"service_code": "nope"}, headers=headers
    )
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    duplicate = await client.post(
        f"{base}/services", json={"code": "ktp-el", "name": "Lagi"}, headers=headers
    )
    assert duplicate.status_code == 409
    bad_code = await client.post(
        f"{base}/services", json={"code": "KTP EL!", "name": "x"}, headers=headers
    )
    assert bad_code.status_code == 422


async def test_get_routes_carry_etags(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    _counter(session, unit)
    base = f"/api/v1/units/{unit.code}"
    qr_png = "/counters/loket-1/qr.png?allow_local=true"
    for path in ("", "/services", "/counters", "/counters/loket-1", qr_png):
        first = await client.get(base + path, headers=bearer(admin))
        assert first.status_code == 200, path
        etag = first.headers["etag"]
        cached = await client.get(base + path, headers={**bearer(admin), "If-None-Match": etag})
        assert (cached.status_code, cached.content) == (304, b""), path


async def test_nul_characters_are_client_errors(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    missing = await client.get("/api/v1/units/%00", headers=bearer(admin))
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    body = {"code": "nul", "name": "Unit\x00Satu"}
    refused = await client.post("/api/v1/units", json=body, headers=bearer(admin))
    assert (refused.status_code, refused.json()["error"]) == (422, "validation_error")
    unit = make_unit(session)
    body = {"address": "Jl.\x00Baru"}
    address = await client.patch(f"/api/v1/units/{unit.code}", json=body, headers=bearer(admin))
    assert (address.status_code, address.json()["error"]) == (422, "validation_error")


async def test_unit_form_is_set_changed_and_reset(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    body = {
        "code": "puskesmas",
        "name": "Puskesmas",
        "time_zone": "WITA",
        "form_code": "permenpan-rb-16-2014",
    }
    created = await client.post("/api/v1/units", json=body, headers=bearer(admin))
    assert (created.status_code, created.json()["form"]) == (201, "permenpan-rb-16-2014")
    url = "/api/v1/units/puskesmas"
    changed = await client.patch(
        url, json={"form_code": "kepmenpan-25-2004"}, headers=bearer(admin)
    )
    assert (changed.status_code, changed.json()["form"]) == (200, "kepmenpan-25-2004")
    renamed = await client.patch(url, json={"name": "Puskesmas Jati Raya"}, headers=bearer(admin))
    assert renamed.json()["form"] == "kepmenpan-25-2004"  # an omitted form_code stays
    reset = await client.patch(url, json={"form_code": None}, headers=bearer(admin))
    assert reset.json()["form"] is None
    assert session.exec(select(Unit.form_code).where(Unit.code == "puskesmas")).one() is None
    detail = (
        "unknown form 'permenpan-2099'; known forms: kepmenpan-25-2004, permenpan-rb-14-2017, "
        "permenpan-rb-16-2014"
    )
    expected = {
        "error": "validation_error",
        "detail": detail,
        "errors": [{"loc": ["body", "form_code"], "msg": detail, "type": "value_error"}],
    }
    unknown = await client.patch(url, json={"form_code": "permenpan-2099"}, headers=bearer(admin))
    assert (unknown.status_code, unknown.json()) == (422, expected)
    new = {"code": "lain", "name": "Lain", "time_zone": "WITA", "form_code": "permenpan-2099"}
    refused = await client.post("/api/v1/units", json=new, headers=bearer(admin))
    assert (refused.status_code, refused.json()) == (422, expected)
    assert (await client.get("/api/v1/units/lain", headers=bearer(admin))).status_code == 404


async def test_unit_codes_are_lowered_and_bad_ones_explained(
    client: httpx.AsyncClient, admin: str
) -> None:
    body = {"code": " DUKCAPIL-Kantor ", "name": "Dukcapil", "time_zone": "Asia/Jakarta"}
    created = await client.post("/api/v1/units", json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    assert (created.json()["code"], created.json()["time_zone"]) == ("dukcapil-kantor", "WIB")
    fetched = await client.get("/api/v1/units/DUKCAPIL-KANTOR", headers=bearer(admin))
    assert fetched.json()["code"] == "dukcapil-kantor"
    rule = (
        "codes are 1 to 40 characters: lower-case letters, digits, '-' or '_', "
        "starting with a letter or digit"
    )
    for code in ("KTP EL!", "", "-dash", "x" * 41):
        bad = await client.post(
            "/api/v1/units", json={"code": code, "name": "X"}, headers=bearer(admin)
        )
        assert (bad.status_code, bad.json()) == (
            422,
            {
                "error": "validation_error",
                "detail": f"body.code: {rule}",
                "errors": [{"loc": ["body", "code"], "msg": rule, "type": "value_error"}],
            },
        ), code


async def test_unit_at_the_top_needs_a_time_zone_and_a_child_inherits_it(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    body = {"code": "pemda-baru", "name": "Pemda Baru"}
    refused = await client.post("/api/v1/units", json=body, headers=bearer(admin))
    detail = (
        "time_zone is required for a unit at the top of the tree: WIB, WITA or WIT "
        "(a unit with a parent takes its parent's)"
    )
    assert (refused.status_code, refused.json()) == (
        422,
        {
            "error": "validation_error",
            "detail": detail,
            "errors": [{"loc": ["body", "time_zone"], "msg": detail, "type": "value_error"}],
        },
    )
    parent = make_unit(session, tz="WIT")
    child = {**body, "parent_code": parent.code}
    created = await client.post("/api/v1/units", json=child, headers=bearer(admin))
    assert (created.status_code, created.json()["time_zone"]) == (201, "WIT")


async def test_changes_over_the_api_are_audited_as_the_key(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    answer = await client.post(
        f"/api/v1/units/{unit.code}/counters",
        json={"code": "loket-9", "name": "Loket 9"},
        headers=bearer(admin),
    )
    assert answer.status_code == 201, answer.text
    entry = session.exec(
        select(AuditEntry)
        .where(AuditEntry.action == "counter.create")
        .where(AuditEntry.target == f"{unit.code}/loket-9")
    ).one()
    assert entry.actor == f"apikey {admin.split('.')[0]}"
    assert entry.unit_id == unit.id

"""Responses over the API: keyset pages, the streamed CSV export, batch ingest."""

import asyncio
import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, func, select

from app.api import responses as responses_api
from app.config import get_settings
from app.core import ikm
from app.core.periods import parse_period
from app.db import Database, is_postgresql
from app.errors import AppError
from app.models import Response, ServiceCreate, Unit
from app.services import apikeys, intake, org, results, rollups, scopes
from tests.conftest import StatementLog
from tests.factories import (
    CODES,
    bearer,
    coarse_sums,
    make_unit,
    reordered_version,
    response,
    rollup_sums,
)

WHEN = datetime(2026, 2, 10, 3, tzinfo=UTC)
KEPMENPAN_2004 = (
    "prosedur",
    "persyaratan",
    "kejelasan_petugas",
    "kedisiplinan_petugas",
    "tanggung_jawab_petugas",
    "kemampuan_petugas",
    "kecepatan",
    "keadilan",
    "kesopanan",
    "kewajaran_biaya",
    "kepastian_biaya",
    "kepastian_jadwal",
    "kenyamanan",
    "keamanan",
)


def _seed(session: Session, unit: Unit, count: int, suggestion: str | None = None) -> None:
    items = [response((4, 3, 2, 4, 3, 3, 4, 3, i % 4 + 1), WHEN) for i in range(count)]
    if suggestion:
        items[0] = items[0].model_copy(update={"suggestion": suggestion})
    intake.record_responses(session=session, unit=unit, items=items, channel="paper")


def _batch(unit: Unit, keys: list[str], value: int = 4, **extra: Any) -> dict[str, Any]:
    return {
        "unit": unit.code,
        "channel": "paper",
        **extra,
        "responses": [
            {
                "idempotency_key": key,
                "submitted_at": "2026-05-14T09:30:00+08:00",
                "answers": dict.fromkeys(CODES, value),
                "sex": "P",
            }
            for key in keys
        ],
    }


async def test_pages_follow_the_cursor_and_new_rows_do_not_shift_them(
    client: httpx.AsyncClient, session: Session
) -> None:
    unit = make_unit(session)
    _seed(session, unit, 5)
    _, reader = apikeys.create_key(session=session, name="etl", scopes=["responses:read"])
    url = f"/api/v1/responses?unit={unit.code}&period=2026-Q1&limit=2"
    first = await client.get(url, headers=bearer(reader))
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 2
    item = page["items"][0]
    assert item["unit"] == unit.code and item["channel"] == "paper"
    assert item["answers"] == dict(zip(CODES, (4, 3, 2, 4, 3, 3, 4, 3, 1), strict=True))
    assert item["local_date"] == "2026-02-10"
    _seed(session, unit, 3)  # arrives while the client pages
    seen = [i["id"] for i in page["items"]]
    while page["next_cursor"]:
        nxt = await client.get(f"{url}&cursor={page['next_cursor']}", headers=bearer(reader))
        page = nxt.json()
        seen += [i["id"] for i in page["items"]]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 8


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("&cursor=bm9wZQ", 422),
        # a well-formed cursor whose id no database integer holds
        (
            "&cursor=eyJkYXRlIjogIjIwMjYtMDEtMDEiLCAiaWQiOiAxMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwfQ",
            422,
        ),
        ("&limit=1001", 422),
        ("&limit=0", 422),
        ("&shape=round", 422),
    ],
)
async def test_page_parameters_are_checked(
    client: httpx.AsyncClient, session: Session, admin: str, query: str, status: int
) -> None:
    unit = make_unit(session)
    url = f"/api/v1/responses?unit={unit.code}&period=2026{query}"
    result = await client.get(url, headers=bearer(admin))
    assert result.status_code == status
    assert result.json()["error"] == "validation_error"


async def test_csv_export_streams_every_row_escaped(
    client: httpx.AsyncClient, session: Session
) -> None:
    unit = make_unit(session)
    _seed(session, unit, 3, suggestion='=HYPERLINK("http://evil")')
    _, reader = apikeys.create_key(session=session, name="etl", scopes=["responses:read"])
    by_accept = await client.get(
        f"/api/v1/responses?unit={unit.code}&period=2026&limit=1",
        headers={**bearer(reader), "Accept": "text/csv"},
    )
    by_suffix = await client.get(
        f"/api/v1/responses.csv?unit={unit.code}&period=2026", headers=bearer(reader)
    )
    assert by_accept.status_code == by_suffix.status_code == 200
    assert by_accept.text == by_suffix.text
    assert by_suffix.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(by_suffix.text)))
    assert len(rows) == 3  # limit does not apply to the export
    assert list(rows[0])[:9] == [
        "id",
        "unit",
        "service",
        "counter",
        "channel",
        "form",
        "submitted_at",
        "local_date",
        "flagged",
    ]
    assert rows[0]["suggestion"] == '\'=HYPERLINK("http://evil")'
    assert [r["sarana"] for r in rows] == ["1", "2", "3"]
    etag = by_suffix.headers["etag"]
    cached = await client.get(
        f"/api/v1/responses.csv?unit={unit.code}&period=2026",
        headers={**bearer(reader), "If-None-Match": etag},
    )
    assert cached.status_code == 304
    _seed(session, unit, 1)
    changed = await client.get(
        f"/api/v1/responses.csv?unit={unit.code}&period=2026",
        headers={**bearer(reader), "If-None-Match": etag},
    )
    assert changed.status_code == 200 and len(changed.text.splitlines()) == 5


async def test_responses_respect_scope_and_subtree(
    client: httpx.AsyncClient, session: Session
) -> None:
    root, other = make_unit(session), make_unit(session)
    child = make_unit(session, parent=root)
    _seed(session, child, 2)
    _seed(session, other, 2)
    _, limited = apikeys.create_key(
        session=session, name="opd", scopes=["responses:read"], unit_code=root.code
    )
    # The unit's descendants by default, as /ikm counts them.
    mine = await client.get(
        f"/api/v1/responses?unit={root.code}&period=2026", headers=bearer(limited)
    )
    assert [i["unit"] for i in mine.json()["items"]] == [child.code, child.code]
    own_only = await client.get(
        f"/api/v1/responses?unit={root.code}&period=2026&include_children=false",
        headers=bearer(limited),
    )
    assert own_only.json() == {"items": [], "next_cursor": None}
    theirs = await client.get(
        f"/api/v1/responses.csv?unit={other.code}&period=2026", headers=bearer(limited)
    )
    assert theirs.status_code == 404
    _, ikm_only = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    denied = await client.get(
        f"/api/v1/responses?unit={root.code}&period=2026", headers=bearer(ikm_only)
    )
    assert denied.status_code == 403


async def test_posting_with_an_unknown_or_revoked_key_stores_nothing(
    client: httpx.AsyncClient, session: Session
) -> None:
    unit = make_unit(session)
    body = _batch(unit, ["x-1"])
    _, writer = apikeys.create_key(session=session, name="w", scopes=["responses:write"])
    _, reader = apikeys.create_key(session=session, name="r", scopes=["responses:read"])
    unknown = writer[:-4] + ("aaaa" if not writer.endswith("aaaa") else "bbbb")
    assert apikeys.KEY_SHAPE.fullmatch(unknown)
    answers = {
        "unknown": await client.post("/api/v1/responses", json=body, headers=bearer(unknown)),
        "malformed, bad body": await client.post(
            "/api/v1/responses", json={"unit": 1}, headers={"Authorization": "Bearer x"}
        ),
        "no key, bad body": await client.post("/api/v1/responses", json={}),
        "reader": await client.post("/api/v1/responses", json=body, headers=bearer(reader)),
    }
    apikeys.revoke_key(session=session, prefix=writer.partition(".")[0])
    answers["revoked"] = await client.post("/api/v1/responses", json=body, headers=bearer(writer))
    got = {name: (r.status_code, r.json()["error"]) for name, r in answers.items()}
    assert got == {
        "unknown": (401, "unauthorized"),
        "malformed, bad body": (401, "unauthorized"),
        "no key, bad body": (401, "unauthorized"),
        "reader": (403, "forbidden"),
        "revoked": (401, "unauthorized"),
    }
    stored = session.exec(select(func.count()).select_from(Response)).one()
    assert stored == 0


async def test_post_batch_then_replay_and_conflict(
    client: httpx.AsyncClient, session: Session
) -> None:
    unit = make_unit(session)
    org.create_service(
        session=session, data=ServiceCreate(unit_code=unit.code, code="ktp", name="KTP")
    )
    _, writer = apikeys.create_key(session=session, name="kiosk", scopes=["responses:write"])
    body = _batch(unit, ["a-1", "a-2"], service="ktp")
    first = await client.post("/api/v1/responses", json=body, headers=bearer(writer))
    assert first.status_code == 201, first.text
    refs = first.json()["responses"]
    assert [r["idempotency_key"] for r in refs] == ["a-1", "a-2"]
    replay = await client.post("/api/v1/responses", json=body, headers=bearer(writer))
    assert (replay.status_code, replay.json()) == (200, first.json())
    assert replay.headers["idempotent-replayed"] == "true"
    changed = _batch(unit, ["a-3", "a-2"], value=1, service="ktp")
    conflict = await client.post("/api/v1/responses", json=changed, headers=bearer(writer))
    assert (conflict.status_code, conflict.json()["error"]) == (409, "conflict")
    stored = session.exec(
        select(func.count()).select_from(Response).where(col(Response.unit_id) == unit.id)
    ).one()
    assert stored == 2  # a-3 was not stored: the batch is all or nothing
    result = results.scope_ikm(
        session=session,
        scope=scopes.Scope(unit=unit, period=parse_period("2026")),
        method=ikm.DEFAULT_METHOD,
    )
    assert (result.n, result.mutu) == (2, "A")


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"responses": []}, 422),
        ({"channel": "qr"}, 422),
        ({"colour": "red"}, 422),
        ({"service": "nope"}, 404),
        ({"unit": "nope"}, 404),
    ],
)
async def test_post_bad_batches_store_nothing(
    client: httpx.AsyncClient, session: Session, admin: str, change: dict[str, Any], status: int
) -> None:
    unit = make_unit(session)
    body = _batch(unit, ["k-1"]) | change
    result = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert result.status_code == status, result.text
    count = session.exec(select(func.count()).select_from(Response)).one()
    assert session.exec(select(func.count()).select_from(Response)).one() == count


async def test_post_item_errors_name_the_field(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    body = _batch(unit, ["k-1", "k-2"])
    body["responses"][1]["answers"]["waktu"] = 5
    body["responses"][1]["mood"] = "happy"
    bad = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert bad.status_code == 422
    assert bad.json() == {
        "error": "validation_error",
        "detail": "body.responses.1.mood: Extra inputs are not permitted",
        "errors": [
            {
                "loc": ["body", "responses", 1, "mood"],
                "msg": "Extra inputs are not permitted",
                "type": "extra_forbidden",
            }
        ],
    }
    body = _batch(unit, ["k-1", "k-2", "k-1"])
    twice = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    detail = "idempotency key 'k-1' appears more than once in the batch (responses 1 and 3)"
    assert (twice.status_code, twice.json()) == (
        422,
        {
            "error": "validation_error",
            "detail": detail,
            "errors": [
                {
                    "loc": ["body", "responses", 2, "idempotency_key"],
                    "msg": detail,
                    "type": "value_error",
                }
            ],
        },
    )
    body = _batch(unit, ["k-1"])
    body["responses"][0]["answers"]["waktu"] = 5
    out_of_range = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert out_of_range.status_code == 422
    detail = "response 1: answer 5 for waktu is not 1..4"
    assert out_of_range.json() == {
        "error": "validation_error",
        "detail": detail,
        "errors": [
            {
                "loc": ["body", "responses", 0, "answers", "waktu"],
                "msg": detail,
                "type": "value_error",
            }
        ],
    }
    stored = session.exec(
        select(func.count()).select_from(Response).where(col(Response.unit_id) == unit.id)
    ).one()
    assert stored == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answers": {"waktu": True}}, "valid integer"),  # JSON true is not the answer 1
        ({"answers": {"waktu": "4"}}, "valid integer"),
        ({"age": True}, "valid integer"),
        ({"submitted_at": "9999-12-31T23:00:00+00:00"}, "between 2000-01-01 and now"),
        ({"submitted_at": "0001-01-01T00:30:00+05:00"}, "between 2000-01-01 and now"),
        ({"submitted_at": "1999-12-31T23:59:59+00:00"}, "between 2000-01-01 and now"),
    ],
)
async def test_post_refuses_values_that_are_not_what_they_seem(
    client: httpx.AsyncClient, session: Session, admin: str, change: dict[str, Any], message: str
) -> None:
    unit = make_unit(session)
    body = _batch(unit, ["k-1"])
    item = body["responses"][0]
    for field, value in change.items():
        item[field] = {**item[field], **value} if field == "answers" else value
    refused = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "validation_error"
    assert message in refused.json()["detail"]
    assert [e["loc"][:3] for e in refused.json()["errors"]] == [["body", "responses", 0]]
    stored = session.exec(
        select(func.count()).select_from(Response).where(col(Response.unit_id) == unit.id)
    ).one()
    assert stored == 0


async def test_post_batch_of_1000_and_limit(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    keys = [f"k-{i}" for i in range(1001)]
    too_many = await client.post(
        "/api/v1/responses", json=_batch(unit, keys), headers=bearer(admin)
    )
    assert too_many.status_code == 422
    full = await client.post(
        "/api/v1/responses", json=_batch(unit, keys[:1000]), headers=bearer(admin)
    )
    assert full.status_code == 201
    assert len({r["id"] for r in full.json()["responses"]}) == 1000


async def test_oversized_body_is_413(client: httpx.AsyncClient, admin: str) -> None:
    big = b'{"unit": "x", "responses": [' + b" " * (5 * 1024 * 1024) + b"]}"
    declared = await client.post(
        "/api/v1/responses",
        content=big,
        headers={**bearer(admin), "Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.json()["error"] == "payload_too_large"

    async def chunks() -> Any:
        for _ in range(6):
            yield b" " * (1024 * 1024)

    chunked = await client.post(
        "/api/v1/responses",
        content=chunks(),
        headers={**bearer(admin), "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413, chunked.text
    assert chunked.json()["error"] == "payload_too_large"


def _stored_rows(session: Session, unit: Unit) -> list[Response]:
    return list(session.exec(select(Response).where(col(Response.unit_id) == unit.id)).all())


@pytest.mark.parametrize("channel", ["paper", "kiosk", "api"])
async def test_post_refuses_a_questionnaire_without_answers(
    client: httpx.AsyncClient, session: Session, admin: str, channel: str
) -> None:
    unit = make_unit(session)
    body = _batch(unit, ["k-1", "k-2"], channel=channel)
    body["responses"][1]["answers"] = {"waktu": None}
    refused = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert (refused.status_code, refused.json()) == (
        422,
        {
            "error": "validation_error",
            "detail": "response 2: no element is answered",
            "errors": [
                {
                    "loc": ["body", "responses", 1, "answers"],
                    "msg": "response 2: no element is answered",
                    "type": "value_error",
                }
            ],
        },
    )
    assert _stored_rows(session, unit) == []


@pytest.mark.parametrize("channel", ["kiosk", "api"])
async def test_post_refuses_a_partial_questionnaire_outside_paper(
    client: httpx.AsyncClient, session: Session, admin: str, channel: str
) -> None:
    unit = make_unit(session)
    body = _batch(unit, ["k-1"], channel=channel)
    del body["responses"][0]["answers"]["waktu"]
    body["responses"][0]["answers"]["sarana"] = None
    refused = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    detail = (
        "response 1: element(s) waktu, sarana not answered; only the paper channel may leave "
        "elements blank"
    )
    assert (refused.status_code, refused.json()["detail"]) == (422, detail)
    assert refused.json()["errors"][0]["loc"] == ["body", "responses", 0, "answers"]
    assert _stored_rows(session, unit) == []


async def test_post_paper_keeps_blanks_as_null(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    body = _batch(unit, ["k-1"])  # channel paper
    del body["responses"][0]["answers"]["waktu"]
    stored = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert stored.status_code == 201, stored.text
    [row] = _stored_rows(session, unit)
    assert (row.a2, row.a3, row.a4) == (4, None, 4)


async def test_post_date_only_is_noon_in_the_units_time_zone(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session, tz="WIT")
    body = _batch(unit, ["k-1"])
    body["responses"][0]["submitted_at"] = "2026-05-14"
    stored = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert stored.status_code == 201, stored.text
    [row] = _stored_rows(session, unit)
    assert (row.submitted_at, row.local_date) == (
        datetime(2026, 5, 14, 3, tzinfo=UTC),
        date(2026, 5, 14),
    )
    replay = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert replay.status_code == 200
    body["responses"][0]["submitted_at"] = "2026-05-14T09:30:00"
    naive = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert naive.status_code == 422
    assert naive.json()["errors"] == [
        {
            "loc": ["body", "responses", 0, "submitted_at"],
            "msg": "submitted_at needs a time zone offset (2026-05-14T09:30:00+08:00), or give "
            "the date alone (2026-05-14: 12:00 in the unit's time zone)",
            "type": "value_error",
        }
    ]


async def _forms_of(client: httpx.AsyncClient, admin: str, unit: Unit) -> list[str]:
    page = await client.get(
        f"/api/v1/responses?unit={unit.code}&period=2026", headers=bearer(admin)
    )
    return [item["form"] for item in page.json()["items"]]


async def test_post_names_the_form_it_answered(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    body = _batch(unit, ["k-1"], form="kepmenpan-25-2004")
    body["responses"][0]["answers"] = dict.fromkeys(KEPMENPAN_2004, 3)
    stored = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert stored.status_code == 201, stored.text
    assert await _forms_of(client, admin, unit) == ["kepmenpan-25-2004"]
    unknown = await client.post(
        "/api/v1/responses", json=_batch(unit, ["k-2"], form="nope"), headers=bearer(admin)
    )
    detail = (
        "unknown form 'nope'; known forms: kepmenpan-25-2004, permenpan-rb-14-2017, "
        "permenpan-rb-16-2014"
    )
    assert (unknown.status_code, unknown.json()) == (
        422,
        {
            "error": "validation_error",
            "detail": detail,
            "errors": [{"loc": ["body", "form"], "msg": detail, "type": "value_error"}],
        },
    )


async def test_post_uses_the_units_own_form(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    patched = await client.patch(
        f"/api/v1/units/{unit.code}", json={"form_code": "kepmenpan-25-2004"}, headers=bearer(admin)
    )
    assert patched.json()["form"] == "kepmenpan-25-2004"
    body = _batch(unit, ["k-1"])
    body["responses"][0]["answers"] = dict.fromkeys(KEPMENPAN_2004, 4)
    stored = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert stored.status_code == 201, stored.text
    standard = await client.post(
        "/api/v1/responses", json=_batch(unit, ["k-2"]), headers=bearer(admin)
    )
    assert standard.status_code == 422
    assert "unknown element(s)" in standard.json()["detail"]
    assert await _forms_of(client, admin, unit) == ["kepmenpan-25-2004"]


@pytest.fixture
def default_form(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Sets SKM_DEFAULT_FORM for one test; the cached settings are read again after it."""

    def use(code: str) -> None:
        monkeypatch.setenv("SKM_DEFAULT_FORM", code)
        get_settings.cache_clear()

    yield use
    monkeypatch.undo()
    get_settings.cache_clear()


async def test_default_form_setting_applies_to_units_without_a_form(
    client: httpx.AsyncClient,
    session: Session,
    admin: str,
    default_form: Callable[[str], None],
) -> None:
    default_form("permenpan-rb-16-2014")
    unit = make_unit(session)
    body = _batch(unit, ["k-1"])
    body["responses"][0]["answers"] = dict.fromkeys((*CODES[:8], "maklumat"), 4)
    stored = await client.post("/api/v1/responses", json=body, headers=bearer(admin))
    assert stored.status_code == 201, stored.text
    assert await _forms_of(client, admin, unit) == ["permenpan-rb-16-2014"]


async def test_a_new_version_of_the_units_form_is_used_from_the_next_response(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    posted = []
    for key in ("before", "after"):
        if key == "after":
            version = reordered_version(session)
        answer = await client.post(
            "/api/v1/responses", json=_batch(unit, [key]), headers=bearer(admin)
        )
        assert answer.status_code == 201, answer.text
        posted.append(answer.json()["responses"][0]["id"])
    stored = {
        r.id: r.form_version_id
        for r in session.exec(select(Response).where(col(Response.unit_id) == unit.id))
    }
    assert stored[posted[1]] == version.id != stored[posted[0]]


async def test_one_response_post_runs_few_cached_statements(
    client: httpx.AsyncClient, session: Session, admin: str, statement_log: StatementLog
) -> None:
    """The cost of an ingest: the key with the unit and its form (one statement), the insert
    and the three rollups (on PostgreSQL one statement), each statement compiled once (no
    "[generated in" after the first request), no re-reads. The first use of a key also
    notes it (an UPDATE), without reading the unit again."""
    unit = make_unit(session)
    writes = 1 if is_postgresql(session) else 4
    with statement_log.recording() as statements:
        first = await client.post(
            "/api/v1/responses", json=_batch(unit, ["a"]), headers=bearer(admin)
        )
    assert first.status_code == 201
    assert [s.sql.split()[0] for s in statements].count("UPDATE") == 1  # the key's use
    assert len([s for s in statements if re.search(r"(FROM|JOIN) unit\b", s.sql)]) == 1
    with statement_log.recording() as statements:
        second = await client.post(
            "/api/v1/responses", json=_batch(unit, ["b"]), headers=bearer(admin)
        )
    assert second.status_code == 201
    assert len(statements) == 1 + writes, [s.sql for s in statements]
    assert [s.sql for s in statements if not s.cached] == []


# --- group commit: the posts a worker has in flight, stored in one transaction ---


def _rollups_match_a_rebuild(session: Session, unit_ids: list[int | None]) -> bool:
    kept = rollup_sums(session, unit_ids), coarse_sums(session, unit_ids)
    rollups.rebuild(session=session, unit_ids=[i for i in unit_ids if i], commit=False)
    return kept == (rollup_sums(session, unit_ids), coarse_sums(session, unit_ids)) != ([], [])


def _posts(database: Database, *posts: tuple[str, dict[str, Any]]) -> list[responses_api._Post]:
    return [
        responses_api._Post(database, f"Bearer {key}", responses_api.ResponseBatch(**body))
        for key, body in posts
    ]


def _settled(outcomes: list[Any]) -> list[tuple[int, Any]]:
    """(status, body or error code) of each outcome, as its request would answer."""
    found = []
    for outcome in outcomes:
        if isinstance(outcome, AppError):
            found.append((outcome.status, outcome.code))
        else:
            found.append((outcome.status_code, json.loads(outcome.body)))
    return found


async def test_posts_in_flight_are_stored_in_one_transaction_each_answered_as_alone(
    database: Database, session: Session, admin: str, statement_log: StatementLog
) -> None:
    unit, other = make_unit(session), make_unit(session)
    org.create_service(
        session=session, data=ServiceCreate(unit_code=unit.code, code="ktp", name="KTP")
    )
    _, reader = apikeys.create_key(session=session, name="r", scopes=["responses:read"])
    unknown = admin[:-4] + ("aaaa" if not admin.endswith("aaaa") else "bbbb")
    posts = _posts(
        database,
        (admin, _batch(unit, ["a-1", "a-2"])),
        (admin, _batch(unit, ["b-1"], service="ktp")),
        (admin, _batch(unit, ["c-1"], value=5)),  # an answer out of range
        (admin, _batch(unit, ["d-1"], service="nope")),
        (reader, _batch(unit, ["e-1"])),
        (unknown, _batch(unit, ["f-1"])),
        (admin, _batch(other, ["a-1"])),  # the same client key in another unit: its own
    )
    with statement_log.recording() as statements:
        outcomes = responses_api._store_posts(posts)
    settled = _settled(outcomes)
    assert [status for status, _ in settled] == [201, 201, 422, 404, 403, 401, 201]
    assert [r["idempotency_key"] for r in settled[0][1]["responses"]] == ["a-1", "a-2"]
    assert settled[2][1] == "validation_error"
    inserts = [s for s in statements if "INSERT INTO response (" in s.sql]
    assert len(inserts) == 1  # the four stored responses of three posts: one statement
    stored = {
        (r.unit_id, r.idempotency_key.rsplit(":", 1)[1], r.service_id is not None): r.id
        for r in session.exec(select(Response))
    }
    mine = [(unit.id, "a-1", False), (unit.id, "a-2", False), (unit.id, "b-1", True)]
    assert sorted(stored, key=str) == sorted([*mine, (other.id, "a-1", False)], key=str)
    answered = (settled[0][1], settled[1][1], settled[6][1])
    ids = [ref["id"] for body in answered for ref in body["responses"]]
    assert sorted(ids) == sorted(i for i in stored.values() if i is not None)
    assert _rollups_match_a_rebuild(session, [unit.id, other.id])
    # Each answer is what the post alone gets on a replay, id for id.
    again = [
        _settled([responses_api._store_batch(p.database, p.authorization, p.body)])[0]
        for p in (posts[0], posts[1], posts[6])
    ]
    assert tuple(body for _, body in again) == answered


async def test_a_group_that_cannot_be_settled_together_is_stored_one_post_at_a_time(
    database: Database, session: Session, admin: str
) -> None:
    """A key reused with another body (409) and one idempotency key in two posts (the second
    is its replay) roll the group back; alone, each post gets what it would have."""
    unit = make_unit(session)
    _, first = _settled(
        responses_api._store_posts(_posts(database, (admin, _batch(unit, ["old"]))))
    )[0]
    posts = _posts(
        database,
        (admin, _batch(unit, ["new-1"])),
        (admin, _batch(unit, ["new-2", "old"], value=1)),  # "old" with another body
        (admin, _batch(unit, ["new-1"])),  # a retry of the first post, in the same group
    )
    settled = _settled(responses_api._store_posts(posts))
    assert [status for status, _ in settled] == [201, 409, 200]
    assert settled[2][1] == settled[0][1]  # the retry names the same stored response
    keys = sorted(r.idempotency_key.rsplit(":", 1)[1] for r in session.exec(select(Response)))
    assert keys == ["new-1", "old"]  # new-2 was not stored: its post is all or nothing
    assert _rollups_match_a_rebuild(session, [unit.id])
    assert first["responses"][0]["idempotency_key"] == "old"


async def test_concurrent_posts_are_each_answered(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    answers = await asyncio.gather(
        *(
            client.post("/api/v1/responses", json=_batch(unit, [f"k-{i}"]), headers=bearer(admin))
            for i in range(12)
        )
    )
    assert [a.status_code for a in answers] == [201] * 12
    keys = [a.json()["responses"][0]["idempotency_key"] for a in answers]
    assert keys == [f"k-{i}" for i in range(12)]
    assert len({a.json()["responses"][0]["id"] for a in answers}) == 12
    assert _rollups_match_a_rebuild(session, [unit.id])

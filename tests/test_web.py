import asyncio
import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, func, select
from sqlmodel.sql.expression import Select

from app.citizen import routes as citizen_routes
from app.config import get_settings
from app.db import Database, is_postgresql
from app.group_commit import GroupCommit
from app.models import (
    Counter,
    CounterCreate,
    CounterUpdate,
    RateLimit,
    Response,
    ServiceCreate,
    ServiceUpdate,
    Unit,
    UnitUpdate,
)
from app.services import citizen, org, questionnaires, rollups
from tests.conftest import Cli, StatementLog
from tests.factories import CODES, bearer, make_unit, rollup_sums

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Response)).one()


def _counter(session: Session, *, services_count: int = 1) -> Counter:
    unit = make_unit(session)
    for i in range(services_count):
        data = ServiceCreate(unit_code=unit.code, code=f"svc-{i}", name=f"Layanan {i}")
        org.create_service(session=session, data=data)
    return org.create_counter(
        session=session, data=CounterCreate(unit_code=unit.code, code="loket-1", name="Loket 1")
    )


# The anonymous browser id every test client holds (as its cookie) unless a test says not.
BROWSER = "test-browser-000000001"
OTHER_BROWSER = "test-browser-000000002"


def _token(counter: Counter, age_seconds: int = 60, browser: str = BROWSER) -> str:
    assert counter.id is not None
    issued = datetime.now(UTC) - timedelta(seconds=age_seconds)
    secret = get_settings().secret_key.get_secret_value()
    return citizen.issue_form_token(secret, counter.id, issued, browser=browser)


def _hold_browser_cookie(client: httpx.AsyncClient, browser: str | None) -> None:
    """The client's browser cookie, where the server's Set-Cookie would put it (httpx files
    a dotless host such as "test" under "test.local"); None: no cookie."""
    if browser is not None:
        client.cookies.set(citizen.BROWSER_COOKIE, browser, domain="test.local", path="/s/")
        return
    with contextlib.suppress(KeyError):  # there was none
        client.cookies.jar.clear("test.local", "/s/", citizen.BROWSER_COOKIE)


def _answers(counter: Counter, **overrides: str) -> dict[str, str]:
    fields = dict.fromkeys(CODES, "4")
    fields.update(form_token=_token(counter), sex="P", age="41", saran="Ruang tunggu panas")
    fields.update(overrides)
    return fields


async def _post(
    client: httpx.AsyncClient,
    counter: Counter,
    fields: dict[str, str],
    query: str = "",
    *,
    browser: str | None = BROWSER,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A form POST from the browser whose cookie holds ``browser`` (the one ``_token`` signs
    for unless told otherwise)."""
    _hold_browser_cookie(client, browser)
    return await client.post(
        f"/s/{counter.token}{query}",
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded", **(headers or {})},
    )


async def test_survey_page_is_light_and_self_contained(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    response = await client.get(f"/s/{counter.token}")
    assert response.status_code == 200
    html = response.text
    assert len(response.content) < 50_000
    assert html.count("<fieldset") == 9 + 2  # nine unsur, profile, saran
    assert "Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?" in html
    assert "Gratis" in html and "Survei ini anonim" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # no CDN, font or script
    assert "<script" not in html
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "form-action 'self'" in policy
    assert response.headers["cache-control"] == "no-store"  # it holds a one-time form token
    head = await client.head(f"/s/{counter.token}")
    assert (head.status_code, head.content) == (200, b"")


async def test_survey_page_english_switch(client: httpx.AsyncClient, session: Session) -> None:
    counter = _counter(session)
    response = await client.get(f"/s/{counter.token}?lang=en")
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "How reasonable is the cost/fee of the service?" in response.text
    assert "Send answers" in response.text


async def test_submit_stores_once_and_redirects_to_thanks(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    before = _count(session)
    fields = _answers(counter)
    response = await _post(client, counter, fields)
    assert response.status_code == 303
    assert response.headers["location"] == f"/s/{counter.token}/terima-kasih?lang=id"
    replay = await _post(client, counter, fields)  # back button, or a replayed POST
    assert replay.status_code == 303
    assert _count(session) == before + 1
    stored = session.exec(select(Response).where(Response.counter_id == counter.id)).one()
    assert (stored.channel, stored.a3, stored.sex, stored.age) == ("qr", 4, "P", 41)
    assert stored.service_id is not None  # the unit's only service
    thanks = await client.get(response.headers["location"])
    assert "Terima kasih" in thanks.text


async def test_a_nul_in_saran_is_dropped_not_refused(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    response = await _post(client, counter, _answers(counter, saran="Antrean\x00 lama"))
    assert response.status_code == 303
    stored = session.exec(select(Response).where(Response.counter_id == counter.id)).one()
    assert stored.suggestion == "Antrean lama"


def _channels_and_flags(counter: Counter) -> Select[str, bool]:
    return (
        select(Response.channel, Response.flagged)
        .where(Response.counter_id == counter.id)
        .order_by(col(Response.id))
    )


def _make_kiosk(session: Session, counter: Counter) -> Counter:
    return org.update_counter(session=session, counter=counter, data=CounterUpdate(kiosk=True))


def _preset_client_hits(session: Session, hits: int) -> None:
    """This test client's hourly count, as if it had already sent ``hits`` answers (the next
    hour too, so a test that crosses the hour sees the same)."""
    now = datetime.now(UTC)
    bucket = citizen.client_bucket(get_settings().secret_key.get_secret_value(), "127.0.0.1", now)
    window = now.replace(minute=0, second=0, microsecond=0)
    for start in (window, window + timedelta(hours=1)):
        session.add(RateLimit(bucket=bucket, window_start=start, hits=hits))
    session.commit()


async def test_kiosk_counter_gets_kiosk_behaviour_without_a_query(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _make_kiosk(session, _counter(session))
    page = await client.get(f"/s/{counter.token}")
    assert '<body class="kiosk">' in page.text
    assert page.text.count('class="face"') == 9 * 4  # large face buttons, words kept
    assert "Sangat sesuai" in page.text
    assert "?mode=" not in page.text
    first = await _post(client, counter, _answers(counter))
    assert first.status_code == 303
    assert "set-cookie" not in first.headers  # one browser for everyone: no device cookie
    # Even a device cookie left from when this was a QR counter flags nothing on a kiosk.
    assert counter.id is not None
    secret = get_settings().secret_key.get_secret_value()
    client.cookies.set(
        citizen.DEVICE_COOKIE, citizen.device_cookie(secret, counter.id, datetime.now(UTC))
    )
    page = await client.get(f"/s/{counter.token}")
    assert "Saudara sudah mengisi survei" not in page.text
    second = await _post(client, counter, _answers(counter, persyaratan="1"))
    assert second.status_code == 303
    stored = _channels_and_flags(counter)
    assert session.exec(stored).all() == [("kiosk", False), ("kiosk", False)]
    thanks = await client.get(first.headers["location"])
    assert f'content="8;url=/s/{counter.token}?lang=id"' in thanks.text  # a fresh form next


async def test_kiosk_counter_allows_ten_times_the_client_limit(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _make_kiosk(session, _counter(session))
    _preset_client_hits(session, 10 * get_settings().rate_per_client_hour - 1)
    assert (await _post(client, counter, _answers(counter))).status_code == 303
    assert (await _post(client, counter, _answers(counter))).status_code == 429


async def test_mode_kiosk_query_on_a_normal_counter_is_ignored(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    page = await client.get(f"/s/{counter.token}?mode=kiosk")
    assert page.status_code == 200
    assert 'class="face"' not in page.text and 'class="kiosk"' not in page.text
    first = await _post(client, counter, _answers(counter), "?mode=kiosk")
    assert first.status_code == 303
    assert first.headers["location"] == f"/s/{counter.token}/terima-kasih?lang=id"
    assert citizen.DEVICE_COOKIE in first.headers["set-cookie"]
    second = await _post(client, counter, _answers(counter, persyaratan="1"), "?mode=kiosk")
    assert second.status_code == 303
    stored = _channels_and_flags(counter)
    assert session.exec(stored).all() == [("qr", False), ("qr", True)]
    thanks = await client.get(f"/s/{counter.token}/terima-kasih?lang=id&mode=kiosk")
    assert (thanks.status_code, "http-equiv" in thanks.text) == (200, False)


async def test_mode_kiosk_query_does_not_raise_the_client_limit(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    _preset_client_hits(session, get_settings().rate_per_client_hour)
    response = await _post(client, counter, _answers(counter), "?mode=kiosk")
    assert response.status_code == 429
    assert "Terlalu banyak pengiriman" in response.text


async def test_kiosk_is_set_by_staff_over_the_api_and_the_cli(
    client: httpx.AsyncClient, session: Session, admin: str, run_cli: Cli
) -> None:
    counter = _counter(session)
    unit = session.get(Unit, counter.unit_id)
    assert unit is not None
    url = f"/api/v1/units/{unit.code}/counters/loket-1"
    patched = await client.patch(url, json={"kiosk": True}, headers=bearer(admin))
    assert (patched.status_code, patched.json()["kiosk"]) == (200, True)
    assert '<body class="kiosk">' in (await client.get(f"/s/{counter.token}")).text
    code, output = run_cli("counter", "kiosk", "--unit", unit.code, "loket-1", "--off")
    assert (code, output) == (
        0,
        f"counter loket-1 of unit {unit.code} is a QR point for personal phones\n",
    )
    assert 'class="kiosk"' not in (await client.get(f"/s/{counter.token}")).text
    code, output = run_cli("counter", "kiosk", "--unit", unit.code, "loket-1", "--on")
    assert (code, output) == (
        0,
        f"counter loket-1 of unit {unit.code} is a kiosk (shared tablet)\n",
    )
    assert (await client.get(url, headers=bearer(admin))).json()["kiosk"] is True
    created = await client.post(
        f"/api/v1/units/{unit.code}/counters",
        json={"code": "tablet-2", "name": "Tablet 2", "kiosk": True},
        headers=bearer(admin),
    )
    assert (created.status_code, created.json()["kiosk"]) == (201, True)
    code, output = run_cli("counter", "kiosk", "--unit", unit.code, "loket-1")
    assert code == 2 and "--on" in output  # on or off must be said


@pytest.mark.parametrize(
    ("overrides", "status", "text"),
    [
        ({"persyaratan": ""}, 422, "Mohon pilih salah satu jawaban."),
        ({"waktu": "5"}, 422, "Mohon pilih salah satu jawaban."),
        ({"age": "empat puluh"}, 422, "Isikan angka 10 sampai 110."),
        ({"age": "4²"}, 422, "Isikan angka 10 sampai 110."),  # isdigit() yet not int()
        ({"age": "4" * 5000}, 422, "Isikan angka 10 sampai 110."),
        ({"sex": "X"}, 422, "Pilihan tidak dikenal."),
        ({"saran": "x" * 2001}, 422, "Saran paling banyak 2000 karakter."),
        ({"website": "http://spam.example"}, 400, citizen.AUTOMATED),
        ({"form_token": "forged"}, 400, citizen.INVALID_FORM),
        ({"form_token": "1.abc.0123"}, 400, "Sesi formulir tidak dikenali."),
        ({"form_token": "fresh"}, 422, "Formulir dikirim terlalu cepat."),
        ({"form_token": "stale"}, 422, "Formulir sudah kedaluwarsa."),
    ],
)
async def test_bad_submission_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, session: Session, overrides: dict[str, str], status: int, text: str
) -> None:
    counter = _counter(session)
    if overrides.get("form_token") == "fresh":
        overrides["form_token"] = _token(counter, age_seconds=3)
    if overrides.get("form_token") == "stale":
        overrides["form_token"] = _token(counter, age_seconds=3 * 60 * 60)
    before = _count(session)
    response = await _post(client, counter, _answers(counter, **overrides))
    assert response.status_code == status
    assert text in response.text
    assert _count(session) == before
    if status == 422:
        assert 'value="4" checked' in response.text  # the citizen's answers are kept


async def test_service_required_when_counter_serves_several(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session, services_count=2)
    response = await _post(client, counter, _answers(counter))
    assert response.status_code == 422
    assert "Mohon pilih jenis layanan" in response.text
    ok = await _post(client, counter, _answers(counter, service="svc-1"))
    assert ok.status_code == 303


async def test_oversized_body_is_refused(client: httpx.AsyncClient, session: Session) -> None:
    counter = _counter(session)
    before = _count(session)
    response = await _post(client, counter, _answers(counter, filler="x" * 20_000))
    assert response.status_code == 413
    assert response.headers["content-type"] == "text/html; charset=utf-8"  # a page, not JSON
    assert f"<p>{citizen.TOO_LARGE}</p>" in response.text
    assert _count(session) == before


@pytest.mark.parametrize("lang", ["fr", "", "ID", "x" * 300])
async def test_an_unknown_language_gets_the_page_in_bahasa_indonesia(
    client: httpx.AsyncClient, session: Session, lang: str
) -> None:
    counter = _counter(session)
    response = await client.get(f"/s/{counter.token}", params={"lang": lang})
    assert response.status_code == 200
    assert '<html lang="id">' in response.text


async def test_unknown_and_closed_links(client: httpx.AsyncClient, session: Session) -> None:
    assert (await client.get("/s/no-such-token")).status_code == 404
    nul = await client.get("/s/%00")  # PostgreSQL cannot even compare text holding a NUL
    assert (nul.status_code, nul.headers["content-type"][:9]) == (404, "text/html")
    counter = _counter(session)
    org.update_counter(session=session, counter=counter, data=CounterUpdate(active=False))
    page = await client.get(f"/s/{counter.token}")
    assert page.status_code == 410
    assert "survei untuk loket ini sudah ditutup" in page.text
    before = _count(session)
    assert (await _post(client, counter, _answers(counter))).status_code == 410
    assert _count(session) == before


async def test_second_answer_from_same_browser_is_flagged_not_counted(
    client: httpx.AsyncClient, session: Session, run_cli: Cli
) -> None:
    counter = _counter(session)
    first = await _post(client, counter, _answers(counter))
    assert first.status_code == 303
    assert citizen.DEVICE_COOKIE in first.headers["set-cookie"]
    page = await client.get(f"/s/{counter.token}")  # the client keeps the cookie
    assert "Saudara sudah mengisi survei di loket ini" in page.text
    second = await _post(client, counter, _answers(counter, persyaratan="1"))
    assert second.status_code == 303
    rows = session.exec(select(Response.flagged).where(Response.counter_id == counter.id)).all()
    assert sorted(rows) == [False, True]
    unit = session.get(Unit, counter.unit_id)
    assert unit is not None
    period = datetime.now(UTC).astimezone(unit.zone).strftime("%Y-%m")
    code, output = run_cli("ikm", "--unit", unit.code, "--period", period, "--json")
    assert (code, json.loads(output)["n"]) == (0, 1)
    code, output = run_cli(
        "ikm", "--unit", unit.code, "--period", period, "--include-flagged", "--json"
    )
    assert (code, json.loads(output)["n"]) == (0, 2)


async def test_rate_limit_per_client_answers_429_and_stores_nothing(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    settings = get_settings()
    for _ in range(settings.rate_per_client_hour):
        assert (await _post(client, counter, _answers(counter))).status_code == 303
    before = _count(session)
    response = await _post(client, counter, _answers(counter))
    assert response.status_code == 429
    assert "Terlalu banyak pengiriman" in response.text
    assert _count(session) == before
    # The refused submission used up nothing of the counter's own limit.
    hits = select(func.sum(RateLimit.hits)).where(RateLimit.bucket == f"counter:{counter.id}")
    assert session.exec(hits).one() == settings.rate_per_client_hour
    stored = session.exec(select(RateLimit.bucket)).all()
    assert all("testclient" not in b and "127.0.0.1" not in b for b in stored)  # no raw IP


async def test_junk_posts_are_not_counted_against_the_limits(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    for _ in range(get_settings().rate_per_client_hour + 5):
        junk = await _post(client, counter, {"junk": "1"})  # no form token: refused first
        assert junk.status_code == 400
    assert (await _post(client, counter, _answers(counter))).status_code == 303
    counted = select(RateLimit.hits).where(RateLimit.bucket == f"counter:{counter.id}")
    assert session.exec(counted).all() == [1]  # only the real submission


def test_client_buckets_group_an_ipv6_64_and_unwrap_mapped_ipv4() -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)

    def bucket(address: str) -> str:
        return citizen.client_bucket("s", address, now)

    assert bucket("2001:db8:1:2::1") == bucket("2001:db8:1:2:ffff::9")
    assert bucket("2001:db8:1:2::1") != bucket("2001:db8:1:3::1")
    assert bucket("::ffff:198.51.100.7") == bucket("198.51.100.7")
    assert bucket("198.51.100.7") != bucket("198.51.100.8")


def test_client_ip_trusts_forwarded_for_only_from_configured_proxies() -> None:
    chain = "203.0.113.9, 198.51.100.7"
    assert citizen.client_ip("10.0.0.5", chain, []) == "10.0.0.5"
    assert citizen.client_ip("10.0.0.5", chain, ["10.0.0.0/8"]) == "198.51.100.7"
    assert citizen.client_ip("10.0.0.5", chain, ["10.0.0.0/8", "198.51.100.7"]) == "203.0.113.9"
    assert citizen.client_ip("192.0.2.1", chain, ["10.0.0.0/8"]) == "192.0.2.1"


def test_client_bucket_rotates_daily_and_hides_the_address() -> None:
    day = datetime(2026, 5, 1, 10, tzinfo=UTC)
    first = citizen.client_bucket("secret", "203.0.113.9", day)
    assert first == citizen.client_bucket("secret", "203.0.113.9", day + timedelta(hours=5))
    assert first != citizen.client_bucket("secret", "203.0.113.9", day + timedelta(days=1))
    assert "203.0.113.9" not in first


async def test_refused_submission_lists_each_problem_with_a_link_to_it(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session, services_count=2)
    fields = _answers(counter, persyaratan="", waktu="9", age="empat puluh")
    response = await _post(client, counter, fields)
    assert response.status_code == 422
    html = response.text
    assert "<title>Ada isian yang perlu diperbaiki: " in html
    summary = html[html.index('<div class="alert" role="alert">') : html.index("</ul>")]
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)
    assert links == [
        (
            "service",
            "Jenis layanan yang Saudara terima: Mohon pilih jenis layanan yang Saudara terima.",
        ),
        ("q-persyaratan", "Pertanyaan 1 (Persyaratan): Mohon pilih salah satu jawaban."),
        ("q-waktu", "Pertanyaan 3 (Waktu Penyelesaian): Mohon pilih salah satu jawaban."),
        ("p-age", "Usia (tahun): Isikan angka 10 sampai 110."),
    ]
    for anchor, _ in links:
        assert html.count(f'id="{anchor}"') == 1  # each link lands on its question


async def test_too_fast_message_addresses_the_citizen_as_saudara(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    response = await _post(client, counter, _answers(counter, form_token=_token(counter, 1)))
    assert response.status_code == 422
    assert "Mohon periksa kembali jawaban Saudara, lalu kirim lagi." in response.text
    assert not re.search(r"\bAnda\b", response.text)


async def test_language_switch_is_a_small_link_below_the_header(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    html = (await client.get(f"/s/{counter.token}")).text
    switch = '<p class="lang"><a href="?lang=en" hreflang="en" lang="en">English</a></p>'
    assert html.index("</header>") < html.index(switch) < html.index("<form")
    english = (await client.get(f"/s/{counter.token}?lang=en")).text
    assert '<a href="?lang=id" hreflang="id" lang="id">Bahasa Indonesia</a>' in english


async def test_page_names_the_pemda_above_the_unit(
    client: httpx.AsyncClient, session: Session, statement_log: StatementLog
) -> None:
    pemda = make_unit(session)
    opd = make_unit(session, parent=pemda)
    unit = make_unit(session, parent=opd)
    data = CounterCreate(unit_code=unit.code, code="loket-1", name="Loket 1")
    counter = org.create_counter(session=session, data=data)
    html = (await client.get(f"/s/{counter.token}")).text
    with statement_log.recording() as statements:  # the form's version known by now
        assert (await client.get(f"/s/{counter.token}")).status_code == 200
    # The pemda comes with the counter and its unit; the second reads the unit's services
    # (the counter has no service of its own).
    assert len(statements) == 2, [s.sql[:60] for s in statements]
    header = html[html.index("<header") : html.index("</header>")]
    assert header.index(f'<p class="pemda">{pemda.name}</p>') < header.index(unit.name)
    assert opd.name not in header
    top = _counter(session)  # a unit at the top of its tree: no pemda line above it
    assert 'class="pemda"' not in (await client.get(f"/s/{top.token}")).text


async def test_page_in_a_tree_a_loop_got_into_answers_without_a_pemda(
    client: httpx.AsyncClient, session: Session
) -> None:
    """The pemda is read with the counter by a walk up the tree; a loop (two moves racing on
    an older version could close one) has no top, and the walk still ends."""
    first = make_unit(session)
    second = make_unit(session, parent=first)
    session.execute(sa.update(Unit).where(col(Unit.id) == first.id).values(parent_id=second.id))
    session.commit()
    data = CounterCreate(unit_code=second.code, code="loket-1", name="Loket 1")
    counter = org.create_counter(session=session, data=data)
    page = await client.get(f"/s/{counter.token}")
    assert page.status_code == 200
    assert second.name in page.text
    assert 'class="pemda"' not in page.text


async def test_landing_page_explains_the_service_in_bahasa_indonesia(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<html lang="id">' in html
    assert "<h1>Survei Kepuasan Masyarakat</h1>" in html
    assert "pindai kode QR yang terpasang di loket" in html
    assert re.findall(r'href="([^"]*)"', html) == ["/hasil", "/console", "/docs"]
    assert "<script" not in html
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert (await client.get("/docs")).status_code == 200
    head = await client.head("/")
    assert (head.status_code, head.content) == (200, b"")


async def test_survey_asks_the_units_own_form(client: httpx.AsyncClient, session: Session) -> None:
    """A unit whose form is set (here the 14-element KepmenPAN 25/2004 form) shows and records
    that form, not the default one."""
    counter = _counter(session)
    unit = session.get(Unit, counter.unit_id)
    assert unit is not None
    org.update_unit(session=session, unit=unit, data=UnitUpdate(form_code="kepmenpan-25-2004"))
    version, form = questionnaires.current_form(session=session, code="kepmenpan-25-2004")
    page = await client.get(f"/s/{counter.token}")
    assert page.status_code == 200
    assert page.text.count("<fieldset") == len(form.elements) + 2  # 14 unsur, profile, saran
    fields = dict.fromkeys(form.element_codes, "3")
    fields.update(form_token=_token(counter), service="svc-0")
    sent = await _post(client, counter, fields)
    assert sent.status_code == 303, sent.text
    stored = session.exec(select(Response).where(Response.counter_id == counter.id)).one()
    assert (stored.form_version_id, stored.a14) == (version.id, 3)


def _form_token(html: str) -> str:
    found = re.search(r'<input type="hidden" name="form_token" value="([^"]+)">', html)
    assert found is not None
    return found.group(1)


def _check(counter: Counter, token: str, browser: str | None) -> str:
    """The nonce of a token served now, as if posted a minute later from ``browser``."""
    assert counter.id is not None
    return citizen.check_form_token(
        get_settings().secret_key.get_secret_value(),
        counter.id,
        token,
        datetime.now(UTC) + timedelta(seconds=60),
        browser=browser,
        min_seconds=5,
        max_seconds=3600,
    )


async def test_survey_page_gives_a_new_browser_an_anonymous_id_once(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    first = await client.get(f"/s/{counter.token}")
    cookie = first.headers["set-cookie"]
    found = re.fullmatch(
        r"skm_browser=([A-Za-z0-9_-]{22}); HttpOnly; Path=/s/; SameSite=lax", cookie
    )
    assert found is not None, cookie  # a session cookie for the survey pages only
    browser, token = found.group(1), _form_token(first.text)
    assert _check(counter, token, browser) == token.split(".")[1]  # this browser's token
    with pytest.raises(citizen.FormSessionUnknown):
        _check(counter, token, OTHER_BROWSER)
    with pytest.raises(citizen.FormSessionUnknown):
        _check(counter, token, None)
    again = await client.get(f"/s/{counter.token}?lang=en")  # the client sends the cookie
    assert "set-cookie" not in again.headers
    token = _form_token(again.text)
    assert _check(counter, token, browser) == token.split(".")[1]
    _hold_browser_cookie(client, "not an id")
    replaced = await client.get(f"/s/{counter.token}")
    assert replaced.headers["set-cookie"].startswith("skm_browser=")
    assert replaced.headers["set-cookie"] != cookie  # random, not derived from anything


@pytest.mark.parametrize("browser", [None, OTHER_BROWSER])
async def test_form_posted_without_its_browser_shows_a_fresh_form(
    client: httpx.AsyncClient, session: Session, browser: str | None
) -> None:
    """No cookie (a cross-site POST carries none; a cleared browser) or another browser's:
    400 with an empty form for this browser, nothing stored, nothing counted."""
    counter = _counter(session)
    before = _count(session)
    response = await _post(client, counter, _answers(counter), browser=browser)
    assert response.status_code == 400
    html = response.text
    assert (
        '<p class="alert" role="alert">Sesi formulir tidak dikenali. Mohon muat ulang '
        "halaman, lalu isi kembali.</p>"
    ) in html
    assert f'<form method="post" action="/s/{counter.token}?lang=id" novalidate>' in html
    assert "checked" not in html and "Ruang tunggu panas" not in html  # not the posted answers
    assert _count(session) == before
    assert session.exec(select(RateLimit)).all() == []
    # The form shown is valid from this browser: a new cookie, or the one it holds.
    assert ("set-cookie" in response.headers) == (browser is None)
    holds = response.cookies.get(citizen.BROWSER_COOKIE) if browser is None else browser
    token = _form_token(html)
    assert _check(counter, token, holds) == token.split(".")[1]


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"sec-fetch-site": "cross-site", "origin": "http://test"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "https://test"},  # another scheme is another origin
        {"origin": "http://test:8080"},
        {"sec-fetch-site": "same-origin", "origin": "http://test.evil.example"},
    ],
)
async def test_post_from_another_site_is_refused_and_not_counted(
    client: httpx.AsyncClient, session: Session, headers: dict[str, str]
) -> None:
    counter = _counter(session)
    before = _count(session)
    response = await _post(client, counter, _answers(counter), headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Jawaban tidak dapat diterima</h1>" in response.text
    assert citizen.CROSS_SITE in response.text
    assert _count(session) == before
    assert session.exec(select(RateLimit)).all() == []


@pytest.mark.parametrize(
    "headers",
    [
        {},  # an old browser, or a script: the token and the cookie still apply
        {"sec-fetch-site": "same-origin", "origin": "http://test"},
        {"sec-fetch-site": "none"},
        {"origin": "HTTP://TEST:80"},
        {"origin": "public base URL"},  # behind a proxy the server may see another origin
    ],
)
async def test_post_from_this_site_is_accepted(
    client: httpx.AsyncClient, session: Session, headers: dict[str, str]
) -> None:
    if headers.get("origin") == "public base URL":
        headers = {"origin": get_settings().public_base_url.rstrip("/")}
    counter = _counter(session)
    response = await _post(client, counter, _answers(counter), headers=headers)
    assert response.status_code == 303


def test_origin_of_normalises_scheme_host_and_port() -> None:
    assert [
        citizen.origin_of(url)
        for url in (
            "http://test",
            "HTTP://Test:80",
            "https://skm.example.go.id/s/abc?lang=id",
            "https://skm.example.go.id:8443",
            "http://[2001:db8::1]:8000",
            "null",
            "ftp://test",
            "http://test:99999",
            "",
        )
    ] == [
        "http://test:80",
        "http://test:80",
        "https://skm.example.go.id:443",
        "https://skm.example.go.id:8443",
        "http://[2001:db8::1]:8000",
        None,
        None,
        None,
        None,
    ]


async def test_browser_id_is_neither_stored_nor_logged(
    client: httpx.AsyncClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    counter = _counter(session)
    before = _count(session)
    page = await client.get(f"/s/{counter.token}")
    browser = page.cookies[citizen.BROWSER_COOKIE]
    fields = _answers(counter, form_token=_token(counter, browser=browser))
    assert (await _post(client, counter, fields, browser=browser)).status_code == 303
    assert _count(session) == before + 1
    for table in SQLModel.metadata.sorted_tables:
        rows = session.connection().execute(sa.select(table)).all()
        assert browser not in repr(rows), table.name
    assert browser not in caplog.text


@pytest.mark.parametrize(("own_service", "expected"), [(False, 8), (True, 7)])
async def test_citizen_post_runs_few_cached_statements(
    client: httpx.AsyncClient,
    session: Session,
    statement_log: StatementLog,
    own_service: bool,
    expected: int,
) -> None:
    """One transaction: the counter with its unit, the newest version of its form and its
    own service; the unit's services only when the counter has none of its own; the
    rate-limit hits and their sums, the insert and the three rollups; nothing compiled anew,
    nothing re-read. On PostgreSQL the hits, their sums and the rollups are all part of the
    insert's statement."""
    counter = _counter(session)
    if own_service:
        data = CounterUpdate(service_code="svc-0")
        counter = org.update_counter(session=session, counter=counter, data=data)
    assert (await _post(client, counter, _answers(counter))).status_code == 303
    with statement_log.recording() as statements:
        response = await _post(client, counter, _answers(counter))
    assert response.status_code == 303
    # One submission in CLEANUP_ODDS also clears old rate-limit windows.
    found = [s for s in statements if not s.sql.startswith("DELETE FROM rate_limit")]
    merged = 5 if is_postgresql(session) else 0
    assert len(found) == expected - merged, [s.sql for s in found]
    assert [s.sql for s in found if not s.cached] == []


async def test_counter_limit_sums_every_shard_and_a_refusal_counts_nothing(
    client: httpx.AsyncClient, session: Session
) -> None:
    """The counter's hourly limit is spread over several rows: a submission is refused when
    the sum over all of them would pass it, whichever shard its own hit lands on."""
    counter = _counter(session)
    limit = get_settings().rate_per_counter_hour
    shards = citizen.rate_shards(limit)
    assert shards > 1
    window = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for start in (window, window + timedelta(hours=1)):  # a test crossing the hour sees the same
        for shard in range(shards):
            hits = limit // shards + (shard < limit % shards)  # the limit, spread
            bucket = f"counter:{counter.id}"
            session.add(RateLimit(bucket=bucket, window_start=start, shard=shard, hits=hits))
    session.commit()
    before = _count(session)
    response = await _post(client, counter, _answers(counter))
    assert response.status_code == 429
    assert _count(session) == before
    summed = select(func.sum(RateLimit.hits)).where(RateLimit.bucket == f"counter:{counter.id}")
    assert session.exec(summed).one() == 2 * limit  # both hours as preset: nothing counted


def test_rate_limits_count_across_sessions_and_shards(private_database: Database) -> None:
    """Hits from separate sessions add up, over one row (a client's small limit, exact) or
    several (a counter's); the hit over the limit is refused and not counted."""
    now = datetime.now(UTC)

    def hit(bucket: str, limit: int) -> None:
        with private_database.session(write=True) as s:
            citizen.hit_rate_limits(session=s, limits=[(bucket, limit)], now=now)
            s.commit()

    for bucket, limit in (("client:a", 3), ("counter:1", 256)):
        for _ in range(limit):
            hit(bucket, limit)
        with pytest.raises(citizen.SurveyRejected) as refused:
            hit(bucket, limit)
        assert refused.value.status == 429
    with private_database.session() as s:
        rows = s.exec(select(RateLimit.bucket, RateLimit.shard, RateLimit.hits)).all()
    shards = {bucket: {shard for b, shard, _ in rows if b == bucket} for bucket, _, _ in rows}
    assert shards["client:a"] == {0}
    assert 1 < len(shards["counter:1"]) <= citizen.rate_shards(256) == 4
    assert {b: sum(h for x, _, h in rows if x == b) for b in shards} == {
        "client:a": 3,
        "counter:1": 256,
    }


async def test_old_rate_limit_windows_are_cleared(
    client: httpx.AsyncClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(citizen, "CLEANUP_ODDS", 1)  # every submission clears, not 1 in 100
    counter = _counter(session)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    session.add(RateLimit(bucket="client:old", window_start=hour - timedelta(days=2), hits=5))
    session.add(RateLimit(bucket="client:recent", window_start=hour - timedelta(hours=3)))
    session.commit()
    assert (await _post(client, counter, _answers(counter))).status_code == 303
    buckets = set(session.exec(select(RateLimit.bucket)).all())
    assert "client:old" not in buckets
    assert {"client:recent", f"counter:{counter.id}"} <= buckets


async def test_survey_page_has_a_new_token_each_time_and_shows_a_rename_at_once(
    client: httpx.AsyncClient, session: Session
) -> None:
    """The page is rendered once per everything it shows but the token (routes.py): each
    request still gets its own token, and a renamed unit, counter or service shows at once."""
    counter = _counter(session)
    pages = [await client.get(f"/s/{counter.token}") for _ in range(2)]
    tokens = [FORM_TOKEN.search(p.text) for p in pages]
    assert all(t is not None for t in tokens)
    assert tokens[0] and tokens[1] and tokens[0].group(1) != tokens[1].group(1)
    assert pages[0].text.replace(tokens[0].group(1), "") == pages[1].text.replace(
        tokens[1].group(1), ""
    )
    unit = session.get(Unit, counter.unit_id)
    assert unit is not None
    org.update_unit(session=session, unit=unit, data=UnitUpdate(name="Dinas Baru"))
    org.update_counter(session=session, counter=counter, data=CounterUpdate(name="Loket Baru"))
    service = org.list_services(session=session, unit=unit)[0]
    org.update_service(session=session, service=service, data=ServiceUpdate(name="KTP Baru"))
    renamed = await client.get(f"/s/{counter.token}")
    assert renamed.status_code == 200
    for shown in ("Dinas Baru", "Loket Baru", "KTP Baru"):
        assert shown in renamed.text
    english = await client.get(f"/s/{counter.token}?lang=en")
    assert 'lang="en"' in english.text and "Send answers" in english.text


# --- group commit: the submissions a worker has in flight, stored in one transaction ---


class HeldGroup:
    """The first submission's group is held in its thread until ``release(n)``, which waits
    until n more submissions are queued behind it (they then go as one group)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.running, self.held = threading.Event(), threading.Event()
        self.commit: GroupCommit[Any, Any] = GroupCommit(self._store)
        monkeypatch.setattr(citizen_routes, "_SUBMITS", self.commit)

    def _store(self, posts: Sequence[Any]) -> list[Any]:
        if not self.running.is_set():
            self.running.set()
            assert self.held.wait(10), "the test never released the first group"
        return citizen_routes._store_posts(posts)

    async def first(
        self, post: Coroutine[Any, Any, httpx.Response]
    ) -> "asyncio.Task[httpx.Response]":
        task = asyncio.create_task(post)
        assert await asyncio.to_thread(self.running.wait, 10)
        return task

    async def release(self, waiting: int) -> None:
        deadline = time.monotonic() + 10
        while self.commit.waiting() < waiting:  # each request parses its form first
            assert time.monotonic() < deadline, f"{self.commit.waiting()} of {waiting} queued"
            await asyncio.sleep(0.01)
        self.held.set()


async def test_submissions_in_flight_are_stored_together_each_answered_as_alone(
    client: httpx.AsyncClient,
    session: Session,
    statement_log: StatementLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter = _counter(session)
    other = _counter(session)
    missing = {k: v for k, v in _answers(counter).items() if k != CODES[0]}
    posts = [
        (counter, _answers(counter)),
        (other, _answers(other, saran="Loket lain")),
        (counter, _answers(counter, age="1000")),  # refused: the form again, 422
        (counter, _answers(counter, form_token=_token(counter, browser=OTHER_BROWSER))),
        (counter, missing),
        (counter, _answers(counter)),
    ]
    with statement_log.recording() as statements:
        group = HeldGroup(monkeypatch)
        first = await group.first(_post(client, counter, _answers(counter)))
        rest = [asyncio.create_task(_post(client, c, f)) for c, f in posts]
        await group.release(len(posts))
        answers = [await first, *[await task for task in rest]]
    assert [a.status_code for a in answers] == [303, 303, 303, 422, 400, 422, 303]
    assert "Sesi formulir tidak dikenali" in answers[4].text
    assert _count(session) == 4
    inserts = [s for s in statements if "INSERT INTO response (" in s.sql]
    assert len(inserts) == 2  # the held submission alone, then the other three together
    hits = select(func.sum(RateLimit.hits)).where(RateLimit.bucket == f"counter:{counter.id}")
    assert session.exec(hits).one() == 3  # the refused ones are not counted
    assert all(a.headers["location"].endswith("/terima-kasih?lang=id") for a in answers[:3])
    assert citizen.DEVICE_COOKIE in answers[1].headers["set-cookie"]
    before = rollup_sums(session, [counter.unit_id, other.unit_id])
    rollups.rebuild(session=session, commit=False)
    assert rollup_sums(session, [counter.unit_id, other.unit_id]) == before


async def test_a_group_that_would_pass_a_limit_is_taken_one_submission_at_a_time(
    client: httpx.AsyncClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Together the group's hits would pass the client's hourly limit: it is rolled back and
    each submission goes alone, so exactly the one over the limit is refused, uncounted."""
    counter = _counter(session)
    limit = get_settings().rate_per_client_hour
    _preset_client_hits(session, limit - 3)
    group = HeldGroup(monkeypatch)
    first = await group.first(_post(client, counter, _answers(counter)))
    rest = [asyncio.create_task(_post(client, counter, _answers(counter))) for _ in range(3)]
    await group.release(3)
    statuses = [(await first).status_code, *[(await task).status_code for task in rest]]
    assert statuses[0] == 303
    assert sorted(statuses[1:]) == [303, 303, 429]
    assert _count(session) == 3
    now = datetime.now(UTC)
    bucket = citizen.client_bucket(get_settings().secret_key.get_secret_value(), "127.0.0.1", now)
    window = now.replace(minute=0, second=0, microsecond=0)
    counted = select(func.sum(RateLimit.hits)).where(
        RateLimit.bucket == bucket, RateLimit.window_start == window
    )
    assert session.exec(counted).one() == limit

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from sqlmodel import Session, func, select

from app.config import get_settings
from app.models import (
    Counter,
    CounterCreate,
    CounterUpdate,
    RateLimit,
    Response,
    ServiceCreate,
    Unit,
)
from app.services import citizen, org
from tests.conftest import Cli
from tests.factories import CODES, make_unit


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


def _token(counter: Counter, age_seconds: int = 60) -> str:
    assert counter.id is not None
    issued = datetime.now(UTC) - timedelta(seconds=age_seconds)
    return citizen.issue_form_token(
        get_settings().secret_key.get_secret_value(), counter.id, issued
    )


def _answers(counter: Counter, **overrides: str) -> dict[str, str]:
    fields = dict.fromkeys(CODES, "4")
    fields.update(form_token=_token(counter), sex="P", age="41", saran="Ruang tunggu panas")
    fields.update(overrides)
    return fields


async def _post(
    client: httpx.AsyncClient, counter: Counter, fields: dict[str, str], query: str = ""
) -> httpx.Response:
    return await client.post(
        f"/s/{counter.token}{query}",
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
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


async def test_kiosk_submission_is_marked_and_returns_to_a_fresh_form(
    client: httpx.AsyncClient, session: Session
) -> None:
    counter = _counter(session)
    response = await _post(client, counter, _answers(counter), "?mode=kiosk")
    assert response.status_code == 303
    stored = session.exec(select(Response).where(Response.counter_id == counter.id)).one()
    assert stored.channel == "kiosk"
    page = await client.get(f"/s/{counter.token}?mode=kiosk")
    assert page.text.count('class="face"') == 9 * 4  # large face buttons, words kept
    assert "Sangat sesuai" in page.text
    thanks = await client.get(response.headers["location"])
    assert f'content="8;url=/s/{counter.token}?lang=id&amp;mode=kiosk"' in thanks.text


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
        ({"website": "http://spam.example"}, 400, "automated submission"),
        ({"form_token": "forged"}, 400, "invalid form token"),
        ({"form_token": "1.abc.0123"}, 400, "invalid form token"),
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
    assert _count(session) == before


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

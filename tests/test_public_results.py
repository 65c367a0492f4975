"""Publication and the public results pages: publishing freezes the figures (a later response
leaves the page and the open data as they were, and the console counts it), a revision keeps
the earlier snapshot marked revised, the pages need no login, never show a saran, and answer
304 to a repeated request with their ETag."""

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from app.core import ikm
from app.core.periods import containing, parse_period, period_text
from app.models import Publication, Response
from app.reports.wording import number
from app.services import audit, intake, org, publication
from tests.conftest import DEMO_NOW, DEMO_PERIOD, Demo
from tests.console import BASE, Staff

ELEMENTS = (
    "persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku",
    "pengaduan", "sarana",
)  # fmt: skip
ANSWERS = dict.fromkeys(ELEMENTS, 1)


@pytest.fixture
async def public(demo_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A visitor without any cookie or key."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=demo_app), base_url=BASE
    ) as client:
        yield client


def _add_paper_response(demo: Demo, unit_code: str, day: datetime, key: str) -> None:
    unit = org.get_unit(session=demo.session, code=unit_code)
    item = intake.ResponseIn(idempotency_key=key, submitted_at=day, answers=ANSWERS)
    intake.record_responses(session=demo.session, unit=unit, items=[item], channel="paper")


def _publish(demo: Demo, unit_code: str, period: str) -> Publication:
    return publication.publish(
        session=demo.session,
        unit=org.get_unit(session=demo.session, code=unit_code),
        period=parse_period(period),
        method=ikm.DEFAULT_METHOD,
        actor=audit.Actor("test"),
    )


async def test_publishing_freezes_the_public_figures(
    demo: Demo, public: httpx.AsyncClient, manager: Staff
) -> None:
    month = "2026-10"  # inside the running quarter of the demo: responses still arrive
    frozen = _publish(demo, "pkm-jati-raya", month)
    page = await public.get(f"/hasil/pkm-jati-raya?periode={month}")
    data = (await public.get("/hasil/pkm-jati-raya/data.json")).json()
    published = next(p for p in data["publications"] if p["period"] == month)
    assert published["n"] == frozen.n
    assert published["nik"] == frozen.nik_rounded

    day = datetime(2026, 10, 15, 3, 0, tzinfo=DEMO_NOW.tzinfo)
    _add_paper_response(demo, "pkm-jati-raya", day, "late-after-publication")

    again = await public.get(f"/hasil/pkm-jati-raya?periode={month}")
    assert again.text == page.text
    data_again = (await public.get("/hasil/pkm-jati-raya/data.json")).json()
    assert next(p for p in data_again["publications"] if p["period"] == month) == published
    console = await manager.get(f"/console/publikasi/pkm-jati-raya?period={month}")
    since = re.search(
        r'data-field="since"><strong>([\d.]+) responden sejak publikasi', console.text
    )
    assert since is not None, console.text
    assert since.group(1) == "1"


async def test_a_revision_keeps_the_earlier_snapshot_marked_revised(
    demo: Demo, public: httpx.AsyncClient
) -> None:
    month = "2026-09"
    first = _publish(demo, "disdukcapil", month)
    day = datetime(2026, 9, 20, 3, 0, tzinfo=DEMO_NOW.tzinfo)
    _add_paper_response(demo, "disdukcapil", day, "revision-response")
    second = _publish(demo, "disdukcapil", month)
    assert (first.revision, second.revision, second.n) == (1, 2, first.n + 1)
    rows = demo.session.exec(
        select(Publication).where(Publication.period == month, Publication.unit_id == first.unit_id)
    ).all()
    assert sorted((p.revision, p.revised_at is not None) for p in rows) == [(1, True), (2, False)]

    standing = await public.get(f"/hasil/disdukcapil?periode={month}")
    assert "direvisi" not in standing.text.split("<h2>Periode yang dipublikasikan</h2>")[0]
    old = await public.get(f"/hasil/disdukcapil?periode={month}&revisi=1")
    assert old.status_code == 200
    assert "telah <strong>direvisi</strong>" in old.text
    listed = (await public.get("/hasil/disdukcapil/data.json")).json()["publications"]
    both = [p for p in listed if p["period"] == month]
    assert [(p["revision"], p["revised_at"] is not None, p["n"]) for p in both] == [
        (2, False, first.n + 1),
        (1, True, first.n),
    ]


async def test_public_pages_need_no_login_and_show_no_saran(
    demo: Demo, public: httpx.AsyncClient
) -> None:
    unit = org.get_unit(session=demo.session, code="pkm-jati-raya")
    period = parse_period(DEMO_PERIOD)
    saran = demo.session.exec(
        select(Response.suggestion).where(
            Response.unit_id == unit.id,
            col(Response.local_date).between(period.start, period.end),
            col(Response.suggestion).is_not(None),
        )
    ).all()
    assert len(saran) > 10
    for path in (
        "/hasil",
        "/hasil/pkm-jati-raya",
        f"/hasil/pkm-jati-raya?periode={DEMO_PERIOD}",
        "/hasil.json",
        "/hasil.csv",
        "/hasil/pkm-jati-raya/data.json",
        "/hasil/pkm-jati-raya/data.csv",
        "/papan/pkm-jati-raya",
    ):
        answer = await public.get(path)
        assert answer.status_code == 200, path
        assert "set-cookie" not in answer.headers
        for text in saran:
            assert text is not None and text not in answer.text, (path, text)


async def test_the_list_shows_each_units_latest_publication(
    demo: Demo, public: httpx.AsyncClient
) -> None:
    listed = {u["unit_code"]: u for u in (await public.get("/hasil.json")).json()["units"]}
    for code, entry in listed.items():
        history = publication.history(
            session=demo.session, unit=org.get_unit(session=demo.session, code=code)
        )
        latest = max(
            (p for p in history if p.revised_at is None),
            key=lambda p: (p.period_end, p.published_at),
        )
        assert (entry["period"], entry["n"], entry["nik"]) == (
            latest.period,
            latest.n,
            latest.nik_rounded,
        )
    rows = list(csv.DictReader(io.StringIO((await public.get("/hasil.csv")).text)))
    assert {r["unit_code"] for r in rows} == set(listed)
    found = await public.get("/hasil?q=puskesmas")
    names = re.findall(r'<a href="/hasil/([a-z0-9-]+)">', found.text)
    assert sorted(names) == ["pkm-jati-raya", "pkm-lepo-lepo"]
    by_nik = await public.get("/hasil?sort=nik&order=desc")
    order = re.findall(r'<a href="/hasil/([a-z0-9-]+)">', by_nik.text)
    assert order == sorted(listed, key=lambda c: -listed[c]["nik"])


@pytest.mark.parametrize(
    "path",
    ["/hasil", "/hasil/pkm-jati-raya", "/hasil.json", "/hasil/pkm-jati-raya/data.csv"],
)
async def test_a_repeated_request_with_the_etag_is_304(
    public: httpx.AsyncClient, path: str
) -> None:
    first = await public.get(path)
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=60"
    second = await public.get(path, headers={"If-None-Match": tag})
    assert (second.status_code, second.content, second.headers["etag"]) == (304, b"", tag)
    weak = await public.get(path, headers={"If-None-Match": f"W/{tag}"})
    assert weak.status_code == 304
    other = await public.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


async def test_unknown_unit_is_404_as_a_page_and_as_data(public: httpx.AsyncClient) -> None:
    page = await public.get("/hasil/tidak-ada")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "Halaman tidak ditemukan" in page.text
    data = await public.get("/hasil/tidak-ada/data.json")
    assert (data.status_code, data.json()["error"]) == (404, "not_found")
    unpublished = await public.get("/hasil/pkm-jati-raya?periode=2019")
    assert unpublished.status_code == 404


async def test_the_board_shows_the_live_quarter_and_the_last_publication(
    demo: Demo, public: httpx.AsyncClient
) -> None:
    board = await public.get("/papan/pkm-lepo-lepo")
    assert board.status_code == 200
    assert board.headers["refresh"] == "60"
    assert board.headers["cache-control"] == "no-store"
    unit = org.get_unit(session=demo.session, code="pkm-lepo-lepo")
    standing = next(
        p for p in publication.history(session=demo.session, unit=unit) if p.revised_at is None
    )
    shown = publication.read(standing)
    assert f"Hasil resmi terakhir, {period_text(shown.period)}" in board.text
    assert number(shown.nik) in board.text
    running = containing(datetime.now(unit.zone).date(), "quarter")
    assert f"Sementara, {period_text(running)}" in board.text


def test_publishing_a_range_or_an_empty_period_is_refused(demo: Demo) -> None:
    unit = org.get_unit(session=demo.session, code="pkm-jati-raya")
    with pytest.raises(Exception, match="not a date range"):
        publication.publish(
            session=demo.session,
            unit=unit,
            period=parse_period("2026-01-01..2026-01-31"),
            method=ikm.DEFAULT_METHOD,
            actor=audit.Actor("test"),
        )
    with pytest.raises(Exception, match="nothing to publish"):
        publication.publish(
            session=demo.session,
            unit=unit,
            period=parse_period("2019"),
            method=ikm.DEFAULT_METHOD,
            actor=audit.Actor("test"),
        )


def test_a_snapshot_holds_figures_and_names_only(demo: Demo) -> None:
    rows = demo.session.exec(select(Publication)).all()
    assert rows
    figures = {
        "n", "ikm", "nik", "nik_rounded", "mutu", "kinerja", "method", "aggregate", "coverage",
        "elements", "sample", "ci", "warnings",
    }  # fmt: skip
    for row in rows:
        assert set(row.snapshot) == {
            "version", "unit", "period", "period_text", "published_at", "element_names", "result",
        }  # fmt: skip
        assert set(row.snapshot["result"]) == figures

"""The Kendari demo: seeded once for the module (in a transaction rolled back at the end), then
read as the Bagian Organisasi would read it."""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.core import ikm
from app.core.periods import containing, parse_period
from app.models import Counter, Response, Service, Unit
from app.services import org, results
from app.services.demo import seed_demo
from app.services.scopes import Scope
from tests.conftest import PG_URL, TransactionDatabase

# Friday 20 November 2026, 10.00 WITA: the eighth quarter is 2026-Q4, under way.
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
QUARTERS = [f"{year}-Q{q}" for year in (2025, 2026) for q in (1, 2, 3, 4)]
SERVING = ("dinsos", "disdik", "disdukcapil", "dpmptsp", "pkm-jati-raya", "pkm-lepo-lepo")


@dataclass(frozen=True)
class Demo:
    session: Session
    seconds: float  # the seeding took


@pytest.fixture(scope="module")
def demo(engine: sa.Engine) -> Iterator[Demo]:
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            with TransactionDatabase(engine, connection).session() as session:
                began = time.perf_counter()
                assert seed_demo(session=session, now=NOW)
                yield Demo(session, time.perf_counter() - began)
        finally:
            transaction.rollback()


def _result(session: Session, code: str, quarter: str, pooled: bool = False) -> ikm.IkmResult:
    unit = org.get_unit(session=session, code=code)
    scope = Scope(unit=unit, period=parse_period(quarter), include_children=pooled)
    return results.scope_ikm(session=session, scope=scope, method=ikm.Method())


def _count(session: Session, *conditions: sa.ColumnElement[bool]) -> int:
    return session.exec(select(func.count()).select_from(Response).where(*conditions)).one()


def test_seed_builds_kendari_with_its_opds_and_puskesmas(demo: Demo) -> None:
    session = demo.session
    tree = [(row.unit.code, row.depth, row.parent_code) for row in org.tree_rows(session=session)]
    assert tree == [
        ("kendari", 0, None),
        ("dinkes", 1, "kendari"),
        ("pkm-jati-raya", 2, "dinkes"),
        ("pkm-lepo-lepo", 2, "dinkes"),
        ("dinsos", 1, "kendari"),
        ("disdik", 1, "kendari"),
        ("disdukcapil", 1, "kendari"),
        ("dpmptsp", 1, "kendari"),
    ]
    units = {u.code: u for u in session.exec(select(Unit))}
    assert units["kendari"].name == "Pemerintah Kota Kendari"
    assert {u.time_zone for u in units.values()} == {"Asia/Makassar"}  # WITA
    services = set(
        session.exec(select(Unit.code, Service.name).join(Service, col(Service.unit_id) == Unit.id))
    )
    for expected in [
        ("disdukcapil", "KTP-el"),
        ("disdukcapil", "Kartu Keluarga"),
        ("disdukcapil", "Akta Kelahiran"),
        ("dpmptsp", "Izin usaha (NIB)"),
        ("pkm-jati-raya", "Poli umum"),
        ("pkm-lepo-lepo", "Poli umum"),
    ]:
        assert expected in services
    counters = session.exec(select(Counter.unit_id, Counter.kiosk)).all()
    per_unit = {code: sum(1 for u, _ in counters if u == units[code].id) for code in SERVING}
    assert set(per_unit.values()) == {1, 2}  # one or two counters each
    kiosks = session.exec(select(Counter.code).where(col(Counter.kiosk).is_(True))).all()
    assert kiosks == ["anjungan"]


def test_responses_cover_the_eight_quarters_up_to_now(demo: Demo) -> None:
    session = demo.session
    days = session.exec(select(col(Response.local_date)).distinct()).all()
    assert sorted({containing(day, "quarter").label for day in days}) == QUARTERS
    latest = session.exec(select(func.max(Response.submitted_at))).one()
    assert latest is not None and latest <= NOW
    for code in SERVING:
        assert all(_result(session, code, q).n > 0 for q in QUARTERS), code


def test_unit_quarters_span_grades_a_to_d_and_move_over_time(demo: Demo) -> None:
    session = demo.session
    grades = {code: [_result(session, code, q).mutu for q in QUARTERS] for code in SERVING}
    assert {g for row in grades.values() for g in row} == {"A", "B", "C", "D"}
    change = {
        code: (_result(session, code, "2026-Q3").nik or 0)
        - (_result(session, code, "2025-Q1").nik or 0)
        for code in SERVING
    }
    assert [code for code, delta in change.items() if delta < 0] == ["dinsos"]
    assert grades["dinsos"][0] == "B" and grades["dinsos"][-2] == "D"  # from Baik down
    assert grades["pkm-lepo-lepo"][0] == "D" and grades["disdukcapil"][-2] == "A"  # and up


def test_some_units_fall_short_of_the_minimum_sample(demo: Demo) -> None:
    session = demo.session
    sufficient: dict[str, list[bool]] = {}
    for code in SERVING:
        samples = [_result(session, code, q).sample for q in QUARTERS[:-1]]  # complete ones
        assert all(s is not None for s in samples), f"{code}: a population is missing"
        sufficient[code] = [s.sufficient for s in samples if s is not None]
    assert not any(sufficient["dinsos"])  # below its minimum in every quarter
    assert all(sufficient["pkm-jati-raya"])
    assert any(not ok for code in ("disdik", "pkm-lepo-lepo") for ok in sufficient[code])


def test_about_a_quarter_of_responses_carry_a_saran(demo: Demo) -> None:
    session = demo.session
    total = _count(session)
    with_saran = _count(session, col(Response.suggestion).is_not(None))
    assert 0.22 <= with_saran / total <= 0.28
    distinct = session.exec(select(func.count(func.distinct(Response.suggestion)))).one()
    assert distinct > 100
    # A saran about a service is written by someone who used it.
    services = session.exec(
        select(Service.code)
        .join(Response, col(Response.service_id) == Service.id)
        .where(col(Response.suggestion).contains("Blangko KTP-el"))
        .distinct()
    ).all()
    assert services == ["ktp-el"]


def test_a_few_repeat_answers_are_flagged_and_left_out(demo: Demo) -> None:
    session = demo.session
    flagged = _count(session, col(Response.flagged).is_(True))
    assert 0 < flagged <= 0.02 * _count(session)
    channels = session.exec(
        select(Response.channel).where(col(Response.flagged).is_(True)).distinct()
    ).all()
    assert channels == ["qr"]  # a phone sending twice; never the shared kiosk or paper
    quarter = parse_period("2026-Q1")
    unit = org.get_unit(session=session, code="disdukcapil")
    counted = _result(session, "disdukcapil", "2026-Q1").n
    in_quarter = _count(
        session,
        col(Response.unit_id) == unit.id,
        col(Response.local_date).between(quarter.start, quarter.end),
        col(Response.flagged).is_(False),
    )
    assert counted == in_quarter


def test_dinas_kesehatan_pools_its_puskesmas(demo: Demo) -> None:
    session = demo.session
    for quarter in ("2025-Q1", "2026-Q3"):
        pooled = _result(session, "dinkes", quarter, pooled=True)
        parts = [_result(session, c, quarter) for c in ("pkm-jati-raya", "pkm-lepo-lepo")]
        assert _result(session, "dinkes", quarter).n == 0  # no service of its own
        assert pooled.n == sum(p.n for p in parts) > 0
        assert [e.sum for e in pooled.elements] == [
            sum(col_) for col_ in zip(*([e.sum for e in p.elements] for p in parts), strict=True)
        ]
        assert pooled.sample is not None
        assert pooled.sample.population == sum(p.sample.population for p in parts if p.sample)


def test_seeding_is_fast_deterministic_and_only_into_an_empty_database(demo: Demo) -> None:
    # `skm serve --demo` on the default SQLite database; PostgreSQL's driver spends longer
    # turning the large multi-row inserts into its own query text.
    assert demo.seconds < (30 if PG_URL else 10)
    session = demo.session
    # The same seed gives the same answers: the figures are fixed for a given day.
    assert (_count(session), _result(session, "pkm-lepo-lepo", "2025-Q1").nik_rounded) == (
        13375,
        Decimal("58.76"),
    )
    assert seed_demo(session=session, now=NOW) is False

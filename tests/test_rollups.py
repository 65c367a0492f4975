"""The rollups (app.services.rollups): form versions pool by element code; the insert path
(``rollups.add``, whose arithmetic is ``ikm.Tally.of``) and the rebuild path
(``rollups.rebuild``, SQL aggregates) agree with each other and with the pure tally of the raw
rows, on random data, on SQLite and PostgreSQL."""

import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from app.core import ikm
from app.core.periods import Period, parse_period
from app.errors import Conflict
from app.models import (
    ANSWER_COLUMNS,
    ROLLUP_KEYS_FULL,
    ROLLUP_SHARDS,
    CounterCreate,
    Response,
    ServiceCreate,
    response_rollup,
    response_rollup_month,
    response_rollup_quarter,
)
from app.services import datafix, intake, org, questionnaires, results, rollups, scopes
from tests.conftest import StatementLog
from tests.factories import (
    CODES,
    coarse_sums,
    make_unit,
    reordered_version,
    response,
    rollup_sums,
)

Row = tuple[int | None, ...]
DB_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

answer = st.one_of(st.none(), st.integers(min_value=1, max_value=4))
# A paper form may leave blanks, but one with no answer at all is refused.
answered = st.tuples(*([answer] * 9)).filter(lambda row: any(a is not None for a in row))
rows_strategy = st.lists(
    st.tuples(answered, st.integers(0, 500), st.integers(0, 1)),
    min_size=1,
    max_size=40,
)


@DB_SETTINGS
@given(data=rows_strategy, period_text=st.sampled_from(["2025", "2025-S1", "2025-Q2", "2025-03"]))
def test_sql_tally_equals_pure_tally(
    session: Session, data: list[tuple[Row, int, int]], period_text: str
) -> None:
    """The rollup (SQL) path and the pure path agree on random data, children included."""
    root = make_unit(session)
    child = make_unit(session, parent=root, tz="WIT")
    period = parse_period(period_text)
    start = datetime.combine(date(2025, 1, 1), time(0), UTC) - timedelta(days=30)
    expected: list[Row] = []
    for answers, day, which in data:
        unit = (root, child)[which]
        when = start + timedelta(days=day, hours=random.Random(day).randint(0, 23))
        intake.record_responses(
            session=session, unit=unit, channel="paper", items=[response(answers, when)]
        )
        if period.start <= when.astimezone(unit.zone).date() <= period.end:
            expected.append(answers)
    scope = scopes.Scope(unit=root, period=period, include_children=True)
    found = rollups.tally(session=session, scope=scope)
    if not expected:
        assert found is None
        return
    pure = ikm.Tally.of(CODES, expected)
    assert found == pure
    assert ikm.compute(found) == ikm.compute(pure)


@st.composite
def submission(draw: st.DrawFn) -> tuple[Row, str, int, int, bool, bool]:
    """One response: answers (blanks only on paper, as forms come back), channel, which unit
    (0 the root, 1 its child, 2 the grandchild), day of 2025, flagged, with the service."""
    channel = draw(st.sampled_from(["qr", "kiosk", "paper", "api"]))
    value = st.integers(min_value=1, max_value=4)
    one = st.one_of(st.none(), value) if channel == "paper" else value
    # A form with no answer at all is refused on every channel.
    answers = st.tuples(*([one] * 9)).filter(lambda row: any(a is not None for a in row))
    return (
        draw(answers),
        channel,
        draw(st.integers(0, 2)),
        draw(st.integers(0, 364)),
        draw(st.booleans()),
        draw(st.booleans()),
    )


@DB_SETTINGS
@given(items=st.lists(submission(), min_size=1, max_size=30))
def test_intake_rollups_equal_a_rebuild_and_the_pure_tally(
    session: Session, items: list[tuple[Row, str, int, int, bool, bool]]
) -> None:
    root = make_unit(session)
    child = make_unit(session, parent=root)
    grandchild = make_unit(session, parent=child, tz="WIB")
    units = [root, child, grandchild]
    services = [
        org.create_service(
            session=session, data=ServiceCreate(unit_code=u.code, code="ktp", name="KTP")
        )
        for u in units
    ]
    # Batches as channels deliver them: several rows of one unit, channel, flag and service.
    batches: dict[tuple[int, str, bool, bool], list[intake.ResponseIn]] = defaultdict(list)
    start = datetime(2025, 1, 1, 5, tzinfo=UTC)
    everything: list[Row] = []
    unflagged: list[Row] = []
    for answers, channel, which, day, flagged, with_service in items:
        when = start + timedelta(days=day)
        batches[(which, channel, flagged, with_service)].append(response(answers, when))
        everything.append(answers)
        if not flagged:
            unflagged.append(answers)
    for (which, channel, flagged, with_service), batch in batches.items():
        intake.record_responses(
            session=session,
            unit=units[which],
            items=batch,
            channel=channel,  # type: ignore[arg-type]  # drawn from the Channel values
            flagged=flagged,
            service=services[which] if with_service else None,
        )
    year = parse_period("2025")
    pooled = scopes.Scope(unit=root, period=year)
    with_flagged = scopes.Scope(unit=root, period=year, include_flagged=True)
    inserted = rollup_sums(session, [u.id for u in units])
    assert rollups.tally(session=session, scope=with_flagged) == ikm.Tally.of(CODES, everything)
    assert rollups.tally(session=session, scope=pooled) == (
        ikm.Tally.of(CODES, unflagged) if unflagged else None
    )

    rollups.rebuild(session=session, unit_ids=[u.id for u in units if u.id is not None])
    assert rollup_sums(session, [u.id for u in units]) == inserted
    assert rollups.tally(session=session, scope=with_flagged) == ikm.Tally.of(CODES, everything)


def _item(key: str, answers: dict[str, int], when: datetime) -> intake.ResponseIn:
    return intake.ResponseIn(idempotency_key=key, submitted_at=when, answers=answers)


def test_pool_matches_reordered_versions_by_element_code(session: Session) -> None:
    unit = make_unit(session)
    # Before the new version: persyaratan 4 and sarana 1, the rest 3.
    before = dict.fromkeys(CODES, 3) | {"persyaratan": 4, "sarana": 1}
    after = dict.fromkeys(CODES, 2) | {"persyaratan": 2, "sarana": 4}
    jan, jul = datetime(2026, 1, 5, 3, tzinfo=UTC), datetime(2026, 7, 5, 3, tzinfo=UTC)
    intake.record_responses(
        session=session, unit=unit, channel="api", items=[_item("old", before, jan)]
    )
    version = reordered_version(session)
    intake.record_responses(
        session=session, unit=unit, channel="api", items=[_item("new", after, jul)]
    )
    scope = scopes.Scope(unit=unit, period=parse_period("2026"))
    result = results.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
    # Shown in the newest version's order; each NRR averages the same element's answers.
    assert version.codes[0] == "sarana"
    assert [(e.code, e.n, e.nrr) for e in result.elements] == [
        (code, 2, Fraction(before[code] + after[code], 2)) for code in version.codes
    ]


def test_a_unit_answering_two_pooled_versions_counts_once(session: Session) -> None:
    """Units are counted beside each form version's sums; with responses on two versions
    that pool (the same elements reordered), each unit with responses still counts once, in
    a scope's coverage and in a ranking's: neither one version's count nor their sum."""
    parent = make_unit(session)
    branch = make_unit(session, parent=parent)
    leaf, other = make_unit(session, parent=branch), make_unit(session, parent=branch)
    answers = dict.fromkeys(CODES, 3)
    jan, jul = datetime(2026, 1, 5, 3, tzinfo=UTC), datetime(2026, 7, 5, 3, tzinfo=UTC)
    for key, unit in (("b-old", branch), ("l-old", leaf)):
        intake.record_responses(
            session=session, unit=unit, channel="api", items=[_item(key, answers, jan)]
        )
    reordered_version(session)
    for key, unit in (("l-new", leaf), ("o-new", other)):
        intake.record_responses(
            session=session, unit=unit, channel="api", items=[_item(key, answers, jul)]
        )
    year = parse_period("2026")
    scope = scopes.Scope(unit=parent, period=year)
    [(tally, reach)] = rollups.tallies_and_reach(session=session, scope=scope, periods=[year])
    assert tally is not None and not isinstance(tally, Conflict) and tally.responses == 4
    assert reach == rollups.Reach(own=0, below_units=3, below=4)
    result = results.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
    assert result.coverage is not None and result.coverage.units_with_responses == 3
    [(child, ranked)] = results.ranking(
        session=session, parent=parent, period=year, method=ikm.DEFAULT_METHOD
    )
    assert (child.code, ranked.n) == (branch.code, 4)
    assert ranked.coverage == ikm.Coverage((branch.code, *sorted((leaf.code, other.code))), 3)


def test_pool_refuses_different_element_sets_naming_forms_and_dates(session: Session) -> None:
    unit = make_unit(session)
    old = dict.fromkeys((*CODES[:8], "maklumat"), 3)
    intake.record_responses(
        session=session,
        unit=unit,
        channel="paper",
        form_code="permenpan-rb-16-2014",
        items=[
            _item("a", old, datetime(2026, 1, 10, 3, tzinfo=UTC)),
            _item("b", old, datetime(2026, 3, 31, 3, tzinfo=UTC)),
        ],
    )
    intake.record_responses(
        session=session,
        unit=unit,
        channel="paper",
        items=[
            _item("c", dict.fromkeys(CODES, 4), datetime(2026, 4, 1, 3, tzinfo=UTC)),
            _item("d", dict.fromkeys(CODES, 4), datetime(2026, 6, 30, 3, tzinfo=UTC)),
        ],
    )
    v2014, _ = questionnaires.current_form(session=session, code="permenpan-rb-16-2014")
    v2017, _ = questionnaires.current_form(session=session, code="permenpan-rb-14-2017")
    scope = scopes.Scope(unit=unit, period=parse_period("2026"))
    with pytest.raises(Conflict) as refused:
        results.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
    assert refused.value.detail == (
        "the responses in this scope were answered on forms with different elements, which "
        f"have no single IKM: permenpan-rb-16-2014 (version {v2014.id}, 9 elements) from "
        f"{date(2026, 1, 10)} to {date(2026, 3, 31)}; permenpan-rb-14-2017 (version "
        f"{v2017.id}, 9 elements) from {date(2026, 4, 1)} to {date(2026, 6, 30)}. Compute "
        "the periods on each side of where they meet separately"
    )
    assert refused.value.status == 409
    # Each side of the change has its IKM.
    quarter = scopes.Scope(unit=unit, period=parse_period("2026-Q2"))
    result = results.scope_ikm(session=session, scope=quarter, method=ikm.DEFAULT_METHOD)
    assert (result.n, result.nik_rounded) == (2, ikm.to_decimal(Fraction(100), 2))


def test_a_mixed_branch_or_period_does_not_sink_a_ranking_or_trend(session: Session) -> None:
    """A child that changed forms within a period has no figure there (and says why); its
    siblings in the ranking and its other periods in the trend keep theirs."""
    parent = make_unit(session)
    mixed = make_unit(session, parent=parent)
    steady = make_unit(session, parent=parent)
    old = dict.fromkeys((*CODES[:8], "maklumat"), 3)
    intake.record_responses(
        session=session,
        unit=mixed,
        channel="paper",
        form_code="permenpan-rb-16-2014",
        items=[_item("m1", old, datetime(2026, 4, 10, 3, tzinfo=UTC))],
    )
    for key, unit, when in (
        ("m2", mixed, datetime(2026, 5, 10, 3, tzinfo=UTC)),
        ("m3", mixed, datetime(2026, 8, 10, 3, tzinfo=UTC)),
        ("s1", steady, datetime(2026, 5, 10, 3, tzinfo=UTC)),
    ):
        intake.record_responses(
            session=session,
            unit=unit,
            channel="paper",
            items=[_item(key, dict.fromkeys(CODES, 4), when)],
        )
    q2 = parse_period("2026-Q2")
    ranked = {
        child.code: result
        for child, result in results.ranking(
            session=session, parent=parent, period=q2, method=ikm.DEFAULT_METHOD
        )
    }
    assert ranked[steady.code].nik_rounded == ikm.to_decimal(Fraction(100), 2)
    assert ranked[mixed.code].nik_rounded is None
    assert (
        ranked[mixed.code]
        .warnings[0]
        .startswith("the responses in this scope were answered on forms with different elements")
    )
    scope = scopes.Scope(unit=mixed, period=q2)
    points = results.trend(
        session=session,
        scope=scope,
        periods=[q2, parse_period("2026-Q3")],
        method=ikm.DEFAULT_METHOD,
    )
    assert [(p.label, r.nik_rounded is None) for p, r in points] == [
        ("2026-Q2", True),
        ("2026-Q3", False),
    ]
    assert "different elements" in points[0][1].warnings[0]


def test_the_rollup_upsert_is_compiled_once(session: Session, statement_log: StatementLog) -> None:
    """Built once per dialect and reused, its compiled form from the cache: building the
    statement and its cache key anew cost milliseconds per submission. (On PostgreSQL the
    upsert is part of the insert's own statement.)"""
    unit = make_unit(session)
    when = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with statement_log.recording() as statements:
        for _ in range(2):
            intake.record_responses(
                session=session, unit=unit, items=[response((4,) * 9, when)], channel="api"
            )
    first, second = [s for s in statements if "INSERT INTO response_rollup (" in s.sql]
    assert second.invoked is first.invoked  # not rebuilt (building it cost more than running)
    assert second.cached, second.cache


# --- the month rows: whole months per month, the rest per day, always the raw figures ---


@pytest.mark.parametrize(
    ("text", "quarters", "months", "days"),
    [
        ("2025-S1", (date(2025, 1, 1), date(2025, 4, 1)), (), ()),
        ("2025-Q3", (date(2025, 7, 1), date(2025, 7, 1)), (), ()),
        ("2025-02", None, ((date(2025, 2, 1), date(2025, 2, 1)),), ()),
        (
            "2025-01-15..2025-03-10",
            None,
            ((date(2025, 2, 1), date(2025, 2, 1)),),
            ((date(2025, 1, 15), date(2025, 1, 31)), (date(2025, 3, 1), date(2025, 3, 10))),
        ),
        (
            "2024-02-01..2024-03-30",
            None,
            ((date(2024, 2, 1), date(2024, 2, 1)),),
            ((date(2024, 3, 1), date(2024, 3, 30)),),
        ),
        (
            "2024-01-31..2024-02-29",
            None,
            ((date(2024, 2, 1), date(2024, 2, 1)),),
            ((date(2024, 1, 31), date(2024, 1, 31)),),
        ),
        (
            "2025-02-10..2025-11-20",
            (date(2025, 4, 1), date(2025, 7, 1)),
            ((date(2025, 3, 1), date(2025, 3, 1)), (date(2025, 10, 1), date(2025, 10, 1))),
            ((date(2025, 2, 10), date(2025, 2, 28)), (date(2025, 11, 1), date(2025, 11, 20))),
        ),
        (
            "2024-11-01..2025-06-30",
            (date(2025, 1, 1), date(2025, 4, 1)),
            ((date(2024, 11, 1), date(2024, 12, 1)),),
            (),
        ),
        (
            "2025-03-01..2025-04-30",
            None,
            ((date(2025, 3, 1), date(2025, 4, 1)),),
            (),
        ),
        ("2025-03-02..2025-03-31", None, (), ((date(2025, 3, 2), date(2025, 3, 31)),)),
        ("2025-01-20..2025-02-10", None, (), ((date(2025, 1, 20), date(2025, 2, 10)),)),
    ],
)
def test_split_reads_whole_quarters_then_months_per_row_and_the_edges_per_day(
    text: str,
    quarters: tuple[date, date] | None,
    months: tuple[tuple[date, date], ...],
    days: tuple[tuple[date, date], ...],
) -> None:
    assert rollups.split(parse_period(text)) == rollups.Split(quarters, months, days)


FIRST = date(2025, 1, 1)
SPAN = 240  # days of responses: eight months, so periods have whole quarters, months and edges


@st.composite
def placed_submission(draw: st.DrawFn) -> tuple[Row, str, int, int, int, bool, int]:
    """One response: answers, channel, which unit (0 root, 1 child, 2 grandchild), day and
    local hour (near midnight a zone change moves it to another day or month), flagged, and
    0 no service, 1 the unit's service, 2 its counter."""
    channel = draw(st.sampled_from(["qr", "kiosk", "paper", "api"]))
    value = st.integers(min_value=1, max_value=4)
    one = st.one_of(st.none(), value) if channel == "paper" else value
    answers = st.tuples(*([one] * 9)).filter(lambda row: any(a is not None for a in row))
    return (
        draw(answers),
        channel,
        draw(st.integers(0, 2)),
        draw(st.integers(0, SPAN)),
        draw(st.sampled_from([0, 1, 12, 22, 23])),
        draw(st.booleans()),
        draw(st.integers(0, 2)),
    )


def _period(draw: st.DrawFn) -> Period:
    first = draw(st.integers(-10, SPAN + 10))
    length = draw(st.integers(0, 240))
    start = FIRST + timedelta(days=first)
    return parse_period(f"{start}..{start + timedelta(days=length)}")


def _raw_tally(session: Session, scope: scopes.Scope) -> ikm.Tally | None:
    table = Response.__table__  # type: ignore[attr-defined]
    answers = [table.c[c] for c in ANSWER_COLUMNS[: len(CODES)]]
    rows = session.execute(sa.select(*answers).where(*scope.response_conditions(table))).all()
    return ikm.Tally.of(CODES, [tuple(row) for row in rows]) if rows else None


def _raw_reach(session: Session, scope: scopes.Scope) -> rollups.Reach:
    table = Response.__table__  # type: ignore[attr-defined]
    pooled = replace(scope, include_children=True)
    counts = dict(
        session.execute(
            sa.select(table.c.unit_id, sa.func.count())
            .where(*pooled.response_conditions(table))
            .group_by(table.c.unit_id)
        ).all()
    )
    own = counts.pop(scope.unit.id, 0)
    return rollups.Reach(own=own, below_units=len(counts), below=sum(counts.values()))


def _raw_branch(session: Session, scope: scopes.Scope) -> rollups.Branch | None:
    """A ranking's place of a pooled scope, from the raw rows (None without responses)."""
    tally = _raw_tally(session, scope)
    if tally is None:
        return None
    reach = _raw_reach(session, scope)
    return rollups.Branch(tally, int(reach.own > 0) + reach.below_units)


@DB_SETTINGS
@given(items=st.lists(placed_submission(), min_size=1, max_size=40), data=st.data())
def test_readers_equal_the_raw_rows_after_adding_redating_and_rebuilding(
    session: Session, items: list[tuple[Row, str, int, int, int, bool, int]], data: st.DataObject
) -> None:
    """Random responses and random scopes and periods (ragged ranges, whole months, a trend
    of several at once, overlapping or not): the readers' figures are those of the raw rows,
    after intake, after a zone change re-dates responses across midnights and month ends,
    and after a rebuild (which writes the month rows intake kept, exactly)."""
    root = make_unit(session)
    child = make_unit(session, parent=root, tz="WIB")
    grandchild = make_unit(session, parent=child, tz="WIT")
    units = [root, child, grandchild]
    services = [
        org.create_service(
            session=session, data=ServiceCreate(unit_code=u.code, code="ktp", name="KTP")
        )
        for u in units
    ]
    counters = [
        org.create_counter(
            session=session,
            data=CounterCreate(unit_code=u.code, code="loket", name="Loket", service_code="ktp"),
        )
        for u in units
    ]
    batches: dict[tuple[int, str, bool, int], list[intake.ResponseIn]] = defaultdict(list)
    for answers, channel, which, day, hour, flagged, where in items:
        local = datetime.combine(FIRST + timedelta(days=day), time(hour), units[which].zone)
        batches[(which, channel, flagged, where)].append(response(answers, local))
    for (which, channel, flagged, where), batch in batches.items():
        intake.record_responses(
            session=session,
            unit=units[which],
            items=batch,
            channel=channel,  # type: ignore[arg-type]  # drawn from the Channel values
            flagged=flagged,
            service=services[which] if where else None,
            counter=counters[which] if where == 2 else None,
        )

    def scope_of(draw: st.DrawFn) -> scopes.Scope:
        which = draw(st.integers(0, 2))
        where = draw(st.integers(0, 2))
        return scopes.Scope(
            unit=units[which],
            period=_period(draw),
            include_children=draw(st.booleans()),
            service=services[which] if where == 1 else None,
            counter=counters[which] if where == 2 else None,
            include_flagged=draw(st.booleans()),
        )

    checks = [data.draw(st.composite(scope_of)()) for _ in range(3)]
    trend = [data.draw(st.composite(_period)()) for _ in range(4)]

    def agree() -> None:
        for scope in checks:
            assert rollups.tally(session=session, scope=scope) == _raw_tally(session, scope)
            [reach] = rollups.reach(session=session, scope=scope, periods=[scope.period])
            assert reach == _raw_reach(session, scope)
            found = rollups.tallies(session=session, scope=scope, periods=trend)
            assert found == [_raw_tally(session, replace(scope, period=p)) for p in trend]
            both = rollups.tallies_and_reach(session=session, scope=scope, periods=trend)
            assert both == [
                (_raw_tally(session, s), _raw_reach(session, s))
                for s in (replace(scope, period=p) for p in trend)
            ]
            branches = rollups.tallies_by_branch(
                session=session,
                parent=root,
                periods=trend,
                include_flagged=scope.include_flagged,
                units=[u.id for u in units[1:] if u.id is not None],
            )
            below = replace(scope, unit=child, include_children=True, service=None, counter=None)
            assert child.id is not None  # stored
            assert [b.get(child.id) for b in branches] == [
                _raw_branch(session, replace(below, period=p)) for p in trend
            ]

    agree()
    kept = coarse_sums(session, [u.id for u in units])
    # A corrected zone re-dates the child's responses near midnight, some into another month.
    session.refresh(child)
    child.time_zone = "Asia/Jayapura"
    session.add(child)
    session.commit()
    datafix.redate(session=session, units=[child])
    agree()
    redated = coarse_sums(session, [u.id for u in units])
    rollups.rebuild(session=session, unit_ids=[u.id for u in units if u.id is not None])
    assert coarse_sums(session, [u.id for u in units]) == redated
    agree()
    if not any(hour >= 22 for *_, hour, _, _ in items):
        assert redated == kept


def test_a_trend_reads_every_period_in_the_same_few_statements(session: Session) -> None:
    """A trend is one grouped query over the rollups and one that counts the units with
    responses, however many periods: the statements of 12 months are those of 2."""
    root = make_unit(session)
    child = make_unit(session, parent=root)
    for month in range(1, 13):
        when = datetime(2025, month, 10, 3, tzinfo=UTC)
        intake.record_responses(
            session=session, unit=child, channel="api", items=[response((3,) * 9, when)]
        )
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def trend_statements(periods: list[Period]) -> list[str]:
        statements.clear()
        scope = scopes.Scope(unit=root, period=periods[0])
        connection = session.connection()
        sa.event.listen(connection, "before_cursor_execute", count)
        try:
            points = results.trend(
                session=session, scope=scope, periods=periods, method=ikm.DEFAULT_METHOD
            )
        finally:
            sa.event.remove(connection, "before_cursor_execute", count)
        assert [result.n for _, result in points] == [1] * len(periods)
        return list(statements)

    months = results.periods_between(parse_period("2025-01"), parse_period("2025-12"), "month")
    session.refresh(root)  # loaded before counting: the intake's commits expired it
    many = trend_statements(months)
    few = trend_statements(months[:2])
    assert len(many) == len(few)
    rollup_reads = [s for s in many if "response_rollup" in s]
    assert len(rollup_reads) == 2  # the tallies, then the units they cover


def test_month_rows_bound_their_days_whatever_order_responses_arrive_in(session: Session) -> None:
    """Intake widens a month row's first and last day as later submissions bring earlier or
    later days; a rebuild writes the same row."""
    unit = make_unit(session)
    for day in (15, 3, 28, 10):
        when = datetime(2025, 5, day, 3, tzinfo=UTC)
        intake.record_responses(
            session=session, unit=unit, channel="paper", items=[response((4,) * 9, when)]
        )
    added = coarse_sums(session, [unit.id])
    m = response_rollup_month.c
    bounds = sa.select(sa.func.min(m.first_date), sa.func.max(m.last_date)).where(
        m.unit_id == unit.id
    )
    assert session.execute(bounds).one() == (date(2025, 5, 3), date(2025, 5, 28))
    assert unit.id is not None
    rollups.rebuild(session=session, unit_ids=[unit.id])
    assert coarse_sums(session, [unit.id]) == added


def test_shards_sum_to_the_tally_and_a_rebuild_leaves_one_row(session: Session) -> None:
    """Submissions to one key spread over several rows (shards) of both rollup tables; the
    readers' tally is the pure one, and a rebuild writes one row per key with the same sums."""
    unit = make_unit(session)
    when = datetime(2026, 3, 2, 9, tzinfo=UTC)
    rows = [tuple(random.Random(i).randint(1, 4) for _ in CODES) for i in range(40)]
    for answers in rows:
        intake.record_responses(
            session=session, unit=unit, items=[response(answers, when)], channel="api"
        )
    r = response_rollup.c
    shards = session.execute(sa.select(r.shard).where(r.unit_id == unit.id)).scalars().all()
    # 40 picks of 16 shards all alike: 16**-39, never in practice.
    assert len(shards) > 1
    assert set(shards) <= set(range(ROLLUP_SHARDS))
    scope = scopes.Scope(unit=unit, period=parse_period("2026-03"))
    assert rollups.tally(session=session, scope=scope) == ikm.Tally.of(CODES, rows)
    sums, months = rollup_sums(session, [unit.id]), coarse_sums(session, [unit.id])
    assert [s[len(ROLLUP_KEYS_FULL)] for s in sums] == [40]  # the responses column
    m = response_rollup_month.c
    month_shards = session.execute(sa.select(m.shard).where(m.unit_id == unit.id)).scalars()
    assert sorted(month_shards) == sorted(shards)  # a call's day and month rows: one shard

    rollups.rebuild(session=session, unit_ids=[unit.id or 0])
    for shard in (r.shard, m.shard, response_rollup_quarter.c.shard):
        found = session.execute(sa.select(shard).where(shard.table.c.unit_id == unit.id))
        assert found.scalars().all() == [0]
    assert (rollup_sums(session, [unit.id]), coarse_sums(session, [unit.id])) == (sums, months)
    assert rollups.tally(session=session, scope=scope) == ikm.Tally.of(CODES, rows)

"""What the console's results pages show, composed from the results services: the overview of
a part of the organisation (its figure, its child units side by side with the previous period,
the elements across units, the trend, what needs attention) and one unit's page (per service and
counter, responses per day, saran). No figure is computed here: each is a ``results`` figure,
the same as ``skm ikm`` and the API give for the same scope, period and method."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, func

from app.core import ikm
from app.core.periods import Period, shift
from app.db import contains_pattern
from app.models import Counter, Response, Service, Unit
from app.services import org, results, rollups
from app.services.questionnaires import unit_form
from app.services.scopes import Scope

TREND_POINTS = 8
SARAN_PAGE = 25


@dataclass(frozen=True)
class ChildRow:
    unit: Unit
    result: ikm.IkmResult
    previous: ikm.IkmResult

    @property
    def change(self) -> Decimal | None:
        """The NIK's change from the previous period (both rounded, as published)."""
        if self.result.nik_rounded is None or self.previous.nik_rounded is None:
            return None
        return self.result.nik_rounded - self.previous.nik_rounded


@dataclass(frozen=True)
class WeakElement:
    code: str
    name: str
    result: ikm.ElementResult


@dataclass(frozen=True)
class Overview:
    unit: Unit
    period: Period
    previous: Period
    result: ikm.IkmResult
    names: dict[str, str]  # element code -> its name in Bahasa Indonesia
    children: list[ChildRow]
    trend: list[tuple[Period, ikm.IkmResult]]

    @property
    def below_sample(self) -> list[ChildRow]:
        return [
            row
            for row in self.children
            if row.result.n > 0 and row.result.sample and not row.result.sample.sufficient
        ]

    @property
    def silent(self) -> list[ChildRow]:
        return [row for row in self.children if row.result.n == 0]

    @property
    def weak_elements(self) -> list[WeakElement]:
        return [
            WeakElement(e.code, self.names.get(e.code, e.code), e)
            for e in self.result.elements
            if e.mutu in ("C", "D")
        ]


def element_names(*, session: Session, unit: Unit) -> dict[str, str]:
    form = unit_form(session=session, unit=unit)[1]
    return {element.code: element.name.id for element in form.elements}


def trend_periods(period: Period, points: int = TREND_POINTS) -> list[Period]:
    """The period and the ``points - 1`` before it, of the same kind, oldest first."""
    return [shift(period, step) for step in range(1 - points, 1)]


def overview(*, session: Session, unit: Unit, period: Period, method: ikm.Method) -> Overview:
    """A unit with its descendants in a period, and each of its children in it and the one
    before."""
    previous = shift(period, -1)
    scope = Scope(unit=unit, period=period)
    trend = results.trend(
        session=session, scope=scope, periods=trend_periods(period), method=method
    )
    now, before = results.rankings(
        session=session, parent=unit, periods=[period, previous], method=method
    )
    previous_of = {child.id: result for child, result in before}
    children = [ChildRow(child, result, previous_of[child.id]) for child, result in now]
    return Overview(
        unit=unit,
        period=period,
        previous=previous,
        result=trend[-1][1],
        names=element_names(session=session, unit=unit),
        children=children,
        trend=trend,
    )


@dataclass(frozen=True)
class Part:
    """A service or a counter of the unit, with its figure."""

    code: str
    name: str
    active: bool
    result: ikm.IkmResult


@dataclass(frozen=True)
class Saran:
    submitted_at: date
    text: str
    flagged: bool
    channel: str


@dataclass(frozen=True)
class UnitPage:
    unit: Unit
    period: Period
    result: ikm.IkmResult
    names: dict[str, str]
    services: list[Part]
    counters: list[Part]
    trend: list[tuple[Period, ikm.IkmResult]]
    per_day: dict[date, int]
    saran: list[Saran]
    saran_total: int
    children: int


def unit_page(
    *,
    session: Session,
    unit: Unit,
    period: Period,
    method: ikm.Method,
    query: str = "",
    page: int = 0,
) -> UnitPage:
    scope = Scope(unit=unit, period=period)
    trend = results.trend(
        session=session, scope=scope, periods=trend_periods(period), method=method
    )

    def part(row: Service | Counter, kind: str) -> Part:
        sub = Scope(unit=unit, period=period, **{kind: row})  # type: ignore[arg-type]
        figure = results.scope_ikm(session=session, scope=sub, method=method)
        return Part(row.code, row.name, row.active, figure)

    saran, total = suggestions(session=session, scope=scope, query=query, page=page)
    return UnitPage(
        unit=unit,
        period=period,
        result=trend[-1][1],
        names=element_names(session=session, unit=unit),
        services=[part(s, "service") for s in org.list_services(session=session, unit=unit)],
        counters=[part(c, "counter") for c in org.list_counters(session=session, unit=unit)],
        trend=trend,
        per_day=rollups.responses_per_day(session=session, scope=scope),
        saran=saran,
        saran_total=total,
        children=len(org.children(session=session, unit=unit)),
    )


def suggestions(
    *, session: Session, scope: Scope, query: str = "", page: int = 0
) -> tuple[list[Saran], int]:
    """The scope's saran, newest first, a page at a time, with how many there are; flagged
    responses' saran included (and marked), since staff read them all. ``query`` filters by a
    case-insensitive substring."""
    table = Response.__table__  # type: ignore[attr-defined]
    conditions = Scope(
        unit=scope.unit,
        period=scope.period,
        include_children=scope.include_children,
        service=scope.service,
        counter=scope.counter,
        include_flagged=True,
    ).response_conditions(table)
    conditions.append(col(Response.suggestion).is_not(None))
    conditions.append(col(Response.suggestion) != "")
    text = query.strip()
    if text:
        conditions.append(
            func.lower(col(Response.suggestion)).like(contains_pattern(text.lower()), escape="\\")
        )
    total = session.execute(sa.select(func.count()).select_from(table).where(*conditions))
    rows = session.execute(
        sa.select(table.c.local_date, table.c.suggestion, table.c.flagged, table.c.channel)
        .where(*conditions)
        .order_by(col(Response.submitted_at).desc(), col(Response.id).desc())
        .offset(max(page, 0) * SARAN_PAGE)
        .limit(SARAN_PAGE)
    ).all()
    return [Saran(d, s or "", f, c) for d, s, f, c in rows], int(total.scalar_one())


def units_for_picker(*, session: Session, root: Unit) -> Sequence[tuple[Unit, int]]:
    """The user's units as a pick list: the subtree, parents first, with their depth."""
    return org.subtree_with_depth(session, root)

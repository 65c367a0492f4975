"""The report's data, assembled once per request from the database; every renderer takes it.

Every figure comes from the IKM engine (``results.scope_ikm`` / ``results.ranking`` /
``results.trend``) or from GROUP BY counts in SQL; the renderers only lay it out.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.core import ikm
from app.core.forms import Form
from app.core.periods import Period, parse_period
from app.models import ANSWER_COLUMNS, Counter, Population, Response, Service, Unit
from app.reports import wording
from app.reports.logo import Logo
from app.services import (
    followup,
    org,
    questionnaires,
    report_settings,
    results,
    rollups,
    scopes,
)

TREND_PERIODS = 4  # earlier periods of the same length shown beside the current one
COVERAGE_CODES = 20  # unit codes named in the report's scope line; the count says the rest
SUGGESTIONS_MAX = 500
RESPONDENT_CHUNK = 2_000
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 19, "< 20 tahun"),
    (20, 29, "20-29 tahun"),
    (30, 39, "30-39 tahun"),
    (40, 49, "40-49 tahun"),
    (50, 59, "50-59 tahun"),
    (60, 200, ">= 60 tahun"),
)


@dataclass(frozen=True)
class UnitInfo:
    code: str
    name: str
    address: str | None


@dataclass(frozen=True)
class CountRow:
    label: str
    count: int
    percent: Decimal  # of all respondents in the scope, two decimals


@dataclass(frozen=True)
class ProfileTable:
    title: str  # "Jenis kelamin", ...
    rows: tuple[CountRow, ...]  # every option, then "Tidak diisi" when some left it blank


@dataclass(frozen=True)
class GroupIkm:
    """One line of a per-service, per-counter or per-child-unit table."""

    code: str
    name: str
    result: ikm.IkmResult


@dataclass(frozen=True)
class ElementLine:
    """An element's name beside its result (weakest/strongest lists, RTL table)."""

    code: str
    name: str
    result: ikm.ElementResult


@dataclass(frozen=True)
class UnitSample:
    """One unit of the report's scope: its own respondents against its own population (each
    unit records the service users of its own counters), in tree order."""

    code: str
    name: str
    depth: int  # below the report's unit (0: the unit itself)
    n: int  # its own responses, not its descendants'
    sample: ikm.SampleAdequacy | None  # None: no population recorded for the period


@dataclass(frozen=True)
class UnitElement:
    """One child unit's figure for one element."""

    code: str
    name: str
    result: ikm.ElementResult


@dataclass(frozen=True)
class ElementAcrossUnits:
    """One element over the child units: the report's own figure, and each child unit's,
    lowest NRR first. The units graded C or D on it are the ones asked to act; an element
    weak in many units calls for a measure across the pemda/OPD, not one unit's RTL."""

    code: str
    name: str
    result: ikm.ElementResult  # the report's figure for the element
    units: tuple[UnitElement, ...]  # child units with an answer to it, lowest NRR first

    @property
    def weak(self) -> tuple[UnitElement, ...]:
        """The units graded C or D on this element (NRR x 25 below the B floor)."""
        return tuple(u for u in self.units if u.result.mutu in ("C", "D"))


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    result: ikm.IkmResult


@dataclass(frozen=True)
class Signer:
    """Who signs the report, as the signature block prints it; None: a line to fill in."""

    title: str  # jabatan: the unit's setting, else "Kepala " + the unit's name
    name: str | None
    nip: str | None  # 18 digits
    city: str | None  # the unit's, else the nearest parent's
    day: date | None  # None: the day the report is made


@dataclass(frozen=True)
class FollowupLine:
    """A recorded follow-up action as BAB IV lists it."""

    elements: str  # element names, comma-separated
    action: str
    responsible: str
    target: date
    status: str  # rencana, proses, selesai


@dataclass(frozen=True)
class ReportData:
    unit: UnitInfo
    parents: tuple[UnitInfo, ...]  # the top of the tree first
    period: Period
    method: ikm.Method
    include_children: bool  # the unit's descendants too (the default), or its own responses
    form: Form
    result: ikm.IkmResult
    population: int | None
    profile: tuple[ProfileTable, ...]
    services: tuple[GroupIkm, ...]
    counters: tuple[GroupIkm, ...]
    children: tuple[GroupIkm, ...]
    weakest: tuple[ElementLine, ...]  # lowest NRR first: the priorities of the RTL table
    strongest: tuple[ElementLine, ...]  # highest NRR first
    trend: tuple[TrendPoint, ...]  # oldest first, the report's own period last
    suggestions: tuple[str, ...]  # newest first
    signer: Signer
    foreword: str | None  # the unit's kata pengantar; None: the standard text
    logo: Logo | None  # the unit's, else the nearest parent's
    # Every unit the scope covers with its own n and sample verdict, parents first.
    unit_samples: tuple[UnitSample, ...] = ()
    # Each element across the child units, most units graded C/D first (then lowest NRR).
    elements_across_units: tuple[ElementAcrossUnits, ...] = ()
    # The day, not the moment: the files say "disusun pada <date>", and the same data on the
    # same day then makes the same bytes (one ETag from every worker, and 304s).
    generated_at: datetime = field(default_factory=lambda: _today())
    # The follow-up register: the actions recorded for this period (the RTL table shows them
    # instead of empty rows) and for the period before, with what became of them.
    followup: tuple[FollowupLine, ...] = ()
    previous_period: Period | None = None
    previous_followup: tuple[FollowupLine, ...] = ()

    def element_name(self, code: str) -> str:
        return next(e.name.id for e in self.form.elements if e.code == code)

    @property
    def mean_of_children(self) -> bool:
        return self.result.aggregate.kind == "mean_of_children"

    @property
    def sheet_rows(self) -> int:
        """Rows of the processing sheet: one per respondent, or per child unit averaged."""
        if self.mean_of_children:
            return self.result.aggregate.children or 0
        return self.result.n

    @property
    def ranked(self) -> tuple[GroupIkm, ...]:
        """The child units best to worst by NIK (units without a figure last, by code)."""
        return tuple(
            sorted(
                self.children,
                key=lambda g: (g.result.nik is None, -(g.result.nik or 0), g.code),
            )
        )

    @property
    def sign_date(self) -> date:
        return self.signer.day or self.generated_at.date()

    @property
    def method_text(self) -> str:
        """The method in words (``bobot 1/9 tanpa pembulatan; tabel interval ...``)."""
        return wording.method_text(self.method, len(self.form.elements))

    @property
    def aggregate_text(self) -> str:
        """How the figure was formed, as the report says it."""
        return wording.aggregate_text(self.result.aggregate)

    @property
    def coverage_text(self) -> str:
        """Which units the figure covers, as the report says it."""
        coverage = self.result.coverage
        assert coverage is not None  # results name the units of every result
        if not self.include_children:
            return "responden unit ini saja, tanpa unit di bawahnya"
        named = ", ".join(coverage.codes[:COVERAGE_CODES])
        if coverage.units > COVERAGE_CODES:
            named += f" dan {coverage.units - COVERAGE_CODES} unit lainnya"
        return (
            f"{coverage.units} unit, {coverage.units_with_responses} di antaranya dengan "
            f"responden ({named})"
        )


def _today() -> datetime:
    return datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)


def build_report(
    *,
    session: Session,
    unit: Unit,
    period: Period,
    method: ikm.Method,
    include_children: bool = True,
    aggregate: ikm.Aggregation = "pooled",
) -> ReportData:
    """Everything a report shows about a unit in a period: with its descendants pooled (by
    default), its own responses only, or the mean of its child units' figures."""
    scope = scopes.Scope(unit=unit, period=period, include_children=include_children)
    result = results.scope_ikm(session=session, scope=scope, method=method, aggregate=aggregate)
    form = _form_of(session, scope)
    settings = report_settings.resolve(session=session, unit=unit)
    lines = [
        ElementLine(e.code, next(x.name.id for x in form.elements if x.code == e.code), e)
        for e in result.elements
        if e.nrr is not None
    ]
    by_nrr = sorted(lines, key=lambda line: (line.result.nrr, line.code))
    children = tuple(
        GroupIkm(child.code, child.name, child_result)
        for child, child_result in results.ranking(
            session=session, parent=unit, period=period, method=method
        )
    )
    return ReportData(
        unit=_info(unit),
        parents=tuple(_info(u) for u in org.ancestors(session=session, unit=unit)),
        period=period,
        method=result.method,  # with the grade table resolved
        include_children=include_children,
        form=form,
        result=result,
        population=result.sample.population if result.sample else None,  # scope_ikm read it
        profile=_profile(session, scope, form, result.n),
        services=_groups(session, scope, method, org.list_services(session=session, unit=unit)),
        counters=_groups(session, scope, method, org.list_counters(session=session, unit=unit)),
        children=children,
        weakest=tuple(by_nrr[:3]),
        strongest=tuple(reversed(by_nrr[-3:])),
        trend=_trend(session, scope, method, aggregate),
        suggestions=_suggestions(session, scope),
        signer=Signer(
            title=settings.signer_title or f"Kepala {unit.name}",
            name=settings.signer_name,
            nip=settings.signer_nip,
            city=settings.city,
            day=settings.sign_date,
        ),
        foreword=settings.foreword,
        logo=settings.logo,
        unit_samples=_unit_samples(session, scope),
        elements_across_units=_across_units(form, result, children),
        followup=_followup(session, unit, form, period),
        previous_period=period.previous(),
        previous_followup=_followup(session, unit, form, period.previous()),
    )


def _followup(session: Session, unit: Unit, form: Form, period: Period) -> tuple[FollowupLine, ...]:
    """The unit's recorded actions for survey periods within ``period`` (a year's report
    takes its quarters' actions), by target date."""
    names = {e.code: e.name.id for e in form.elements}
    found = []
    for action in followup.actions(session=session, unit=unit):
        try:
            answered = parse_period(action.period)
        except ValueError:  # stored labels are canonical; never expected
            continue
        if period.start <= answered.start and answered.end <= period.end:
            found.append(
                FollowupLine(
                    ", ".join(names.get(c, c) for c in action.elements.split(",")),
                    action.action,
                    action.responsible,
                    action.target_date,
                    action.status,
                )
            )
    return tuple(found)


def respondents(
    session: Session, data: ReportData, unit: Unit
) -> Iterator[tuple[float | None, ...]]:
    """The rows of the processing sheet, in element order: the answers of every response in
    the report's scope, oldest first, read a chunk at a time (constant memory for any number
    of respondents); for a mean of child units, each averaged child's NRR per element."""
    if data.mean_of_children:
        for child in data.children:
            if child.result.n:
                yield tuple(None if e.nrr is None else float(e.nrr) for e in child.result.elements)
        return
    scope = scopes.ordered_reads(
        session=session,
        scope=scopes.Scope(unit=unit, period=data.period, include_children=data.include_children),
    )
    r = Response.__table__.c  # type: ignore[attr-defined]
    columns = [r[c] for c in ANSWER_COLUMNS[: len(data.form.elements)]]
    conditions = scope.conditions(r, service=r.service_id, counter=r.counter_id)
    after: tuple[Any, int] | None = None
    while True:
        stmt = sa.select(r.local_date, r.id, *columns).where(*conditions)
        if after is not None:
            stmt = stmt.where(sa.tuple_(r.local_date, r.id) > sa.tuple_(*after))
        rows = session.execute(stmt.order_by(r.local_date, r.id).limit(RESPONDENT_CHUNK)).all()
        if not rows:
            return
        for row in rows:
            yield tuple(row[2:])
        after = rows[-1][0], rows[-1][1]


def _info(unit: Unit) -> UnitInfo:
    return UnitInfo(code=unit.code, name=unit.name, address=unit.address)


def _form_of(session: Session, scope: scopes.Scope) -> Form:
    """The form the scope's responses answered (the newest of its versions), or the unit's."""
    versions = rollups.form_versions(session=session, scope=scope)
    if not versions:
        return questionnaires.unit_form(session=session, unit=scope.unit)[1]
    return questionnaires.version_form(versions[-1])


def _percent(count: int, total: int) -> Decimal:
    if total == 0:
        return Decimal("0.00")
    return ikm.to_decimal(Fraction(100 * count, total))


def _profile(
    session: Session, scope: scopes.Scope, form: Form, total: int
) -> tuple[ProfileTable, ...]:
    """Respondents by sex, education, occupation, age band and service (GROUP BY in SQL)."""
    responses: sa.Table = Response.__table__  # type: ignore[attr-defined]
    r = responses.c
    conditions = scope.conditions(r, service=r.service_id, counter=r.counter_id)

    def counts(column: Any, source: Any = responses) -> dict[Any, int]:
        stmt = (
            sa.select(column, sa.func.count())
            .select_from(source)
            .where(*conditions)
            .group_by(column)
        )
        return {key: int(n) for key, n in session.execute(stmt).all()}

    def table(title: str, labelled: list[tuple[Any, str]], found: dict[Any, int]) -> ProfileTable:
        rows = [
            CountRow(label, found.get(key, 0), _percent(found.get(key, 0), total))
            for key, label in labelled
        ]
        blank = total - sum(row.count for row in rows)
        if blank:
            rows.append(CountRow("Tidak diisi", blank, _percent(blank, total)))
        return ProfileTable(title, tuple(rows))

    tables: list[ProfileTable] = []
    for code, title in (
        ("sex", "Jenis kelamin"),
        ("education", "Pendidikan"),
        ("occupation", "Pekerjaan"),
    ):
        spec = form.profile_field(code)
        if spec is not None:
            options = [(o.value, o.label.id) for o in spec.options]
            tables.append(table(title, options, counts(r[code])))
    band = sa.case(*((r.age.between(low, high), label) for low, high, label in AGE_BANDS))
    tables.append(table("Usia", [(label, label) for *_, label in AGE_BANDS], counts(band)))
    # By name: a pooled report adds up the same service offered by several units.
    service_table: sa.Table = Service.__table__  # type: ignore[attr-defined]
    s = service_table.c
    units = (
        s.unit_id.in_(sa.select(org.subtree_ids(scope.unit).c.id))
        if scope.include_children
        else s.unit_id == scope.unit.id
    )
    names = session.execute(sa.select(s.name).where(units).distinct().order_by(s.name)).scalars()
    labelled = [(name, name) for name in names]
    if labelled:
        with_service = responses.outerjoin(service_table, s.id == r.service_id)
        tables.append(table("Jenis layanan", labelled, counts(s.name, with_service)))
    return tuple(tables)


def _unit_samples(session: Session, scope: scopes.Scope) -> tuple[UnitSample, ...]:
    """Each unit of the scope with its own responses against its own population: two GROUP
    BY reads whatever the size of the tree."""
    below = org.subtree(session=session, unit=scope.unit) if scope.include_children else []
    units = org.preorder([scope.unit], below or [scope.unit])
    own = rollups.responses_by_unit(session=session, scope=scope)
    p = Population.__table__.c  # type: ignore[attr-defined]
    ids = [unit.id for unit, _ in units]
    populations = {
        unit_id: int(population)
        for unit_id, population in session.execute(
            sa.select(p.unit_id, p.population).where(
                p.unit_id.in_(ids), p.period == scope.period.label
            )
        ).all()
    }
    rows = []
    for unit, depth in units:
        assert unit.id is not None  # stored
        n = own.get(unit.id, 0)
        population = populations.get(unit.id)
        sample = (
            None
            if population is None
            else ikm.SampleAdequacy(population, ikm.sample_size(population), n)
        )
        rows.append(UnitSample(unit.code, unit.name, depth, n, sample))
    return tuple(rows)


def _across_units(
    form: Form, result: ikm.IkmResult, children: Sequence[GroupIkm]
) -> tuple[ElementAcrossUnits, ...]:
    """Each element over the child units with a figure; empty without two such units."""
    rated = [child for child in children if child.result.n]
    if len(rated) < 2:
        return ()
    names = {e.code: e.name.id for e in form.elements}
    lines = []
    # By code: a child on another form may order (or lack) elements differently.
    by_code = [{e.code: e for e in child.result.elements} for child in rated]
    for element in result.elements:
        units = [
            UnitElement(child.code, child.name, found)
            for child, own in zip(rated, by_code, strict=True)
            if (found := own.get(element.code)) is not None and found.nrr is not None
        ]
        units.sort(key=lambda u: (u.result.nrr, u.code))
        lines.append(ElementAcrossUnits(element.code, names[element.code], element, tuple(units)))
    lines.sort(key=lambda line: (-len(line.weak), line.result.nrr or 0, line.code))
    return tuple(lines)


def _groups(
    session: Session, scope: scopes.Scope, method: ikm.Method, rows: Sequence[Service | Counter]
) -> tuple[GroupIkm, ...]:
    """The IKM of each service or counter of the unit itself."""
    return tuple(
        GroupIkm(
            row.code,
            row.name,
            results.scope_ikm(
                session=session,
                scope=scopes.Scope(
                    unit=scope.unit,
                    period=scope.period,
                    service=row if isinstance(row, Service) else None,
                    counter=row if isinstance(row, Counter) else None,
                ),
                method=method,
            ),
        )
        for row in rows
    )


def _trend(
    session: Session, scope: scopes.Scope, method: ikm.Method, aggregate: ikm.Aggregation
) -> tuple[TrendPoint, ...]:
    periods = [scope.period]
    for _ in range(TREND_PERIODS):
        periods.insert(0, periods[0].previous())
    found = results.trend(
        session=session, scope=scope, periods=periods, method=method, aggregate=aggregate
    )
    # Earlier periods without responses say nothing: drop them, keep the report's own.
    return tuple(
        TrendPoint(period, result) for period, result in found if result.n or period == scope.period
    )


def _suggestions(session: Session, scope: scopes.Scope) -> tuple[str, ...]:
    r = Response.__table__.c  # type: ignore[attr-defined]
    stmt = (
        sa.select(r.suggestion)
        .where(*scope.conditions(r, service=r.service_id, counter=r.counter_id))
        .where(r.suggestion.is_not(None))
        .order_by(r.local_date.desc(), r.id.desc())
        .limit(SUGGESTIONS_MAX)
    )
    cleaned = (" ".join(text.split()) for text in session.execute(stmt).scalars())
    return tuple(text for text in cleaned if text)

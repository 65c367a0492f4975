"""The console's results pages: the overview of the user's part of the organisation and a
unit's page. Figures come from ``services.dashboard`` (the results services); these routes
only read the query and render."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from app.console.deps import root_unit, visible_unit
from app.console.pages import ViewerPage, period_or_default
from app.core import ikm
from app.core.periods import Period, containing, period_text, shift
from app.deps import ReadSession
from app.models import Unit
from app.reports import svg as charts
from app.services import dashboard

router = APIRouter(prefix="/console")

WEIGHTS = {
    "exact": "Bobot 1/9 tanpa pembulatan",
    "0.111": "Bobot 0,111",
    "0.11": "Bobot 0,11",
    "0.071": "Bobot 0,071 (14 unsur)",
}
SORTS = {
    "kode": lambda row: row.unit.code,
    "nik": lambda row: row.result.nik_rounded if row.result.nik_rounded is not None else -1,
    "n": lambda row: row.result.n,
    "minimum": lambda row: row.result.sample.minimum if row.result.sample else -1,
    "perubahan": lambda row: row.change if row.change is not None else -999,
}


@dataclass(frozen=True)
class Choice:
    """What a results page shows: which unit, period and method (from the query)."""

    unit: Unit
    period: Period
    weight: str
    message: str | None

    @property
    def method(self) -> ikm.Method:
        return ikm.Method(self.weight)

    def query(self, **changes: str) -> str:
        """This page's query string with some parameters changed."""
        params = {"unit": self.unit.code, "period": self.period.label, "weight": self.weight}
        params.update(changes)
        return "&".join(f"{k}={v}" for k, v in params.items())


def period_options(today: Period) -> list[tuple[str, str]]:
    """The periods a page offers: this year and the two before, each with its semesters and
    quarters, and this year's months so far; newest first."""
    options = []
    year = int(today.label[:4])
    for y in range(year, year - 3, -1):
        options.append((f"{y}", f"Tahun {y}"))
        for s in (2, 1):
            options.append((f"{y}-S{s}", f"Semester {'I' * s} {y}"))
        for q in (4, 3, 2, 1):
            options.append((f"{y}-Q{q}", f"Triwulan {['I', 'II', 'III', 'IV'][q - 1]} {y}"))
    month = containing(today.end, "month")
    for _ in range(12):
        if month.start.year != year:
            break
        options.append((month.label, period_text(month).removeprefix("Bulan ")))
        month = shift(month, -1)
    return options


def choose(
    session: Session, page: ViewerPage, unit: str | None, period: str | None, weight: str
) -> Choice:
    """The unit (the user's own by default; 404 outside the subtree), the period (this
    quarter by default; a wrong one is named and replaced) and the weight."""
    identity = page.identity
    chosen = visible_unit(session, identity, unit) if unit else root_unit(session, identity)
    today = containing(datetime.now(chosen.zone).date(), "quarter")
    message = None
    picked = today
    if period:
        picked, message = period_or_default(period, today)
        if picked.kind == "range":
            picked, message = today, "Pilih tahun, semester, triwulan atau bulan."
    return Choice(chosen, picked, weight if weight in WEIGHTS else "exact", message)


def _common(choice: Choice, extra: dict[str, Any]) -> dict[str, Any]:
    today = containing(datetime.now(UTC).date(), "quarter")
    return {
        "choice": choice,
        "periods": period_options(today),
        "weights": WEIGHTS,
        "period_words": period_text(choice.period),
        **extra,
    }


def _charts(
    names: dict[str, str],
    result: ikm.IkmResult,
    trend: list[tuple[Period, ikm.IkmResult]],
    unit: Unit,
    period: Period,
) -> dict[str, Any]:
    bars = [(names.get(e.code, e.code), e.nik_rounded, e.mutu) for e in result.elements]
    points = [(charts.short_period(p), r.nik_rounded, r.mutu) for p, r in trend]
    return {
        "bars": charts.element_bars(bars, f"NRR per unsur \u00d7 25, {period_text(period)}"),
        "trend_chart": charts.trend_line(points, f"Tren NIK {unit.name}"),
    }


@router.get("")
def overview(
    page: ViewerPage,
    session: ReadSession,
    unit: Annotated[str | None, Query(max_length=40)] = None,
    period: Annotated[str | None, Query(max_length=40)] = None,
    weight: Annotated[str, Query(max_length=10)] = "exact",
    sort: Annotated[str, Query(max_length=20)] = "nik",
    order: Annotated[str, Query(max_length=4)] = "desc",
) -> HTMLResponse:
    choice = choose(session, page, unit, period, weight)
    found = dashboard.overview(
        session=session, unit=choice.unit, period=choice.period, method=choice.method
    )
    key = SORTS.get(sort, SORTS["nik"])
    rows = sorted(found.children, key=key, reverse=order != "asc")
    codes = [e.code for e in found.result.elements]
    context = _common(
        choice,
        {
            "title": "Ringkasan",
            "o": found,
            "rows": rows,
            "sort": sort if sort in SORTS else "nik",
            "order": "asc" if order == "asc" else "desc",
            "codes": codes,
            **_charts(found.names, found.result, found.trend, found.unit, choice.period),
        },
    )
    return page.render("overview.html", context)


@router.get("/unit/{code}")
def unit_page(
    code: str,
    page: ViewerPage,
    session: ReadSession,
    period: Annotated[str | None, Query(max_length=40)] = None,
    weight: Annotated[str, Query(max_length=10)] = "exact",
    q: Annotated[str, Query(max_length=100)] = "",
    halaman: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> HTMLResponse:
    choice = choose(session, page, code, period, weight)
    found = dashboard.unit_page(
        session=session,
        unit=choice.unit,
        period=choice.period,
        method=choice.method,
        query=q,
        page=halaman,
    )
    context = _common(
        choice,
        {
            "title": found.unit.name,
            "u": found,
            "q": q,
            "halaman": halaman,
            "pages": (found.saran_total + dashboard.SARAN_PAGE - 1) // dashboard.SARAN_PAGE,
            **_charts(found.names, found.result, found.trend, found.unit, choice.period),
            "day_chart": charts.per_day(
                found.per_day, choice.period.start, choice.period.end, "Respons per hari"
            ),
        },
    )
    return page.render("unit.html", context)

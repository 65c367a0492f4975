"""IKM over the API: one unit's full result, a ranking of a unit's children, a trend."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app import ikm, services
from app.api.deps import DatabaseDep, IkmReader, etag_json, period_or_422, visible_unit
from app.errors import InvalidInput
from app.periods import PERIOD_HELP, shift

router = APIRouter(tags=["ikm"])


class MethodQuery(BaseModel):
    """How the IKM is computed (see the README): exact 1/k weights by default, or a
    published fixed weight and rounding steps, to reproduce a spreadsheet's figures."""

    model_config = ConfigDict(extra="forbid")

    weight: Literal["exact", "0.111", "0.11", "0.071"] = "exact"
    round_nrr: int | None = Field(default=None, ge=0, le=10)
    round_weighted: int | None = Field(default=None, ge=0, le=10)
    round_total: int | None = Field(default=None, ge=0, le=10)
    table: Literal["2017", "2004"] | None = Field(
        default=None,
        description="Grade interval table; by default the table of the form the responses "
        "were answered on (2017 for the current form, 2004 for KepmenPAN 25/2004 data)",
    )

    def method(self) -> ikm.Method:
        try:
            return ikm.Method(
                self.weight, self.round_nrr, self.round_weighted, self.round_total, self.table
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None


class IkmQuery(MethodQuery):
    """Which responses and which method; unknown parameters are refused."""

    unit: str = Field(description="Unit code", examples=["dukcapil-kantor"])
    period: str = Field(description=PERIOD_HELP, examples=["2026-S1"])
    service: str | None = Field(default=None, description="Service code of the unit")
    counter: str | None = Field(default=None, description="Counter code of the unit")
    include_children: bool = Field(default=False, description="Pool all descendant units")
    include_flagged: bool = Field(default=False, description="Count flagged responses too")


class ElementOut(BaseModel):
    code: str
    n: int
    sum: int
    nrr: float | None
    weighted: float | None
    nik_rounded: float | None
    mutu: str | None


class MethodOut(BaseModel):
    weight: str
    round_nrr: int | None
    round_weighted: int | None
    round_total: int | None
    table: str | None = Field(
        description="The grade table used; null where each unit is graded with its own form's"
    )
    label: str


class SampleOut(BaseModel):
    population: int
    minimum: int
    n: int
    sufficient: bool
    verdict: str


class IntervalOut(BaseModel):
    level: float
    low: float
    high: float
    grades: list[str]


class IkmOut(BaseModel):
    """The engine's full result for one unit and period (the same as ``skm ikm --json``)."""

    unit: str
    period: str
    include_children: bool
    n: int = Field(description="Responses counted")
    ikm: float | None = Field(description="Sum of NRR tertimbang, 1..4")
    nik: float | None = Field(description="IKM x 25, exact")
    nik_rounded: float | None = Field(description="NIK rounded half-up to 2 decimals")
    mutu: str | None = Field(description="Grade A-D read from nik_rounded")
    kinerja: str | None
    method: MethodOut
    elements: list[ElementOut]
    sample: SampleOut | None = Field(description="n against the Krejcie-Morgan minimum")
    ci: IntervalOut | None = Field(description="Approximate 95% interval of the NIK")
    warnings: list[str]


@router.get("/ikm", response_model=IkmOut)
def get_ikm(
    request: Request, query: Annotated[IkmQuery, Query()], database: DatabaseDep, key: IkmReader
) -> Response:
    """The IKM of a unit in a period (scope ikm:read): per element n, sum, NRR, NRR tertimbang
    and grade; the IKM, the NIK and its grade; the method; sample adequacy against the unit's
    population; and a 95% interval of the NIK."""
    period = period_or_422(query.period)
    method = query.method()
    with database.session() as session:
        unit = visible_unit(session, key, query.unit)
        scope = services.resolve_scope(
            session=session,
            unit=unit,
            period=period,
            service_code=query.service,
            counter_code=query.counter,
            include_children=query.include_children,
            include_flagged=query.include_flagged,
        )
        result = services.scope_ikm(session=session, scope=scope, method=method)
    payload = IkmOut.model_validate(
        {
            "unit": unit.code,
            "period": period.label,
            "include_children": query.include_children,
            **result.to_dict(),
        }
    )
    return etag_json(request, payload)


class RankingRow(BaseModel):
    unit: str
    name: str
    n: int
    nik_rounded: float | None
    mutu: str | None
    kinerja: str | None
    sample: SampleOut | None


class RankingOut(BaseModel):
    parent: str
    period: str
    method: MethodOut
    units: list[RankingRow] = Field(description="Children of the parent, best NIK first")


@router.get("/ikm/ranking", response_model=RankingOut)
def get_ranking(
    request: Request,
    parent: Annotated[str, Query(description="Parent unit code", examples=["kendari"])],
    period: Annotated[str, Query(description=PERIOD_HELP, examples=["2026"])],
    database: DatabaseDep,
    key: IkmReader,
) -> Response:
    """Every direct child of a unit with its IKM (its own subtree pooled), NIK, grade, n and
    sample adequacy, best first; units without responses last (scope ikm:read)."""
    parsed = period_or_422(period)
    with database.session() as session:
        root = visible_unit(session, key, parent)
        ranked = services.ranking(
            session=session, parent=root, period=parsed, method=ikm.DEFAULT_METHOD
        )
    rows = []
    for child, result in ranked:
        data = result.to_dict()
        rows.append(
            RankingRow(
                unit=child.code,
                name=child.name,
                n=result.n,
                nik_rounded=data["nik_rounded"],
                mutu=result.mutu,
                kinerja=result.kinerja,
                sample=data["sample"],
            )
        )
    rows.sort(key=lambda r: (r.nik_rounded is None, -(r.nik_rounded or 0), r.unit))
    method = MethodOut.model_validate(ikm.DEFAULT_METHOD.to_dict())
    return etag_json(
        request, RankingOut(parent=root.code, period=parsed.label, method=method, units=rows)
    )


class TrendPoint(BaseModel):
    period: str
    n: int
    nik_rounded: float | None
    mutu: str | None


class TrendOut(BaseModel):
    unit: str
    granularity: str
    method: MethodOut
    points: list[TrendPoint]


MAX_TREND_POINTS = 60


@router.get("/ikm/trend", response_model=TrendOut)
def get_trend(
    request: Request,
    unit: Annotated[str, Query(description="Unit code")],
    from_: Annotated[str, Query(alias="from", description="First period, e.g. 2024-Q1")],
    to: Annotated[str, Query(description="Last period, e.g. 2026-Q2")],
    granularity: Annotated[Literal["quarter", "semester", "year"], Query()],
    database: DatabaseDep,
    key: IkmReader,
    include_children: bool = False,
) -> Response:
    """The NIK and grade of a unit per quarter, semester or year between two periods
    (scope ikm:read); at most 60 points."""
    first, last = period_or_422(from_), period_or_422(to)
    current = period_or_422(_start_of(first.start, granularity))
    points: list[TrendPoint] = []
    with database.session() as session:
        target = visible_unit(session, key, unit)
        while current.start <= last.end:
            if len(points) == MAX_TREND_POINTS:
                raise InvalidInput(f"a trend has at most {MAX_TREND_POINTS} points")
            scope = services.Scope(unit=target, period=current, include_children=include_children)
            result = services.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
            points.append(
                TrendPoint(
                    period=current.label,
                    n=result.n,
                    mutu=result.mutu,
                    nik_rounded=result.to_dict()["nik_rounded"],
                )
            )
            current = shift(current, 1)
    method = MethodOut.model_validate(ikm.DEFAULT_METHOD.to_dict())
    return etag_json(
        request, TrendOut(unit=target.code, granularity=granularity, method=method, points=points)
    )


def _start_of(day: date, granularity: str) -> str:
    if granularity == "year":
        return f"{day.year}"
    if granularity == "semester":
        return f"{day.year}-S{1 if day.month <= 6 else 2}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"

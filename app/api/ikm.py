"""IKM over the API: one unit's full result, a ranking of a unit's children, a trend."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.api.deps import IkmReader, etag_json, period_or_422, resolve_scope, visible_unit
from app.api.schemas import INCLUDE_CHILDREN, MethodOut, MethodQuery, SampleOut, ScopeQuery
from app.core import ikm
from app.core.periods import PERIOD_HELP
from app.deps import ReadSession
from app.services import results, scopes

router = APIRouter(tags=["ikm"])


AGGREGATE = (
    "pooled: every response of the units covered, by sums and counts (default); "
    "mean_of_children: the mean of the direct child units' figures (each child pooled with "
    "its subtree), as many Bagian Organisasi publish for a pemda"
)


class IkmQuery(ScopeQuery, MethodQuery):
    """Which responses and which method; unknown parameters are refused."""

    aggregate: ikm.Aggregation = Field(default="pooled", description=AGGREGATE)


class ElementOut(BaseModel):
    code: str
    n: int
    sum: int
    nrr: float | None
    weighted: float | None
    nik_rounded: float | None
    mutu: str | None


class IntervalOut(BaseModel):
    level: float
    low: float
    high: float
    grades: list[str]


class CoverageCount(BaseModel):
    units: int = Field(description="Units in scope: the unit and, pooled, its descendants")
    units_with_responses: int = Field(description="Of those, units with responses counted")


class CoverageOut(CoverageCount):
    codes: list[str] = Field(description="Codes of the units in scope, parents first")


class AggregateOut(BaseModel):
    kind: ikm.Aggregation
    children: int | None = Field(description="Child units averaged (mean_of_children only)")
    label: str


class IkmOut(BaseModel):
    """The engine's full result for one unit and period (the same as ``skm ikm --json``)."""

    unit: str
    period: str
    include_children: bool = Field(description="Descendants pooled, or the unit's own only")
    n: int = Field(description="Responses counted")
    ikm: float | None = Field(description="Sum of NRR tertimbang, 1..4")
    nik: float | None = Field(description="IKM x 25, exact")
    nik_rounded: float | None = Field(description="NIK rounded half-up to 2 decimals")
    mutu: str | None = Field(description="Grade A-D read from nik_rounded")
    kinerja: str | None
    method: MethodOut
    aggregate: AggregateOut = Field(description="Responses pooled, or child units averaged")
    coverage: CoverageOut = Field(description="The units the figure covers")
    elements: list[ElementOut]
    sample: SampleOut | None = Field(
        description="n against the Krejcie-Morgan minimum for the population of the units "
        "covered; null for a service or counter (populations are recorded per unit)"
    )
    ci: IntervalOut | None = Field(description="Approximate 95% interval of the NIK")
    warnings: list[str]


@router.get("/ikm", response_model=IkmOut)
def get_ikm(
    request: Request, query: Annotated[IkmQuery, Query()], session: ReadSession, key: IkmReader
) -> Response:
    """The IKM of a unit in a period (scope ikm:read), covering the unit and all its
    descendants unless `include_children=false`: per element n, sum, NRR, NRR tertimbang and
    grade; the IKM, the NIK and its grade; the method; how the units were aggregated and
    which units are covered; sample adequacy against the population of the units covered;
    and a 95% interval of the NIK."""
    scope = resolve_scope(session, key, query)
    result = results.scope_ikm(
        session=session, scope=scope, method=query.method(), aggregate=query.aggregate
    )
    payload = IkmOut.model_validate(
        {
            "unit": scope.unit.code,
            "period": scope.period.label,
            "include_children": scope.include_children,
            **result.to_dict(),
        }
    )
    return etag_json(request, payload)


class RankingQuery(MethodQuery):
    """Whose children, which period and which method; unknown parameters are refused."""

    parent: str = Field(description="Parent unit code", examples=["kendari"])
    period: str = Field(description=PERIOD_HELP, examples=["2026"])


class RankingRow(BaseModel):
    unit: str
    name: str
    n: int
    nik_rounded: float | None
    mutu: str | None
    kinerja: str | None
    sample: SampleOut | None
    coverage: CoverageCount = Field(description="The child and its descendants, pooled")


class RankingOut(BaseModel):
    parent: str
    period: str
    method: MethodOut
    units: list[RankingRow] = Field(description="Children of the parent, best NIK first")


@router.get("/ikm/ranking", response_model=RankingOut)
def get_ranking(
    request: Request, query: Annotated[RankingQuery, Query()], session: ReadSession, key: IkmReader
) -> Response:
    """Every direct child of a unit with its IKM (its own subtree pooled), NIK, grade, n,
    the units it covers and sample adequacy, best first; units without responses last (scope
    ikm:read). The method parameters are those of /ikm: each row is the child's /ikm figure."""
    parsed = period_or_422(query.period)
    root = visible_unit(session, key, query.parent)
    method = query.method()
    ranked = results.ranking(session=session, parent=root, period=parsed, method=method)
    # The rows take their fields from the engine's result, as /ikm does.
    rows = [
        RankingRow.model_validate({**result.to_dict(), "unit": child.code, "name": child.name})
        for child, result in ranked
    ]
    rows.sort(key=lambda r: (r.nik_rounded is None, -(r.nik_rounded or 0), r.unit))
    return etag_json(
        request,
        RankingOut(
            parent=root.code,
            period=parsed.label,
            method=MethodOut.model_validate(method.to_dict()),
            units=rows,
        ),
    )


class TrendQuery(MethodQuery):
    """Which unit, which periods and which method; unknown parameters are refused."""

    unit: str = Field(description="Unit code")
    from_: str = Field(alias="from", description="First period, e.g. 2024-Q1")
    to: str = Field(description="Last period, e.g. 2026-Q2")
    granularity: Literal["month", "quarter", "semester", "year"]
    include_children: bool = Field(default=True, description=INCLUDE_CHILDREN)
    aggregate: ikm.Aggregation = Field(default="pooled", description=AGGREGATE)


class TrendPoint(BaseModel):
    period: str
    n: int
    nik_rounded: float | None
    mutu: str | None
    coverage: CoverageCount


class TrendOut(BaseModel):
    unit: str
    granularity: str
    include_children: bool
    aggregate: ikm.Aggregation
    method: MethodOut
    points: list[TrendPoint]


@router.get("/ikm/trend", response_model=TrendOut)
def get_trend(
    request: Request, query: Annotated[TrendQuery, Query()], session: ReadSession, key: IkmReader
) -> Response:
    """The NIK and grade of a unit (with its descendants unless `include_children=false`)
    per month, quarter, semester or year between two periods (scope ikm:read); at most 60
    points. The method and aggregate parameters are those of /ikm."""
    periods = results.periods_between(
        period_or_422(query.from_, ("query", "from")),
        period_or_422(query.to, ("query", "to")),
        query.granularity,
    )
    target = visible_unit(session, key, query.unit)
    scope = scopes.Scope(unit=target, period=periods[0], include_children=query.include_children)
    method = query.method()
    found = results.trend(
        session=session, scope=scope, periods=periods, method=method, aggregate=query.aggregate
    )
    points = [
        TrendPoint.model_validate({**result.to_dict(), "period": period.label})
        for period, result in found
    ]
    return etag_json(
        request,
        TrendOut(
            unit=target.code,
            granularity=query.granularity,
            include_children=scope.include_children,
            aggregate=query.aggregate,
            method=MethodOut.model_validate(method.to_dict()),
            points=points,
        ),
    )

"""IKM over the API: one unit's full result, a ranking of a unit's children, a trend."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.api.deps import IkmReader, etag_json, period_or_422, visible_unit
from app.api.schemas import MethodOut, MethodQuery, SampleOut
from app.core import ikm
from app.core.periods import PERIOD_HELP
from app.deps import ReadSession
from app.services import results, scopes

router = APIRouter(tags=["ikm"])


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
    request: Request, query: Annotated[IkmQuery, Query()], session: ReadSession, key: IkmReader
) -> Response:
    """The IKM of a unit in a period (scope ikm:read): per element n, sum, NRR, NRR tertimbang
    and grade; the IKM, the NIK and its grade; the method; sample adequacy against the unit's
    population; and a 95% interval of the NIK."""
    period = period_or_422(query.period)
    unit = visible_unit(session, key, query.unit)
    scope = scopes.resolve_scope(
        session=session,
        unit=unit,
        period=period,
        service_code=query.service,
        counter_code=query.counter,
        include_children=query.include_children,
        include_flagged=query.include_flagged,
    )
    result = results.scope_ikm(session=session, scope=scope, method=query.method())
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
    session: ReadSession,
    key: IkmReader,
) -> Response:
    """Every direct child of a unit with its IKM (its own subtree pooled), NIK, grade, n and
    sample adequacy, best first; units without responses last (scope ikm:read)."""
    parsed = period_or_422(period)
    root = visible_unit(session, key, parent)
    ranked = results.ranking(session=session, parent=root, period=parsed, method=ikm.DEFAULT_METHOD)
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


@router.get("/ikm/trend", response_model=TrendOut)
def get_trend(
    request: Request,
    unit: Annotated[str, Query(description="Unit code")],
    from_: Annotated[str, Query(alias="from", description="First period, e.g. 2024-Q1")],
    to: Annotated[str, Query(description="Last period, e.g. 2026-Q2")],
    granularity: Annotated[Literal["quarter", "semester", "year"], Query()],
    session: ReadSession,
    key: IkmReader,
    include_children: bool = False,
) -> Response:
    """The NIK and grade of a unit per quarter, semester or year between two periods
    (scope ikm:read); at most 60 points."""
    first, last = period_or_422(from_, ("query", "from")), period_or_422(to, ("query", "to"))
    periods = results.periods_between(first, last, granularity)
    target = visible_unit(session, key, unit)
    scope = scopes.Scope(unit=target, period=periods[0], include_children=include_children)
    found = results.trend(session=session, scope=scope, periods=periods, method=ikm.DEFAULT_METHOD)
    points = [
        TrendPoint(
            period=period.label,
            n=result.n,
            mutu=result.mutu,
            nik_rounded=result.to_dict()["nik_rounded"],
        )
        for period, result in found
    ]
    method = MethodOut.model_validate(ikm.DEFAULT_METHOD.to_dict())
    return etag_json(
        request, TrendOut(unit=target.code, granularity=granularity, method=method, points=points)
    )

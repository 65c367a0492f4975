"""The versioned HTTP API for staff and other systems, under /api/v1.

Every route takes an API key (``Authorization: Bearer <key>``) holding the route's scope; a key
limited to a subtree of the organisation sees nothing outside it (404, as if absent).
"""

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, RootModel
from sqlmodel import Session, select

from app import apikeys, ikm, qr, services
from app.config import Settings, get_settings
from app.db import Database, get_database
from app.errors import InvalidInput, NotFound
from app.models import ApiKey, Counter, Unit
from app.periods import PERIOD_HELP, Period, parse_period, shift

DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing, unknown, revoked or expired API key"},
    403: {"description": "The API key lacks the scope this route needs"},
    404: {"description": "No such object, or outside the key's part of the organisation"},
}


def key_with(scope: str) -> Callable[..., ApiKey]:
    """A dependency: the request's API key, which must hold ``scope``."""

    def dependency(
        database: DatabaseDep, authorization: Annotated[str | None, Header()] = None
    ) -> ApiKey:
        with database.session(write=True) as session:
            return apikeys.authenticate(session=session, authorization=authorization, scope=scope)

    return dependency


AdminKey = Annotated[ApiKey, Depends(key_with("admin"))]
router = APIRouter(prefix="/api/v1", responses=ERRORS)


def _counter(database: Database, key: ApiKey, counter_id: int) -> tuple[Counter, Unit]:
    with database.session() as session:
        counter = session.get(Counter, counter_id)
        if counter is None:
            raise NotFound(f"no counter with id {counter_id}")
        try:
            unit = apikeys.visible_unit(
                session=session, key=key, unit=session.get(Unit, counter.unit_id)
            )
        except NotFound:
            raise NotFound(f"no counter with id {counter_id}") from None
        return counter, unit


@router.get("/counters/{counter_id}/qr.png", response_class=Response, tags=["qr"])
def counter_qr_png(
    counter_id: int, database: DatabaseDep, settings: SettingsDep, key: AdminKey
) -> Response:
    """The counter's QR code as a PNG image, encoding its public survey URL (scope admin)."""
    counter, _ = _counter(database, key, counter_id)
    url = qr.survey_url(settings.public_base_url, counter.token)
    return Response(qr.qr_png(url), media_type="image/png")


@router.get("/counters/{counter_id}/qr.svg", response_class=Response, tags=["qr"])
def counter_qr_svg(
    counter_id: int, database: DatabaseDep, settings: SettingsDep, key: AdminKey
) -> Response:
    """The counter's QR code as an SVG image, for print shops and banners (scope admin)."""
    counter, _ = _counter(database, key, counter_id)
    url = qr.survey_url(settings.public_base_url, counter.token)
    return Response(qr.qr_svg(url), media_type="image/svg+xml")


@router.get("/counters/{counter_id}/poster.pdf", response_class=Response, tags=["qr"])
def counter_poster(
    counter_id: int, database: DatabaseDep, settings: SettingsDep, key: AdminKey
) -> Response:
    """An A5 poster for one counter: unit, counter, instruction, QR code, URL (scope admin)."""
    counter, unit = _counter(database, key, counter_id)
    with database.session() as session:
        posters = services.posters(
            session=session, unit=unit, counter=counter, base_url=settings.public_base_url
        )
    return Response(qr.posters_pdf(posters), media_type="application/pdf")


@router.get("/units/{unit_id}/posters.pdf", response_class=Response, tags=["qr"])
def unit_posters(
    unit_id: int, database: DatabaseDep, settings: SettingsDep, key: AdminKey
) -> Response:
    """One A5 poster per active counter of a unit, in a single PDF (scope admin)."""
    with database.session() as session:
        unit = apikeys.visible_unit(session=session, key=key, unit=session.get(Unit, unit_id))
        posters = services.posters(session=session, unit=unit, base_url=settings.public_base_url)
    return Response(qr.posters_pdf(posters), media_type="application/pdf")


# --- IKM ---


class IkmQuery(BaseModel):
    """Which responses and which method; unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    unit: str = Field(description="Unit code", examples=["dukcapil-kantor"])
    period: str = Field(description=PERIOD_HELP, examples=["2026-S1"])
    service: str | None = Field(default=None, description="Service code of the unit")
    counter: str | None = Field(default=None, description="Counter code of the unit")
    include_children: bool = Field(default=False, description="Pool all descendant units")
    include_flagged: bool = Field(default=False, description="Count flagged responses too")
    weight: Literal["exact", "0.111", "0.11", "0.071"] = "exact"
    round_nrr: int | None = Field(default=None, ge=0, le=10)
    round_weighted: int | None = Field(default=None, ge=0, le=10)
    round_total: int | None = Field(default=None, ge=0, le=10)
    table: Literal["2017", "2004"] = "2017"


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
    table: str
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


def etag_json(request: Request, payload: BaseModel | RootModel[Any]) -> Response:
    """The payload as JSON with a strong ETag; 304 when the client already has it."""
    body = payload.model_dump_json().encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/json", headers={"ETag": etag})


IkmReader = Annotated[ApiKey, Depends(key_with("ikm:read"))]


@router.get("/ikm", response_model=IkmOut, tags=["ikm"])
def get_ikm(
    request: Request, query: Annotated[IkmQuery, Query()], database: DatabaseDep, key: IkmReader
) -> Response:
    """The IKM of a unit in a period (scope ikm:read): per element n, sum, NRR, NRR tertimbang
    and grade; the IKM, the NIK and its grade; the method; sample adequacy against the unit's
    population; and a 95% interval of the NIK."""
    period = _parse_period(query.period)
    try:
        method = ikm.Method(
            query.weight, query.round_nrr, query.round_weighted, query.round_total, query.table
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    with database.session() as session:
        unit = apikeys.visible_unit(
            session=session,
            key=key,
            unit=session.exec(select(Unit).where(Unit.code == query.unit.strip().lower())).first(),
        )
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


@router.get("/ikm/ranking", response_model=RankingOut, tags=["ikm"])
def get_ranking(
    request: Request,
    parent: Annotated[str, Query(description="Parent unit code", examples=["kendari"])],
    period: Annotated[str, Query(description=PERIOD_HELP, examples=["2026"])],
    database: DatabaseDep,
    key: IkmReader,
) -> Response:
    """Every direct child of a unit with its IKM (its own subtree pooled), NIK, grade, n and
    sample adequacy, best first; units without responses last (scope ikm:read)."""
    parsed = _parse_period(period)
    with database.session() as session:
        root = apikeys.visible_unit(session=session, key=key, unit=_unit_by_code(session, parent))
        rows = []
        for child in services.children(session=session, unit=root):
            scope = services.Scope(unit=child, period=parsed, include_children=True)
            result = services.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
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


@router.get("/ikm/trend", response_model=TrendOut, tags=["ikm"])
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
    first, last = _parse_period(from_), _parse_period(to)
    current = _parse_period(_start_of(first.start, granularity))
    points: list[TrendPoint] = []
    with database.session() as session:
        target = apikeys.visible_unit(session=session, key=key, unit=_unit_by_code(session, unit))
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


def _parse_period(text: str) -> Period:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _unit_by_code(session: Session, code: str) -> Unit | None:
    return session.exec(select(Unit).where(Unit.code == code.strip().lower())).first()


# --- units ---


class UnitOut(BaseModel):
    code: str
    name: str
    address: str | None
    time_zone: str
    parent: str | None = Field(description="Parent unit code; null at the top of the tree")
    active: bool
    depth: int = Field(description="Depth below the top of the listed tree")


@router.get("/units", response_model=list[UnitOut], tags=["units"])
def list_units(
    request: Request,
    database: DatabaseDep,
    key: IkmReader,
    parent: Annotated[str | None, Query(description="Only this unit and its descendants")] = None,
) -> Response:
    """The organisation tree as a flat list, parents before children (scope ikm:read).
    A key limited to a subtree lists only that subtree."""
    with database.session() as session:
        tree = services.unit_tree(session=session)
        codes = {u.id: u.code for u, _ in tree}
        root_id = key.unit_id
        if parent is not None:
            root_id = apikeys.visible_unit(
                session=session, key=key, unit=_unit_by_code(session, parent)
            ).id
        rows: list[UnitOut] = []
        inside_depth: int | None = None
        for unit, depth in tree:
            if inside_depth is not None and depth <= inside_depth:
                inside_depth = None  # left the chosen subtree
            if unit.id == root_id:
                inside_depth = depth
            if root_id is None or inside_depth is not None:
                base = 0 if inside_depth is None else inside_depth
                rows.append(
                    UnitOut(
                        code=unit.code,
                        name=unit.name,
                        address=unit.address,
                        time_zone=unit.time_zone,
                        active=unit.active,
                        parent=codes.get(unit.parent_id),
                        depth=depth - base,
                    )
                )
    return etag_json(request, _UnitList(rows))


class _UnitList(RootModel[list[UnitOut]]):
    pass


# --- population (for the sample-size check) ---


class PopulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    population: int = Field(gt=0, le=100_000_000, description="Service users in the period")


class PopulationOut(BaseModel):
    unit: str
    period: str
    population: int
    minimum_sample: int = Field(description="Krejcie-Morgan minimum number of respondents")


def _population_out(unit: Unit, period: Period, population: int) -> PopulationOut:
    return PopulationOut(
        unit=unit.code,
        period=period.label,
        population=population,
        minimum_sample=ikm.sample_size(population),
    )


@router.put("/units/{unit_code}/population/{period}", response_model=PopulationOut, tags=["units"])
def put_population(
    unit_code: str, period: str, body: PopulationIn, database: DatabaseDep, key: AdminKey
) -> PopulationOut:
    """Record how many people used the unit's services in a period (scope admin)."""
    parsed = _parse_period(period)
    with database.session(write=True) as session:
        unit = apikeys.visible_unit(
            session=session, key=key, unit=_unit_by_code(session, unit_code)
        )
        services.set_population(
            session=session, unit=unit, period=parsed, population=body.population
        )
        return _population_out(unit, parsed, body.population)


@router.get("/units/{unit_code}/population/{period}", response_model=PopulationOut, tags=["units"])
def get_population(
    unit_code: str, period: str, database: DatabaseDep, key: IkmReader
) -> PopulationOut:
    """The recorded population of a unit in a period, with its minimum sample (ikm:read)."""
    parsed = _parse_period(period)
    with database.session() as session:
        unit = apikeys.visible_unit(
            session=session, key=key, unit=_unit_by_code(session, unit_code)
        )
        population = services.get_population(session=session, unit=unit, period=parsed)
        if population is None:
            raise NotFound(f"no population recorded for {unit.code} in {parsed.label}")
        return _population_out(unit, parsed, population)

"""The organisation over the API: units, their services and counters, populations, QR codes.

Objects are addressed by code (``/units/disdukcapil/counters/loket``), as staff name
them. Nothing is ever deleted, since stored responses refer to it: ``active: false``
retires a unit, service or counter.
"""

import hashlib
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel
from sqlmodel import Session

from app.api.deps import (
    LOCAL,
    AdminKey,
    IkmReader,
    body_errors,
    by,
    etag_bytes,
    etag_json,
    period_or_422,
    printable_base_url,
    visible_unit,
)
from app.caching import not_modified
from app.core import ikm
from app.core.periods import Period
from app.deps import ReadSession, SettingsDep, WriteSession
from app.errors import Forbidden, NotFound
from app.models import (
    ApiKey,
    Code,
    Counter,
    CounterCreate,
    CounterUpdate,
    Name,
    Service,
    ServiceCreate,
    ServiceUpdate,
    Unit,
    UnitCreate,
    UnitReportSettingUpdate,
    UnitUpdate,
    zone_label,
)
from app.reports import logo, qr
from app.services import org, report_settings

router = APIRouter(prefix="/units", tags=["units"])
TAKEN: dict[int | str, dict[str, Any]] = {409: {"description": "The code is already taken"}}


class UnitOut(BaseModel):
    code: str = Field(examples=["disdukcapil"])
    name: str = Field(examples=["Dinas Kependudukan dan Pencatatan Sipil"])
    address: str | None
    time_zone: Annotated[str, BeforeValidator(zone_label)] = Field(
        description="WIB, WITA or WIT", examples=["WITA"]
    )
    parent: str | None = Field(description="Parent unit code; null at the top of the tree")
    form: str | None = Field(
        description="Its questionnaire (form code); null: the server's default form",
        examples=[None],
    )
    active: bool


class UnitRow(UnitOut):
    depth: int = Field(description="Depth below the top of the listed tree")


class UnitNode(UnitOut):
    children: list["UnitNode"]


def _unit_out(unit: Unit, parent: str | None) -> dict[str, object]:
    # The unit's own columns by name, plus what it holds as ids.
    return {**unit.model_dump(), "parent": parent, "form": unit.form_code}


class _UnitRows(RootModel[list[UnitRow]]):
    pass


class _UnitNodes(RootModel[list[UnitNode]]):
    pass


@router.get("", response_model=list[UnitRow] | list[UnitNode])
def list_units(
    request: Request,
    session: ReadSession,
    key: IkmReader,
    parent: Annotated[str | None, Query(description="Only this unit and its descendants")] = None,
    nested: Annotated[bool, Query(description="Nest children inside their parent")] = False,
) -> Response:
    """The organisation tree (scope ikm:read): a flat list, parents before children, or with
    `nested=true` a forest of nodes with `children`. A key limited to a subtree sees only it."""
    root_id = key.unit_id if parent is None else visible_unit(session, key, parent).id
    rows = [
        UnitRow.model_validate({**_unit_out(row.unit, row.parent_code), "depth": row.depth})
        for row in org.tree_rows(session=session, root_id=root_id)
    ]
    if not nested:
        return etag_json(request, _UnitRows(rows))
    forest: list[UnitNode] = []
    path: list[UnitNode] = []
    for row in rows:
        node = UnitNode.model_validate({**row.model_dump(exclude={"depth"}), "children": []})
        del path[row.depth :]
        (path[-1].children if path else forest).append(node)
        path.append(node)
    return etag_json(request, _UnitNodes(forest))


@router.post("", response_model=UnitOut, status_code=201, responses=TAKEN)
def create_unit(body: UnitCreate, session: WriteSession, key: AdminKey) -> UnitOut:
    """Add a unit under a parent (scope admin). A key limited to a subtree adds inside it."""
    if body.parent_code:
        visible_unit(session, key, body.parent_code)
    elif key.unit_id is not None:
        raise Forbidden("this API key may only add units inside its part of the tree")
    with body_errors():
        unit = org.create_unit(session=session, data=body, actor=by(key))
    return UnitOut.model_validate(_unit_out(unit, body.parent_code))


@router.get("/{unit}", response_model=UnitOut)
def get_unit(request: Request, unit: str, session: ReadSession, key: IkmReader) -> Response:
    """One unit (scope ikm:read)."""
    found = visible_unit(session, key, unit)
    return etag_json(request, _unit_public(session, found))


@router.patch(
    "/{unit}",
    response_model=UnitOut,
    responses={409: {"description": "The move would put the unit under itself"}},
)
def update_unit(unit: str, body: UnitUpdate, session: WriteSession, key: AdminKey) -> UnitOut:
    """Change a unit's name, address, time zone, parent or questionnaire (`form_code`; null
    returns it to the default form), or retire it with `active: false` (its counters' survey
    pages then close) (scope admin)."""
    found = visible_unit(session, key, unit)
    if "parent_code" in body.model_fields_set:
        if body.parent_code:
            visible_unit(session, key, body.parent_code)
        if found.id == key.unit_id or (body.parent_code is None and key.unit_id):
            raise Forbidden("this API key may not move units out of its part of the tree")
    with body_errors():
        updated = org.update_unit(session=session, unit=found, data=body, actor=by(key))
    return _unit_public(session, updated)


def _unit_public(session: Session, unit: Unit) -> UnitOut:
    return UnitOut.model_validate(_unit_out(unit, org.parent_code(session=session, unit=unit)))


# --- services (jenis layanan) ---


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code = Field(examples=["ktp-el"], description="Unique within the unit")
    name: Name = Field(examples=["Perekaman KTP-el"])


class ServiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    active: bool


class _Services(RootModel[list[ServiceOut]]):
    pass


def _service_out(service: Service) -> ServiceOut:
    return ServiceOut.model_validate(service)


@router.get("/{unit}/services", response_model=list[ServiceOut], tags=["services"])
def list_services(request: Request, unit: str, session: ReadSession, key: IkmReader) -> Response:
    """The unit's services, by code (scope ikm:read)."""
    found = visible_unit(session, key, unit)
    rows = org.list_services(session=session, unit=found)
    return etag_json(request, _Services([_service_out(s) for s in rows]))


@router.post(
    "/{unit}/services",
    response_model=ServiceOut,
    status_code=201,
    tags=["services"],
    responses=TAKEN,
)
def create_service(unit: str, body: ServiceIn, session: WriteSession, key: AdminKey) -> ServiceOut:
    """Add a service to a unit (scope admin)."""
    found = visible_unit(session, key, unit)
    data = ServiceCreate(unit_code=found.code, code=body.code, name=body.name)
    return _service_out(org.create_service(session=session, data=data, actor=by(key)))


@router.get("/{unit}/services/{service}", response_model=ServiceOut, tags=["services"])
def get_service(
    request: Request, unit: str, service: str, session: ReadSession, key: IkmReader
) -> Response:
    """One service of a unit (scope ikm:read)."""
    found = visible_unit(session, key, unit)
    return etag_json(
        request, _service_out(org.get_service(session=session, unit=found, code=service))
    )


@router.patch("/{unit}/services/{service}", response_model=ServiceOut, tags=["services"])
def update_service(
    unit: str, service: str, body: ServiceUpdate, session: WriteSession, key: AdminKey
) -> ServiceOut:
    """Rename a service or retire it with `active: false` (scope admin)."""
    found = org.get_service(session=session, unit=visible_unit(session, key, unit), code=service)
    return _service_out(
        org.update_service(session=session, service=found, data=body, actor=by(key))
    )


# --- counters (loket, each with its own QR code) ---


class CounterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code = Field(examples=["loket-1"], description="Unique within the unit")
    name: Name = Field(examples=["Loket 1"])
    service_code: Code | None = Field(default=None, description="The service served there")
    kiosk: bool = Field(
        default=False,
        description="A tablet at the counter that everyone answers on: kiosk layout, the "
        "thank-you page returns to a fresh form, no per-browser repeat check, 10x the "
        "per-client limit, responses on channel `kiosk`",
    )


class CounterOut(BaseModel):
    code: str
    name: str
    service: str | None = Field(description="Service code, if the counter serves one")
    active: bool = Field(description="false: the survey page answers 410")
    kiosk: bool = Field(description="true: a shared tablet at the counter")
    survey_url: str = Field(description="The public URL its QR code encodes")


class _Counters(RootModel[list[CounterOut]]):
    pass


def _counter_out(session: Session, counter: Counter, base_url: str) -> CounterOut:
    # The counter's own columns by name, plus its service's code and its public URL.
    service = org.counter_service(session=session, counter=counter)
    return CounterOut.model_validate(
        {
            **counter.model_dump(),
            "service": service.code if service else None,
            "survey_url": qr.survey_url(base_url, counter.token),
        }
    )


def _find_counter(session: Session, key: ApiKey, unit: str, counter: str) -> tuple[Unit, Counter]:
    found = visible_unit(session, key, unit)
    return found, org.get_counter(session=session, unit=found, code=counter)


@router.get("/{unit}/counters", response_model=list[CounterOut], tags=["counters"])
def list_counters(
    request: Request, unit: str, session: ReadSession, settings: SettingsDep, key: IkmReader
) -> Response:
    """The unit's counters with their public survey URLs (scope ikm:read)."""
    found = visible_unit(session, key, unit)
    rows = org.list_counters(session=session, unit=found)
    out = [_counter_out(session, c, settings.public_base_url) for c in rows]
    return etag_json(request, _Counters(out))


@router.post(
    "/{unit}/counters",
    response_model=CounterOut,
    status_code=201,
    tags=["counters"],
    responses=TAKEN,
)
def create_counter(
    unit: str, body: CounterIn, session: WriteSession, settings: SettingsDep, key: AdminKey
) -> CounterOut:
    """Add a counter to a unit; its survey page opens at once (scope admin)."""
    found = visible_unit(session, key, unit)
    data = CounterCreate(unit_code=found.code, **body.model_dump())
    counter = org.create_counter(session=session, data=data, actor=by(key))
    return _counter_out(session, counter, settings.public_base_url)


@router.get("/{unit}/counters/{counter}", response_model=CounterOut, tags=["counters"])
def get_counter(
    request: Request,
    unit: str,
    counter: str,
    session: ReadSession,
    settings: SettingsDep,
    key: IkmReader,
) -> Response:
    """One counter of a unit (scope ikm:read)."""
    _, found = _find_counter(session, key, unit, counter)
    return etag_json(request, _counter_out(session, found, settings.public_base_url))


@router.patch("/{unit}/counters/{counter}", response_model=CounterOut, tags=["counters"])
def update_counter(
    unit: str,
    counter: str,
    body: CounterUpdate,
    session: WriteSession,
    settings: SettingsDep,
    key: AdminKey,
) -> CounterOut:
    """Rename a counter, change its service, or close (`active: false`) or reopen its survey
    page (scope admin)."""
    _, found = _find_counter(session, key, unit, counter)
    updated = org.update_counter(session=session, counter=found, data=body, actor=by(key))
    return _counter_out(session, updated, settings.public_base_url)


@router.post(
    "/{unit}/counters/{counter}/rotate-token", response_model=CounterOut, tags=["counters"]
)
def rotate_token(
    unit: str, counter: str, session: WriteSession, settings: SettingsDep, key: AdminKey
) -> CounterOut:
    """Give the counter a new survey URL: QR codes printed with the old one stop working
    (scope admin)."""
    _, found = _find_counter(session, key, unit, counter)
    rotated = org.rotate_counter_token(session=session, counter=found, actor=by(key))
    return _counter_out(session, rotated, settings.public_base_url)


QR_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
AllowLocal = Annotated[
    bool,
    Query(
        description="Print even though SKM_PUBLIC_BASE_URL is a loopback address, which phones "
        "cannot reach (a local trial); the setting SKM_ALLOW_LOCAL_BASE_URL=true does the same"
    ),
]


@router.get(
    "/{unit}/counters/{counter}/qr.{image_format}",
    response_class=Response,
    tags=["qr"],
    responses={200: {"content": {t: {} for t in QR_TYPES.values()}}, **LOCAL},
)
def counter_qr(
    request: Request,
    unit: str,
    counter: str,
    image_format: Literal["png", "svg"],
    session: ReadSession,
    settings: SettingsDep,
    key: AdminKey,
    allow_local: AllowLocal = False,
) -> Response:
    """The counter's QR code, encoding its survey URL: `qr.png` to print at once, `qr.svg`
    for print shops and banners (scope admin). Refused (409 `local_base_url`) while
    SKM_PUBLIC_BASE_URL is a loopback address, unless `allow_local=true`."""
    _, found = _find_counter(session, key, unit, counter)
    url = qr.survey_url(printable_base_url(settings, allow_local), found.token)
    image = qr.qr_png(url) if image_format == "png" else qr.qr_svg(url)
    return etag_bytes(request, image, QR_TYPES[image_format])


@router.get(
    "/{unit}/counters/{counter}/poster.pdf", response_class=Response, tags=["qr"], responses=LOCAL
)
def counter_poster(
    request: Request,
    unit: str,
    counter: str,
    session: ReadSession,
    settings: SettingsDep,
    key: AdminKey,
    allow_local: AllowLocal = False,
) -> Response:
    """An A5 poster for one counter: unit, counter, instruction, QR code, URL (scope admin).
    Refused (409 `local_base_url`) on a loopback SKM_PUBLIC_BASE_URL, as the QR code."""
    found_unit, found = _find_counter(session, key, unit, counter)
    base_url = printable_base_url(settings, allow_local)
    posters = org.posters(session=session, unit=found_unit, counter=found, base_url=base_url)
    return _posters_response(request, posters)


@router.get("/{unit}/posters.pdf", response_class=Response, tags=["qr"], responses=LOCAL)
def unit_posters(
    request: Request,
    unit: str,
    session: ReadSession,
    settings: SettingsDep,
    key: AdminKey,
    allow_local: AllowLocal = False,
) -> Response:
    """One A5 poster per active counter of a unit, in a single PDF (scope admin). Refused
    (409 `local_base_url`) on a loopback SKM_PUBLIC_BASE_URL, as the QR code."""
    found = visible_unit(session, key, unit)
    base_url = printable_base_url(settings, allow_local)
    posters = org.posters(session=session, unit=found, base_url=base_url)
    return _posters_response(request, posters)


def _posters_response(request: Request, posters: list[qr.Poster]) -> Response:
    # The PDF carries its creation time, so the ETag comes from what is printed: a client
    # that has these posters gets 304 from any worker.
    printed = hashlib.sha256(repr(posters).encode()).hexdigest()[:32]
    etag = f'"posters-{printed}"'
    return not_modified(request, etag) or Response(
        qr.posters_pdf(posters), media_type="application/pdf", headers={"ETag": etag}
    )


# --- population (for the sample-size check) ---


class PopulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    population: int = Field(gt=0, le=org.MAX_POPULATION, description="Service users in the period")


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


@router.put("/{unit}/population/{period}", response_model=PopulationOut)
def put_population(
    unit: str, period: str, body: PopulationIn, session: WriteSession, key: AdminKey
) -> PopulationOut:
    """Record how many people used the unit's services in a period (scope admin)."""
    parsed = period_or_422(period, ("path", "period"))
    found = visible_unit(session, key, unit)
    org.set_population(
        session=session,
        unit=found,
        period=parsed,
        population=body.population,
        actor=by(key),
    )
    return _population_out(found, parsed, body.population)


@router.get("/{unit}/population/{period}", response_model=PopulationOut)
def get_population(
    request: Request, unit: str, period: str, session: ReadSession, key: IkmReader
) -> Response:
    """The recorded population of a unit in a period, with its minimum sample (ikm:read)."""
    parsed = period_or_422(period, ("path", "period"))
    found = visible_unit(session, key, unit)
    population = org.get_population(session=session, unit=found, period=parsed)
    if population is None:
        raise NotFound(f"no population recorded for {found.code} in {parsed.label}")
    return etag_json(request, _population_out(found, parsed, population))


# --- report settings: signer, place and date of signing, kata pengantar, logo ---


class LogoOut(BaseModel):
    media_type: str = Field(examples=["image/png"])
    unit: str = Field(description="The unit whose logo it is: this one or the nearest parent")


class ReportSettingsOut(BaseModel):
    unit: str
    signer_title: str | None = Field(description="Jabatan as set; null: the default")
    signer_name: str | None
    signer_nip: str | None = Field(description="18 digits, as stored")
    city: str | None = Field(description="The unit's own city of signing")
    sign_date: date | None = Field(description="null: the day each report is made")
    foreword: str | None = Field(description="Kata pengantar; null: the standard text")
    printed_signer_title: str = Field(description="The jabatan the report prints")
    printed_city: str | None = Field(
        description="The city the report prints: the unit's, else its nearest parent's"
    )
    logo: LogoOut | None = Field(description="The logo the report prints, if any")


def _settings_out(session: Session, unit: Unit) -> ReportSettingsOut:
    found = report_settings.resolve(session=session, unit=unit)
    own = (
        found.own.model_dump(include=set(UnitReportSettingUpdate.model_fields)) if found.own else {}
    )
    return ReportSettingsOut.model_validate(
        {
            **dict.fromkeys(UnitReportSettingUpdate.model_fields),
            **own,
            "unit": unit.code,
            "printed_signer_title": found.signer_title or f"Kepala {unit.name}",
            "printed_city": found.city,
            "logo": (
                {"media_type": found.logo.media_type, "unit": found.logo_from}
                if found.logo
                else None
            ),
        }
    )


@router.get("/{unit}/report-settings", response_model=ReportSettingsOut, tags=["reports"])
def get_report_settings(
    request: Request, unit: str, session: ReadSession, key: IkmReader
) -> Response:
    """What the unit's report prints besides its figures: the signer (jabatan, name, NIP),
    the place and date of signing, the kata pengantar and the logo, each as set and as
    printed (scope ikm:read)."""
    found = visible_unit(session, key, unit)
    return etag_json(request, _settings_out(session, found))


@router.put("/{unit}/report-settings", response_model=ReportSettingsOut, tags=["reports"])
def put_report_settings(
    unit: str, body: UnitReportSettingUpdate, session: WriteSession, key: AdminKey
) -> ReportSettingsOut:
    """Set the unit's report settings, all at once: an omitted or null field returns to its
    default (jabatan 'Kepala ' + the unit's name; name and NIP as lines to fill in; the
    nearest parent's city; the day of the report; the standard kata pengantar). A NIP is 18
    digits, spaces allowed (scope admin)."""
    found = visible_unit(session, key, unit)
    report_settings.put_settings(session=session, unit=found, data=body)
    return _settings_out(session, found)


LOGO_BODY = Body(
    media_type="image/png",
    description="The image itself (not a form): PNG, JPEG or SVG, at most "
    f"{logo.MAX_BYTES // 1024} KB and {logo.MAX_SIDE} pixels a side. The type is read from "
    "the content; an SVG with scripts, event attributes or references to other files is "
    "refused.",
)


@router.put("/{unit}/logo", response_model=ReportSettingsOut, tags=["reports"])
def put_logo(
    unit: str, content: Annotated[bytes, LOGO_BODY], session: WriteSession, key: AdminKey
) -> ReportSettingsOut:
    """Store the unit's logo, printed on its reports' cover and page header and on those of
    the units below it that have none (scope admin)."""
    found = visible_unit(session, key, unit)
    report_settings.set_logo(session=session, unit=found, content=content)
    return _settings_out(session, found)


@router.get(
    "/{unit}/logo",
    response_class=Response,
    tags=["reports"],
    responses={200: {"content": {t: {} for t in logo.MEDIA_TYPES}}},
)
def get_logo(request: Request, unit: str, session: ReadSession, key: IkmReader) -> Response:
    """The logo the unit's report prints: its own, else its nearest parent's (scope
    ikm:read); 404 when there is none."""
    found = report_settings.resolve(session=session, unit=visible_unit(session, key, unit))
    if found.logo is None:
        raise NotFound(f"no logo for unit {unit} or the units above it")
    return etag_bytes(request, found.logo.content, found.logo.media_type)


@router.delete("/{unit}/logo", status_code=204, tags=["reports"])
def delete_logo(unit: str, session: WriteSession, key: AdminKey) -> Response:
    """Remove the unit's own logo; its reports then print the nearest parent's (scope
    admin)."""
    report_settings.remove_logo(session=session, unit=visible_unit(session, key, unit))
    return Response(status_code=204)

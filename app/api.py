"""Staff HTTP API under /api/v1. Until scoped API keys arrive, it is guarded by one admin
token (SKM_ADMIN_TOKEN, sent as ``Authorization: Bearer ...``)."""

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.responses import Response

from app import qr, services
from app.config import Settings, get_settings
from app.db import Database, get_database
from app.errors import AppError, NotFound
from app.models import Counter, Unit


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    expected = settings.admin_token.get_secret_value() if settings.admin_token else None
    if expected is None:
        raise Unauthorized("staff routes are disabled: set SKM_ADMIN_TOKEN")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("missing or wrong bearer token")


router = APIRouter(prefix="/api/v1", tags=["qr"], dependencies=[Depends(require_admin)])
DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing or wrong bearer token"},
    404: {"description": "No such counter or unit"},
}


def _load(database: Database, counter_id: int) -> tuple[Counter, Unit]:
    with database.session() as session:
        counter = session.get(Counter, counter_id)
        unit = session.get(Unit, counter.unit_id) if counter else None
        if counter is None or unit is None:
            raise NotFound(f"no counter with id {counter_id}")
        return counter, unit


@router.get("/counters/{counter_id}/qr.png", response_class=Response, responses=ERRORS)
def counter_qr_png(counter_id: int, database: DatabaseDep, settings: SettingsDep) -> Response:
    """The counter's QR code as a PNG image, encoding its public survey URL."""
    counter, _ = _load(database, counter_id)
    url = qr.survey_url(settings.public_base_url, counter.token)
    return Response(qr.qr_png(url), media_type="image/png")


@router.get("/counters/{counter_id}/qr.svg", response_class=Response, responses=ERRORS)
def counter_qr_svg(counter_id: int, database: DatabaseDep, settings: SettingsDep) -> Response:
    """The counter's QR code as an SVG image, for print shops and large banners."""
    counter, _ = _load(database, counter_id)
    url = qr.survey_url(settings.public_base_url, counter.token)
    return Response(qr.qr_svg(url), media_type="image/svg+xml")


@router.get("/counters/{counter_id}/poster.pdf", response_class=Response, responses=ERRORS)
def counter_poster(counter_id: int, database: DatabaseDep, settings: SettingsDep) -> Response:
    """An A5 poster for one counter: unit, counter, instruction, QR code and URL."""
    counter, unit = _load(database, counter_id)
    with database.session() as session:
        posters = services.posters(
            session=session, unit=unit, counter=counter, base_url=settings.public_base_url
        )
    return Response(qr.posters_pdf(posters), media_type="application/pdf")


@router.get("/units/{unit_id}/posters.pdf", response_class=Response, responses=ERRORS)
def unit_posters(unit_id: int, database: DatabaseDep, settings: SettingsDep) -> Response:
    """One A5 poster per active counter of a unit, in a single PDF."""
    with database.session() as session:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise NotFound(f"no unit with id {unit_id}")
        posters = services.posters(session=session, unit=unit, base_url=settings.public_base_url)
    return Response(qr.posters_pdf(posters), media_type="application/pdf")

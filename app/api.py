"""The versioned HTTP API for staff and other systems, under /api/v1.

Every route takes an API key (``Authorization: Bearer <key>``) holding the route's scope; a key
limited to a subtree of the organisation sees nothing outside it (404, as if absent).
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.responses import Response

from app import apikeys, qr, services
from app.config import Settings, get_settings
from app.db import Database, get_database
from app.errors import NotFound
from app.models import ApiKey, Counter, Unit

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

"""What every API route shares: API-key scopes, unit visibility, period parsing, ETags and the
streamed CSV download."""

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, RootModel
from sqlmodel import Session

from app.api.schemas import ErrorOut, ScopeQuery, ValidationErrorOut
from app.caching import not_modified, with_etag
from app.config import Settings
from app.core.periods import Period, parse_period
from app.db import Database
from app.deps import DatabaseDep
from app.errors import InvalidInput, NotFound
from app.models import ApiKey, Unit
from app.services import apikeys, audit, export, org, scopes
from app.services.scopes import Scope

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown, revoked or expired API key", "model": ErrorOut},
    403: {"description": "The API key lacks the scope this route needs", "model": ErrorOut},
    404: {
        "description": "No such object, or outside the key's part of the organisation",
        "model": ErrorOut,
    },
    422: {
        "description": "Invalid parameters or body: `detail` sums up, `errors` names each field",
        "model": ValidationErrorOut,
    },
}
# "Authorize" in /docs sends the key as `Authorization: Bearer <key>`. Without auto_error, a
# missing or non-Bearer header reaches apikeys.authenticate, which words the 401 itself.
BEARER = HTTPBearer(
    scheme_name="ApiKey",
    description="An API key from `skm apikey create`: `Authorization: Bearer skm_...`",
    auto_error=False,
)
CSV_TYPE = "text/csv; charset=utf-8"


def key_with(scope: str) -> Callable[..., ApiKey]:
    """A dependency: the request's API key, which must hold ``scope``."""

    def dependency(
        database: DatabaseDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> ApiKey:
        authorization = f"Bearer {credentials.credentials}" if credentials else None
        # Its own short session, a reading one: noting the key's use never waits for a lock.
        with database.session() as session:
            key = apikeys.authenticate(session=session, authorization=authorization, scope=scope)
            apikeys.record_use(session=session, key=key)
            return key

    return dependency


async def presented_key(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> str:
    """A dependency for a route that checks the key itself, in the session that does its work
    (``apikeys.authenticate``): the ``Authorization`` header, refused here (401) when it holds
    no key or text of another shape, which needs no database."""
    authorization = f"Bearer {credentials.credentials}" if credentials else None
    apikeys.presented_key(authorization)
    return authorization or ""


PresentedKey = Annotated[str, Depends(presented_key)]
AdminKey = Annotated[ApiKey, Depends(key_with("admin"))]
IkmReader = Annotated[ApiKey, Depends(key_with("ikm:read"))]
ResponsesReader = Annotated[ApiKey, Depends(key_with("responses:read"))]
ResponsesWriter = Annotated[ApiKey, Depends(key_with("responses:write"))]


def by(key: ApiKey) -> audit.Actor:
    """An API key as the audit log names who made a change."""
    return audit.Actor(f"apikey {key.prefix}")


@contextmanager
def body_errors() -> Iterator[None]:
    """Locates a service's InvalidInput about the request body under ``"body"``, as request
    validation locates its own."""
    try:
        yield
    except InvalidInput as exc:
        raise exc.within("body") from None


def period_or_422(text: str, loc: tuple[str, ...] = ("query", "period")) -> Period:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), loc=loc) from None


def visible_unit(session: Session, key: ApiKey, code: str) -> Unit:
    """The unit with this code, if the key may see it (404 otherwise, alike)."""
    try:
        unit = org.get_unit(session=session, code=code)
    except NotFound:
        unit = None
    return visible(session, key, unit, code)


def visible(session: Session, key: ApiKey, unit: Unit | None, code: str) -> Unit:
    """``unit``, found by ``code`` (None: not found), if the key may see it; 404 otherwise,
    alike."""
    try:
        return apikeys.visible_unit(session=session, key=key, unit=unit)
    except NotFound:
        raise NotFound(f"no unit with code {code!r}") from None


def resolve_scope(session: Session, key: ApiKey, query: ScopeQuery) -> Scope:
    """The scope a query names, inside the key's part of the tree (404 outside it); a bad
    period is reported before an unknown unit."""
    period = period_or_422(query.period, ("query", "period"))
    return scopes.resolve_scope(
        session=session,
        unit=visible_unit(session, key, query.unit),
        period=period,
        service_code=query.service,
        counter_code=query.counter,
        include_children=query.include_children,
        include_flagged=query.include_flagged,
    )


def etag_bytes(request: Request, body: bytes, media_type: str) -> Response:
    """A response with a strong ETag of its body; 304 when the client already has it."""
    return with_etag(request, body, media_type)


def etag_json(request: Request, payload: BaseModel | RootModel[Any]) -> Response:
    """The payload as JSON with a strong ETag; 304 when the client already has it."""
    return etag_bytes(request, payload.model_dump_json().encode(), "application/json")


def csv_download(
    request: Request, session: Session, database: Database, scope: Scope, name: str
) -> Response:
    """The scope's responses as a streamed CSV attachment, with a weak ETag. The rows are read
    after the route returns, each chunk in its own short session from ``database``."""
    count, highest = export.summary(session=session, scope=scope)
    # Responses are never changed, so the scope, the count and the highest id identify the file.
    version = "|".join(
        str(part)
        for part in (
            scope.unit.id,
            scope.period.label,
            scope.include_children,
            scope.service.id if scope.service else None,
            scope.counter.id if scope.counter else None,
            scope.include_flagged,
            count,
            highest,
        )
    )
    etag = f'W/"{hashlib.sha256(version.encode()).hexdigest()[:32]}"'
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    headers = {"ETag": etag}
    filename = f"{name}-{scope.unit.code}-{scope.period.label}.csv"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(
        export.csv_stream(database.session, scope), media_type=CSV_TYPE, headers=headers
    )


LOCAL: dict[int | str, dict[str, Any]] = {
    409: {"description": "`local_base_url`: SKM_PUBLIC_BASE_URL is a loopback address"}
}


def printable_base_url(settings: Settings, allow_local: bool) -> str:
    """The public address for QR codes and printed pages; 409 `local_base_url` while it is a
    loopback address, unless the client allows it."""
    return org.printable_base_url(
        base_url=settings.public_base_url,
        allow_local=allow_local or settings.allow_local_base_url,
        to_allow="add ?allow_local=true",
    )

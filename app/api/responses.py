"""Responses over the API: pages or a CSV export out, batches from other channels in."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlmodel import Session, col

from app.api.deps import (
    PresentedKey,
    ResponsesReader,
    body_errors,
    csv_download,
    etag_json,
    resolve_scope,
    visible,
)
from app.api.schemas import ScopeQuery
from app.core.forms import Form
from app.db import Database, ModelColumns
from app.deps import DatabaseDep, ReadSession
from app.errors import AppError
from app.group_commit import GroupCommit
from app.models import SUGGESTION_MAX, ApiKey, FormCode, FormVersion, Unit
from app.services import apikeys, export, intake, org, questionnaires, scopes

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/responses", tags=["responses"])
MAX_PAGE = 1_000
MAX_BATCH = 1_000


class ResponsesQuery(ScopeQuery):
    """Which responses, a page at a time; unknown parameters are refused."""

    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    limit: int = Field(default=100, ge=1, le=MAX_PAGE, description="Page size")


class ResponseOut(BaseModel):
    id: int = Field(description="Increases with every stored response")
    unit: str
    service: str | None
    counter: str | None
    channel: str = Field(examples=["qr"])
    form: str = Field(examples=["permenpan-rb-14-2017"])
    submitted_at: datetime
    local_date: date = Field(description="Date in the unit's time zone; periods filter on it")
    flagged: bool = Field(description="Suspected automated or duplicate; left out of the IKM")
    answers: dict[str, int | None] = Field(description="1..4 per element code; null: no answer")
    sex: str | None
    age: int | None
    education: str | None
    occupation: str | None
    suggestion: str | None


class ResponsePage(BaseModel):
    items: list[ResponseOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end")


def _scope(session: Session, key: ApiKey, query: ResponsesQuery) -> scopes.Scope:
    return scopes.ordered_reads(session=session, scope=resolve_scope(session, key, query))


@router.get(
    "",
    response_model=ResponsePage,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def list_responses(
    request: Request,
    query: Annotated[ResponsesQuery, Query()],
    session: ReadSession,
    database: DatabaseDep,
    key: ResponsesReader,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Stored responses of a unit in a period, oldest first, a page at a time (scope
    responses:read). Follow `next_cursor` until it is null: responses that arrive meanwhile
    never shift a page. With `Accept: text/csv` every matching row streams as CSV instead."""
    if accept and "text/csv" in accept:
        return _csv(request, query, session, database, key)
    after = export.decode_cursor(query.cursor) if query.cursor else None
    scope = _scope(session, key, query)
    rows = export.page(session=session, scope=scope, after=after, limit=query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = export.encode_cursor(rows[-1]) if more else None
    page = ResponsePage(
        items=[ResponseOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )
    return etag_json(request, page)


@router.get(
    ".csv", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}}
)
def export_responses(
    request: Request,
    query: Annotated[ResponsesQuery, Query()],
    session: ReadSession,
    database: DatabaseDep,
    key: ResponsesReader,
) -> Response:
    """Every matching response as CSV, streamed (scope responses:read); `cursor` and `limit`
    are ignored. Cells that a spreadsheet would run as a formula are prefixed with `'`."""
    return _csv(request, query, session, database, key)


def _csv(
    request: Request, query: ResponsesQuery, session: Session, database: Database, key: ApiKey
) -> Response:
    return csv_download(request, session, database, _scope(session, key, query), "responses")


# --- ingest: paper forms typed in, kiosks, partner systems ---


class ResponseSubmission(intake.ResponseIn):
    """One questionnaire. Answers are keyed by the form's element codes."""

    idempotency_key: str = Field(
        min_length=1,
        max_length=80,
        description="The client's unique key for this response: a retry sends the same key",
        examples=["paper-2026-05-14-0001"],
    )
    submitted_at: datetime | date = Field(
        description="When it was filled in, with a time zone offset; or the date alone (a "
        "paper form's tanggal), taken as 12:00 in the unit's time zone",
        examples=["2026-05-14T09:30:00+08:00", "2026-05-14"],
    )
    answers: dict[str, StrictInt | None] = Field(
        description="Answer 1..4 per element code. Every element must be answered, except on "
        "the paper channel, where a missing or null element is a blank (at least one answered)",
        examples=[
            {
                "persyaratan": 4,
                "prosedur": 3,
                "waktu": 3,
                "biaya": 4,
                "produk": 3,
                "kompetensi": 4,
                "perilaku": 4,
                "pengaduan": 3,
                "sarana": 3,
            }
        ],
    )
    suggestion: str | None = Field(default=None, max_length=SUGGESTION_MAX)


class ResponseBatch(BaseModel):
    """Responses for one unit (and optionally one service or counter), stored all or none."""

    model_config = ConfigDict(extra="forbid")

    unit: str = Field(description="Unit code", examples=["disdukcapil"])
    service: str | None = Field(default=None, description="Service code of the unit")
    counter: str | None = Field(default=None, description="Counter code of the unit")
    channel: Literal["paper", "kiosk", "api"] = Field(
        default="api", description="How they were collected (`qr` is the citizen page's own)"
    )
    form: FormCode | None = Field(
        default=None,
        description="The questionnaire they answered; by default the unit's form (its "
        "`form`, else the server's default form)",
        examples=["permenpan-rb-14-2017"],
    )
    responses: list[ResponseSubmission] = Field(min_length=1, max_length=MAX_BATCH)


class StoredRef(BaseModel):
    idempotency_key: str
    id: int = Field(description="The stored response's id")


class BatchResult(BaseModel):
    unit: str
    responses: list[StoredRef] = Field(description="One per submitted response, in order")


@router.post(
    "",
    response_model=BatchResult,
    status_code=201,
    responses={
        200: {"description": "Every response was stored before (a replay): the same result"},
        409: {"description": "An idempotency key was used before with a different body"},
    },
)
async def post_responses(
    body: ResponseBatch, authorization: PresentedKey, database: DatabaseDep
) -> Response:
    """Store one to 1,000 responses (scope responses:write), all or none. A replay with the
    same idempotency keys and bodies stores nothing and answers the original result (200,
    header `Idempotent-Replayed: true`); a key reused with a different body is a 409. A
    response must answer every element of the form, except on the paper channel, where
    blanks are allowed (stored as null) but not an empty questionnaire."""
    # The busiest route: async, so that the key check and the store are one trip to the
    # threadpool and one session, shared by the posts this worker has in flight (group
    # commit). The cost: a body that fails validation is answered 422 before a well-formed but
    # unknown key is found out (a missing key is still 401 first); a 422 reveals only the
    # published schema.
    return await _GROUPS.submit(_Post(database, authorization, body))


@dataclass(frozen=True)
class _Post:
    database: Database
    authorization: str
    body: ResponseBatch


def _store_posts(posts: Sequence[_Post]) -> list[Response | Exception]:
    """Each post's answer (or the error its request raises), the posts stored together in
    one transaction when there are several; a group that cannot be settled together (a key
    reused with another body, two posts with one idempotency key, a deadlock, a lost
    connection) is rolled back and its posts are stored one at a time, each as if it had
    come alone. Their idempotency keys make that safe even after a commit whose outcome was
    not heard: a post stored then is answered as the replay it is."""
    if len(posts) > 1 and len({id(post.database) for post in posts}) == 1:
        try:
            return _store_together(posts[0].database, posts)
        except Exception as exc:  # each post alone hears its own error, if it still has one
            logger.info(
                "%d posts stored one at a time: together they met %s", len(posts), exc.__class__
            )
    return [_outcome(post) for post in posts]


def _outcome(post: _Post) -> Response | Exception:
    try:
        return _store_batch(post.database, post.authorization, post.body)
    except Exception as exc:  # the post's request raises it
        return exc


def _store_batch(database: Database, authorization: str, body: ResponseBatch) -> Response:
    # One response is one statement (the insert that adds it to the rollups): on PostgreSQL
    # atomic without a transaction around it, which saves two round trips. Its replay or
    # conflict writes nothing; noting the key's use commits on its own anyway.
    lone = len(body.responses) == 1
    with database.session(write=True, snapshot=not lone) as session:
        key, units = _key_and_unit(session, authorization, body.unit)
        apikeys.record_use(session=session, key=key)
        unit_code, prepared = _prepare(session, key, body, units)
        (result,) = intake.store_prepared(session=session, batches=[prepared])
        session.commit()
    return _answer(unit_code, body, result)


def _store_together(database: Database, posts: Sequence[_Post]) -> list[Response | Exception]:
    outcomes: list[Response | Exception | None] = [None] * len(posts)
    with database.session(write=True) as session:
        keys: dict[str, ApiKey | AppError] = {}
        for post in posts:
            if post.authorization not in keys:
                try:
                    keys[post.authorization] = apikeys.authenticate(
                        session=session, authorization=post.authorization, scope="responses:write"
                    )
                except AppError as exc:
                    keys[post.authorization] = exc
        # Before anything is written: noting a key's use rolls the session back first.
        for key in keys.values():
            if isinstance(key, ApiKey):
                apikeys.record_use(session=session, key=key)
        units: dict[str, UnitWithForm | None] = {}
        ready: list[tuple[int, str, intake.Prepared]] = []
        for index, post in enumerate(posts):
            try:
                found = keys[post.authorization]
                if isinstance(found, AppError):
                    raise found
                ready.append((index, *_prepare(session, found, post.body, units)))
            except AppError as exc:
                outcomes[index] = exc
        results = intake.store_prepared(session=session, batches=[p for _, _, p in ready])
        session.commit()
    # Committed: from here on no error may send the group to the one-at-a-time path, where
    # the posts just stored would be answered as replays.
    for (index, unit_code, _), result in zip(ready, results, strict=True):
        outcomes[index] = _answered(unit_code, posts[index].body, result)
    assert None not in outcomes  # every post answered, in its place
    return outcomes  # type: ignore[return-value]


def _answered(
    unit_code: str, body: ResponseBatch, result: intake.RecordResult
) -> Response | Exception:
    try:
        return _answer(unit_code, body, result)
    except Exception as exc:  # a bug: the post's request raises it, stored all the same
        return exc


UnitWithForm = tuple[Unit, tuple[FormVersion, Form]]

# The key and the unit with its form's newest version in one statement, the unit outer-joined
# (None: no such unit): a lone post's first read, a round trip fewer than two. A Core
# statement whose row builds the two models (ModelColumns), cheaper than the ORM's loading.
_KEY = ModelColumns(ApiKey, "key_")
_UNIT = ModelColumns(Unit, "unit_")
_version_id, _content_hash = questionnaires.newest_of_unit_form()
_KEY_AND_UNIT = (
    sa.select(
        *_KEY.columns,
        *_UNIT.columns,
        _version_id.label("version_id"),
        _content_hash.label("content_hash"),
    )
    .select_from(ApiKey)
    .outerjoin(Unit, col(Unit.code) == sa.bindparam("code"))
    .where(apikeys.HAS_PREFIX)
)


def _key_and_unit(
    session: Session, authorization: str, unit: str
) -> tuple[ApiKey, dict[str, UnitWithForm | None]]:
    """The post's key, checked as ``apikeys.authenticate`` does, and its unit as
    :func:`_prepare` takes it (by code)."""
    presented = apikeys.presented_key(authorization)
    code = org.lookup_code(unit)
    params = {
        "prefix": apikeys.prefix_of(presented),
        "code": code,
        "default_form": questionnaires.default_form_code(),
    }
    row = session.connection().execute(_KEY_AND_UNIT, params).first()
    found = row._mapping if row else None
    key = apikeys.verify(_KEY.build(found) if found else None, presented, "responses:write")
    assert found is not None  # a key was found
    unit_found = _UNIT.build(found)
    if unit_found is None:
        return key, {code: None}
    form = questionnaires.form_from_columns(
        session, unit_found, found["version_id"], found["content_hash"]
    )
    return key, {code: (unit_found, form)}


def _prepare(
    session: Session, key: ApiKey, body: ResponseBatch, units: dict[str, UnitWithForm | None]
) -> tuple[str, intake.Prepared]:
    """The unit's code and the batch's rows, checked (only reads); ``units`` keeps the units
    read so far by the posts stored together."""
    code = org.lookup_code(body.unit)
    if code not in units:
        units[code] = questionnaires.unit_with_form(session=session, code=code)
    found = units[code]
    unit = visible(session, key, found[0] if found else None, body.unit)
    with body_errors():
        prepared = intake.prepare_batch(
            session=session,
            unit=unit,
            items=body.responses,
            channel=body.channel,
            service_code=body.service,
            counter_code=body.counter,
            form_code=body.form,
            unit_form=found[1] if found else None,
        )
    return unit.code, prepared


def _answer(unit_code: str, body: ResponseBatch, result: intake.RecordResult) -> Response:
    keys = [item.idempotency_key for item in body.responses]
    refs = zip(keys, result.ids, strict=True)
    out = BatchResult(
        unit=unit_code, responses=[StoredRef(idempotency_key=k, id=i) for k, i in refs]
    )
    replay = result.inserted == 0
    return Response(
        out.model_dump_json(),
        status_code=200 if replay else 201,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if replay else {},
    )


_GROUPS = GroupCommit(_store_posts, size=lambda post: len(post.body.responses), max_size=MAX_BATCH)

"""Recording responses from every channel (citizen page, kiosk, paper import, API): validation
against the form, idempotency, and the rollups kept in the same transaction.

Every response answers at least one element; only a paper form may leave elements blank
(they stay null, never 0), since every other channel asks each question. A date without a
time means 12:00 in the unit's time zone (paper forms carry only a date). One commit per
call; a batch is stored all or nothing.
"""

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col, select

from app.core import ikm
from app.core.forms import Form
from app.db import is_postgresql, per_dialect, upsert_for
from app.errors import Conflict, InvalidInput
from app.models import (
    ANSWER_COLUMNS,
    SUGGESTION_MAX,
    Channel,
    Counter,
    FormVersion,
    Response,
    Service,
    Unit,
)
from app.services import rollups
from app.services.org import counter_service, get_counter, get_service
from app.services.questionnaires import check_form_code, current_form, unit_form

INSERT_CHUNK = 500
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # before any SKM form this service knows
CLOCK_SKEW = timedelta(days=1)  # a device clock may run ahead; a date further out is an error
PARTIAL_CHANNELS = frozenset({"paper"})  # a citizen may skip a question on paper only
DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def local_noon(day: date, zone: ZoneInfo) -> datetime:
    """When a response known only by its date was given: 12:00 that day in the unit's time
    zone, which keeps it on that local date (and so in that period) whatever the offset."""
    return datetime.combine(day, time(12), zone)


class ResponseIn(BaseModel):
    """One questionnaire as a channel delivers it. Answers are keyed by element code."""

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(min_length=1, max_length=100)
    submitted_at: datetime | date  # a date alone: see local_noon
    answers: dict[str, StrictInt | None]  # strict: JSON true is not the answer 1
    sex: str | None = None
    age: StrictInt | None = None
    education: str | None = None
    occupation: str | None = None
    suggestion: str | None = Field(default=None, max_length=SUGGESTION_MAX)

    @field_validator("suggestion")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # PostgreSQL cannot store a NUL in text; no one means to type one.
        return None if value is None else value.replace("\x00", "")

    @field_validator("submitted_at", mode="before")
    @classmethod
    def _date_only(cls, value: Any) -> Any:
        # Otherwise "2026-05-14" parses as a datetime at midnight without an offset.
        if isinstance(value, str) and DATE_ONLY.fullmatch(value):
            return date.fromisoformat(value)
        return value

    @field_validator("submitted_at")
    @classmethod
    def _when(cls, value: datetime | date) -> datetime | date:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(
                    "submitted_at needs a time zone offset (2026-05-14T09:30:00+08:00), "
                    "or give the date alone (2026-05-14: 12:00 in the unit's time zone)"
                )
            in_range = EARLIEST <= value <= datetime.now(UTC) + CLOCK_SKEW
        else:
            in_range = EARLIEST.date() <= value <= (datetime.now(UTC) + CLOCK_SKEW).date()
        if not in_range:
            raise ValueError("submitted_at must lie between 2000-01-01 and now")
        return value

    def moment(self, zone: ZoneInfo) -> datetime:
        """When it was given: ``submitted_at``, or noon of its date in ``zone``."""
        when = self.submitted_at
        return when if isinstance(when, datetime) else local_noon(when, zone)


@dataclass(frozen=True)
class RecordResult:
    inserted: int
    duplicates: int
    ids: tuple[int, ...] = ()  # the stored response id of each item, in input order


def body_hash(item: ResponseIn, context: dict[str, Any]) -> str:
    """A stable digest of what a client sent with an idempotency key, and where it went."""
    canonical = json.dumps(
        {**item.model_dump(mode="json"), **context}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _response_row(
    item: ResponseIn, index: int, form: Form, base: dict[str, Any], zone: ZoneInfo
) -> dict[str, Any]:
    # "response 1" counts from 1 for people; loc indexes from 0, as JSON paths do.
    where = f"response {index + 1}"
    loc: tuple[str | int, ...] = ("responses", index)
    unknown = set(item.answers) - set(form.element_codes)
    if unknown:
        raise InvalidInput(
            f"{where}: unknown element(s) {sorted(unknown)} for form {form.code}",
            loc=(*loc, "answers"),
        )
    row = dict(base)
    for column, code in zip(ANSWER_COLUMNS, form.element_codes, strict=False):
        value = item.answers.get(code)
        if value is not None and not ikm.ANSWER_MIN <= value <= ikm.ANSWER_MAX:
            raise InvalidInput(
                f"{where}: answer {value} for {code} is not 1..4", loc=(*loc, "answers", code)
            )
        row[column] = value
    blank = [code for code in form.element_codes if item.answers.get(code) is None]
    if len(blank) == len(form.element_codes):
        raise InvalidInput(f"{where}: no element is answered", loc=(*loc, "answers"))
    if blank and base["channel"] not in PARTIAL_CHANNELS:
        raise InvalidInput(
            f"{where}: element(s) {', '.join(blank)} not answered; only the paper channel "
            "may leave elements blank",
            loc=(*loc, "answers"),
        )
    for name in ("sex", "age", "education", "occupation"):
        value = getattr(item, name)
        spec = form.profile_field(name)
        if value is not None and (spec is None or not spec.accepts(value)):
            raise InvalidInput(
                f"{where}: {name} {value!r} is not allowed by form {form.code}", loc=(*loc, name)
            )
        row[name] = value
    context = {k: base[k] for k in ("unit_id", "service_id", "counter_id", "channel")}
    submitted_at = item.moment(zone)
    row.update(
        idempotency_key=item.idempotency_key,
        body_hash=body_hash(item, context),
        submitted_at=submitted_at,
        local_date=submitted_at.astimezone(zone).date(),
        suggestion=(item.suggestion or "").strip() or None,
    )
    return row


@dataclass(frozen=True)
class Prepared:
    """Responses validated against their form and made into rows, not yet stored."""

    rows: list[dict[str, Any]]
    codes: tuple[str, ...]  # the form's element codes, in order
    strict_replay: bool


def prepare_responses(
    *,
    session: Session,
    unit: Unit,
    items: Sequence[ResponseIn],
    channel: Channel,
    form_code: str | None = None,
    service: Service | None = None,
    counter: Counter | None = None,
    flagged: bool = False,
    strict_replay: bool = False,
    on_form: tuple[FormVersion, Form] | None = None,
) -> Prepared:
    """Validate responses and make their rows (only reads): the first half of
    :func:`record_responses`, for a caller that stores several batches together."""
    # The rollups would count a repeated key once per copy, the table once.
    _refuse_repeated_keys([item.idempotency_key for item in items])
    version, form = (
        on_form
        if on_form is not None
        else current_form(session=session, code=form_code)
        if form_code
        else unit_form(session=session, unit=unit)
    )
    base = {
        "unit_id": unit.id,
        "service_id": service.id if service else None,
        "counter_id": counter.id if counter else None,
        "form_version_id": version.id,
        "channel": channel,
        "flagged": flagged,
        "recorded_at": datetime.now().astimezone(),
    }
    rows = [_response_row(item, i, form, base, unit.zone) for i, item in enumerate(items)]
    return Prepared(rows=rows, codes=form.element_codes, strict_replay=strict_replay)


def record_responses(
    *,
    session: Session,
    unit: Unit,
    items: Sequence[ResponseIn],
    channel: Channel,
    form_code: str | None = None,
    service: Service | None = None,
    counter: Counter | None = None,
    flagged: bool = False,
    strict_replay: bool = False,
    on_form: tuple[FormVersion, Form] | None = None,
    commit: bool = True,
) -> RecordResult:
    """Validate and store responses, all or nothing, and add them to the rollups. They are
    recorded on ``form_code`` (its newest version), by default the unit's own form, or on
    ``on_form`` when the caller has just looked it up (the citizen page).

    A response whose idempotency key is already stored is skipped (a retry), not an error;
    the unique index decides, so two workers racing on the same key store it once. With
    ``strict_replay`` a stored key whose body differs is a conflict and nothing is stored.
    With ``commit=False`` the caller commits: ``skm import`` stores a large file as several
    batches in one transaction, so that memory stays bounded and the file is still all or
    nothing.
    """
    prepared = prepare_responses(
        session=session,
        unit=unit,
        items=items,
        channel=channel,
        form_code=form_code,
        service=service,
        counter=counter,
        flagged=flagged,
        strict_replay=strict_replay,
        on_form=on_form,
    )
    (result,) = store_prepared(session=session, batches=[prepared])
    if commit:
        session.commit()
    return result


@dataclass(frozen=True)
class Gate:
    """PostgreSQL: what an insert waits on, in its own statement. ``cte`` is a CTE of one row
    whose ``ok`` says whether to store at all; it may write (a citizen submission's rate-limit
    hits, counted and checked against their limits). Build it once per shape (it keys the
    cached statement) and bind ``params`` per call."""

    cte: sa.CTE
    params: dict[str, Any]


class GateClosed(Exception):
    """A :class:`Gate` said no: nothing was stored. What the gate itself wrote stays in the
    transaction, for the caller to roll back."""


def store_prepared(
    *, session: Session, batches: Sequence[Prepared], gate: Gate | None = None
) -> list[RecordResult]:
    """Store prepared batches in the caller's transaction (it commits): one insert per form,
    which adds its rows to the rollups, and a lookup only of keys stored before (retries).
    A batch with ``strict_replay`` whose stored key has a different body raises
    :class:`Conflict`; the caller must then roll back, since the other batches' rows (and
    the rest of that batch's) are written by then. A ``gate`` (PostgreSQL only) is part of
    the first insert's statement; when it says no, :class:`GateClosed` is raised before
    anything else is written."""
    rows = [row for batch in batches for row in batch.rows]
    if len({r["idempotency_key"] for r in rows}) < len(rows):
        # Each batch's keys are distinct (prepare_responses); two batches sharing one would
        # both count its row as theirs.
        raise RepeatedKey("an idempotency key is in more than one of the batches")
    by_form: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for batch in batches:
        by_form[batch.codes].extend(batch.rows)
    # Each insert names the rows it stored; only keys stored before (retries) are looked up.
    # In one order of forms: two workers' groups lock rollup rows in the same order.
    ids: dict[str, int] = {}
    for index, (codes, form_rows) in enumerate(sorted(by_form.items())):
        ids.update(_insert_counted(session, form_rows, codes, gate if index == 0 else None))
    earlier = _stored(
        session, [r["idempotency_key"] for r in rows if r["idempotency_key"] not in ids]
    )
    for batch in batches:
        if not batch.strict_replay:
            continue
        changed = [
            r["idempotency_key"]
            for r in batch.rows
            if r["idempotency_key"] in earlier
            and earlier[r["idempotency_key"]][1] != r["body_hash"]
        ]
        if changed:
            raise Conflict(
                f"{len(changed)} idempotency key(s) were used before with a different body, "
                f"first {changed[0]!r}; nothing was stored"
            )
    results = []
    for batch in batches:
        new = sum(r["idempotency_key"] in ids for r in batch.rows)
        results.append(
            RecordResult(
                inserted=new,
                duplicates=len(batch.rows) - new,
                ids=tuple(ids[k] if k in ids else earlier[k][0] for k in _keys(batch)),
            )
        )
    return results


def _keys(batch: Prepared) -> list[str]:
    return [row["idempotency_key"] for row in batch.rows]


class RepeatedKey(ValueError):
    """Batches stored together share an idempotency key: store them one at a time."""


def _insert_counted(
    session: Session, rows: list[dict[str, Any]], codes: tuple[str, ...], gate: Gate | None
) -> list[tuple[str, int]]:
    """Insert response rows of one form, a key stored before skipped (the unique index
    decides, so two workers racing on one key store it once), and add the rows stored to
    the rollups: (idempotency key, id) of each row stored."""
    if is_postgresql(session):
        if len(rows) == 1:  # a value each (cheaper to send than arrays of one)
            params = dict.fromkeys(_INSERTED) | rows[0]
        else:  # one statement whatever the number of rows: an array per column
            params = {column: [row.get(column) for row in rows] for column in _INSERTED}
        params["shard"] = rollups.shard()
        arrays = len(rows) > 1
        if gate is None:
            statement = _counted_insert(len(codes), arrays=arrays)
            return [(key, id_) for key, id_ in session.execute(statement, params)]
        statement = _counted_insert(len(codes), arrays=arrays, gate=gate.cte)
        found = session.execute(statement, params | gate.params).all()
        if not found[0].ok:
            raise GateClosed()
        return [(key, id_) for _, key, id_ in found if key is not None]
    if gate is not None:
        raise ValueError("a gate is part of a PostgreSQL statement")
    stored = [(key, id_) for key, id_ in session.execute(_insert_statement(session), rows)]
    fresh = {key for key, _ in stored}
    rollups.add(session, [r for r in rows if r["idempotency_key"] in fresh], codes)
    return stored


_INSERTED = tuple(c.name for c in Response.__table__.c if c.name != "id")  # type: ignore[attr-defined]


@cache
def _counted_insert(k: int, *, arrays: bool, gate: sa.CTE | None = None) -> Any:
    # Built once per form size and gate (a statement object keeps its compiled form cached).
    # With a gate, the rows are inserted only if its ``ok`` is true, and each row selected
    # says what it was: (ok, key, id), or (ok, None, None) when nothing was stored. Many rows
    # come as a column array each rather than a multi-row VALUES ("insertmanyvalues"), which
    # has a placeholder per value: psycopg parses such a long query anew on every call (it
    # caches queries of at most 50 parameters); this one is parsed once, prepared.
    table = Response.__table__  # type: ignore[attr-defined]
    pg = postgresql.dialect()  # type: ignore[no-untyped-call]

    def value_of(column: sa.Column[Any]) -> str:
        # Text without its length: a cast to varchar(n) would cut a longer value silently,
        # where the insert into the column refuses it.
        text = isinstance(getattr(column.type, "impl", column.type), sa.String)
        kind = "VARCHAR" if text else column.type.compile(pg)
        return f"CAST(:{column.name} AS {kind}{'[]' if arrays else ''})"

    values = ", ".join(value_of(table.c[name]) for name in _INSERTED)
    names = ", ".join(_INSERTED)  # named, so that a gate's select can name them
    source = (
        f"SELECT * FROM unnest({values}) AS given ({names})"  # noqa: S608 (placeholders only)
        if arrays
        else f"SELECT * FROM (VALUES ({values})) AS given ({names})"  # noqa: S608
    )
    rows: Any = sa.text(source).columns(*(table.c[name] for name in _INSERTED))
    if gate is not None:
        given = rows.subquery("source")
        rows = sa.select(*given.c).where(sa.select(gate.c.ok).scalar_subquery())
    inserted = (
        postgresql.insert(table)
        .from_select(list(_INSERTED), rows)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(*(table.c[name] for name in ("id", *_INSERTED)))
        .cte("inserted")
    )
    stored = rollups.counted(inserted, k)
    if gate is None:
        return stored
    each = stored.subquery("stored")
    return sa.select(gate.c.ok, each.c.idempotency_key, each.c.id).select_from(
        gate.outerjoin(each, sa.true())
    )


@per_dialect
def _insert_statement(dialect: str) -> Any:
    # Run as executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues")
    # without compiling a statement per batch.
    table = Response.__table__  # type: ignore[attr-defined]
    return (
        upsert_for(dialect, table)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.idempotency_key, table.c.id)
    )


def _refuse_repeated_keys(keys: Sequence[str]) -> None:
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key in first:
            raise InvalidInput(
                f"idempotency key {key!r} appears more than once in the batch "
                f"(responses {first[key] + 1} and {index + 1})",
                loc=("responses", index, "idempotency_key"),
            )
        first[key] = index


def _stored(session: Session, keys: Sequence[str]) -> dict[str, tuple[int, str | None]]:
    """The id and body hash stored under each idempotency key."""
    found: dict[str, tuple[int, str | None]] = {}
    for start in range(0, len(keys), INSERT_CHUNK):
        chunk = keys[start : start + INSERT_CHUNK]
        stmt = select(Response.idempotency_key, Response.id, Response.body_hash).where(
            col(Response.idempotency_key).in_(chunk)
        )
        for key, response_id, digest in session.exec(stmt):
            found[key] = (int(response_id or 0), digest)
    return found


def record_batch(
    *,
    session: Session,
    unit: Unit,
    items: Sequence[ResponseIn],
    channel: Channel,
    service_code: str | None = None,
    counter_code: str | None = None,
    form_code: str | None = None,
    unit_form: tuple[FormVersion, Form] | None = None,
) -> RecordResult:
    """Store a partner system's batch for a unit (and optionally one of its services or
    counters) on ``form_code`` (by default the unit's form, ``unit_form`` when the caller
    has just looked it up): its idempotency keys are namespaced by unit, so two systems
    never collide, and a key replayed with a different body is a conflict."""
    prepared = prepare_batch(
        session=session,
        unit=unit,
        items=items,
        channel=channel,
        service_code=service_code,
        counter_code=counter_code,
        form_code=form_code,
        unit_form=unit_form,
    )
    (result,) = store_prepared(session=session, batches=[prepared])
    session.commit()
    return result


def prepare_batch(
    *,
    session: Session,
    unit: Unit,
    items: Sequence[ResponseIn],
    channel: Channel,
    service_code: str | None = None,
    counter_code: str | None = None,
    form_code: str | None = None,
    unit_form: tuple[FormVersion, Form] | None = None,
) -> Prepared:
    """:func:`record_batch` up to storing (only reads): for a caller that stores several
    partner batches in one transaction (:func:`store_prepared`)."""
    _refuse_repeated_keys([item.idempotency_key for item in items])
    if form_code is not None:
        check_form_code(session=session, code=form_code, loc=("form",))
    service = get_service(session=session, unit=unit, code=service_code) if service_code else None
    counter = get_counter(session=session, unit=unit, code=counter_code) if counter_code else None
    if service is None and counter is not None:
        service = counter_service(session=session, counter=counter)
    namespaced = [
        item.model_copy(update={"idempotency_key": f"api:{unit.id}:{item.idempotency_key}"})
        for item in items
    ]
    return prepare_responses(
        session=session,
        unit=unit,
        items=namespaced,
        channel=channel,
        form_code=form_code,
        service=service,
        counter=counter,
        strict_replay=True,
        on_form=None if form_code is not None else unit_form,
    )

"""Recording responses from every channel (citizen page, kiosk, paper import, API): validation
against the form, idempotency, and the rollups kept in the same transaction.

One commit per call; a batch is stored all or nothing.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from sqlmodel import Session, col, select

from app import ikm
from app.errors import Conflict, InvalidInput
from app.forms import Form
from app.models import (
    ANSWER_COLUMNS,
    ROLLUP_COUNTS,
    ROLLUP_KEYS_FULL,
    SUGGESTION_MAX,
    Channel,
    Counter,
    FormVersion,
    Response,
    Service,
    Unit,
    response_rollup,
)
from app.services import DEFAULT_FORM, current_form, upsert

INSERT_CHUNK = 500
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # before any SKM form this service knows
CLOCK_SKEW = timedelta(days=1)  # a device clock may run ahead; a date further out is an error


class ResponseIn(BaseModel):
    """One questionnaire as a channel delivers it. Answers are keyed by element code."""

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(min_length=1, max_length=100)
    submitted_at: datetime
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

    @field_validator("submitted_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("submitted_at needs a time zone offset")
        if not EARLIEST <= value <= datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("submitted_at must lie between 2000-01-01 and now")
        return value


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
    item: ResponseIn, index: int, form: Form, base: dict[str, Any], zone: Any
) -> dict[str, Any]:
    where = f"response {index + 1}"
    unknown = set(item.answers) - set(form.element_codes)
    if unknown:
        raise InvalidInput(f"{where}: unknown element(s) {sorted(unknown)} for form {form.code}")
    row = dict(base)
    for column, code in zip(ANSWER_COLUMNS, form.element_codes, strict=False):
        value = item.answers.get(code)
        if value is not None and not ikm.ANSWER_MIN <= value <= ikm.ANSWER_MAX:
            raise InvalidInput(f"{where}: answer {value} for {code} is not 1..4")
        row[column] = value
    for name in ("sex", "age", "education", "occupation"):
        value = getattr(item, name)
        spec = form.profile_field(name)
        if value is not None and (spec is None or not spec.accepts(value)):
            raise InvalidInput(f"{where}: {name} {value!r} is not allowed by form {form.code}")
        row[name] = value
    context = {k: base[k] for k in ("unit_id", "service_id", "counter_id", "channel")}
    row.update(
        idempotency_key=item.idempotency_key,
        body_hash=body_hash(item, context),
        submitted_at=item.submitted_at,
        local_date=item.submitted_at.astimezone(zone).date(),
        suggestion=(item.suggestion or "").strip() or None,
    )
    return row


def record_responses(
    *,
    session: Session,
    unit: Unit,
    items: Sequence[ResponseIn],
    channel: Channel,
    form_code: str = DEFAULT_FORM,
    service: Service | None = None,
    counter: Counter | None = None,
    flagged: bool = False,
    strict_replay: bool = False,
) -> RecordResult:
    """Validate and store responses, all or nothing, and add them to the rollups.

    A response whose idempotency key is already stored is skipped (a retry), not an error;
    the unique index decides, so two workers racing on the same key store it once. With
    ``strict_replay`` a stored key whose body differs is a conflict and nothing is stored.
    """
    keys = [item.idempotency_key for item in items]
    if len(set(keys)) != len(keys):
        # The rollups would count a repeated key once per copy, the table once.
        raise InvalidInput("an idempotency key appears more than once in the batch")
    version, form = current_form(session=session, code=form_code)
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
    inserted: list[dict[str, Any]] = []
    table = Response.__table__  # type: ignore[attr-defined]
    # One cached statement run as executemany: SQLAlchemy batches it into multi-row INSERTs
    # ("insertmanyvalues") without compiling a statement per batch.
    stmt = (
        upsert(session, table)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.idempotency_key)
    )
    if rows:
        stored = set(session.execute(stmt, rows).scalars())
        inserted.extend(r for r in rows if r["idempotency_key"] in stored)
    stored_rows = _stored(session, [r["idempotency_key"] for r in rows])
    if strict_replay:
        changed = [
            r["idempotency_key"]
            for r in rows
            if stored_rows[r["idempotency_key"]][1] != r["body_hash"]
        ]
        if changed:
            raise Conflict(
                f"{len(changed)} idempotency key(s) were used before with a different body, "
                f"first {changed[0]!r}; nothing was stored"
            )
    _add_to_rollup(session, inserted, len(form.element_codes))
    session.commit()
    return RecordResult(
        inserted=len(inserted),
        duplicates=len(rows) - len(inserted),
        ids=tuple(stored_rows[r["idempotency_key"]][0] for r in rows),
    )


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


def _add_to_rollup(session: Session, rows: Sequence[dict[str, Any]], k: int) -> None:
    groups: dict[tuple[Any, ...], dict[str, int]] = {}
    for row in rows:
        key = (
            row["unit_id"],
            row["local_date"],
            row["service_id"] or 0,
            row["counter_id"] or 0,
            row["form_version_id"],
            row["channel"],
            row["flagged"],
        )
        counts = groups.setdefault(key, dict.fromkeys(ROLLUP_COUNTS, 0))
        counts["responses"] += 1
        answers = [row[c] for c in ANSWER_COLUMNS[:k]]
        for column, value in zip(ANSWER_COLUMNS, answers, strict=False):
            if value is not None:
                counts[f"{column}_n"] += 1
                counts[f"{column}_sum"] += value
        if all(v is not None for v in answers):
            total = sum(answers)
            counts["complete"] += 1
            counts["complete_sum"] += total
            counts["complete_sumsq"] += total * total
    if not groups:
        return
    # Sorted keys: concurrent transactions lock rollup rows in the same order (no deadlock).
    values = [
        {**dict(zip(ROLLUP_KEYS_FULL, key, strict=True)), **counts}
        for key, counts in sorted(groups.items(), key=lambda item: str(item[0]))
    ]
    stmt = upsert(session, response_rollup).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(ROLLUP_KEYS_FULL),
        set_={c: response_rollup.c[c] + stmt.excluded[c] for c in ROLLUP_COUNTS},
    )
    session.execute(stmt)


def rebuild_rollups(*, session: Session) -> int:
    """Recompute the rollup table from the responses (a data fix); returns its row count."""
    if session.get_bind().dialect.name == "postgresql":
        # Submissions wait until the rebuild commits: none slips in between the delete and
        # the re-count, and taking the response table first cannot deadlock with them (they
        # lock the response table, then the rollups). SQLite's write lock does the same.
        session.execute(sa.text("LOCK TABLE response IN SHARE MODE"))
        session.execute(sa.text("LOCK TABLE response_rollup IN EXCLUSIVE MODE"))
    session.execute(response_rollup.delete())
    table = Response.__table__  # type: ignore[attr-defined]
    for version in session.exec(select(FormVersion)).all():
        columns = [table.c[c] for c in ANSWER_COLUMNS[: len(version.codes)]]
        complete = sa.and_(*(c.is_not(None) for c in columns))
        total = sum(columns[1:], columns[0])
        keys = [
            table.c.unit_id,
            table.c.local_date,
            sa.func.coalesce(table.c.service_id, 0),
            sa.func.coalesce(table.c.counter_id, 0),
            table.c.form_version_id,
            table.c.channel,
            table.c.flagged,
        ]
        aggregates = [
            sa.func.count(),
            *(sa.func.count(table.c[c]) for c in ANSWER_COLUMNS),
            *(sa.func.coalesce(sa.func.sum(table.c[c]), 0) for c in ANSWER_COLUMNS),
            sa.func.count(sa.case((complete, 1))),
            sa.func.coalesce(sa.func.sum(sa.case((complete, total))), 0),
            sa.func.coalesce(sa.func.sum(sa.case((complete, total * total))), 0),
        ]
        select_stmt = (
            sa.select(*keys, *aggregates)
            .where(table.c.form_version_id == version.id)
            .group_by(*keys)
        )
        session.execute(
            response_rollup.insert().from_select([*ROLLUP_KEYS_FULL, *ROLLUP_COUNTS], select_stmt)
        )
    session.commit()
    count = session.execute(sa.select(sa.func.count()).select_from(response_rollup)).scalar_one()
    return int(count)

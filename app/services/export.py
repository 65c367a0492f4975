"""Reading stored responses: keyset pages for the API, and CSV rows streamed in constant memory.

Both walk the responses in (local_date, id) order, which the (unit_id, local_date, id) index
gives without sorting. A cursor names the last row seen; the order is total and a row's date
and id never change, so however many responses arrive while a client pages, no row that
existed when it began is repeated or skipped.
"""

import base64
import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.errors import InvalidInput
from app.models import (
    ANSWER_COLUMNS,
    Counter,
    FormVersion,
    Response,
    Service,
    Unit,
)
from app.services import rollups
from app.services.scopes import Scope

CSV_CHUNK = 2_000
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PROFILE = ("sex", "age", "education", "occupation")

_r = Response.__table__.c  # type: ignore[attr-defined]
_COLUMNS = (
    _r.id,
    Unit.__table__.c.code.label("unit"),  # type: ignore[attr-defined]
    Service.__table__.c.code.label("service"),  # type: ignore[attr-defined]
    Counter.__table__.c.code.label("counter"),  # type: ignore[attr-defined]
    _r.channel,
    FormVersion.__table__.c.code.label("form"),  # type: ignore[attr-defined]
    FormVersion.__table__.c.element_codes,  # type: ignore[attr-defined]
    _r.submitted_at,
    _r.local_date,
    _r.flagged,
    *(_r[c] for c in PROFILE),
    _r.suggestion,
    *(_r[c] for c in ANSWER_COLUMNS),
)


Position = tuple[date, int]  # (local_date, id) of the last row a client has seen


def encode_cursor(row: dict[str, Any]) -> str:
    data = json.dumps({"date": row["local_date"].isoformat(), "id": row["id"]})
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor points after; a cursor that was not made here is a 422."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = data["id"]
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**63:
            raise ValueError(after)
        return date.fromisoformat(data["date"]), after
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("invalid cursor: pass next_cursor from the previous page") from None


def page(
    *, session: Session, scope: Scope, after: Position | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` responses of the scope after a position, oldest first."""
    stmt = (
        sa.select(*_COLUMNS)
        .select_from(Response)
        .join(Unit, Unit.id == _r.unit_id)
        .join(FormVersion, FormVersion.id == _r.form_version_id)
        .outerjoin(Service, Service.id == _r.service_id)
        .outerjoin(Counter, Counter.id == _r.counter_id)
        .where(*scope.conditions(_r, service=_r.service_id, counter=_r.counter_id))
        .order_by(_r.local_date, _r.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(sa.tuple_(_r.local_date, _r.id) > sa.tuple_(*after))
    return [_as_dict(row._mapping) for row in session.execute(stmt)]


def _as_dict(row: Any) -> dict[str, Any]:
    codes = row["element_codes"].split(",")
    return {
        "id": row["id"],
        "unit": row["unit"],
        "service": row["service"],
        "counter": row["counter"],
        "channel": row["channel"],
        "form": row["form"],
        "submitted_at": row["submitted_at"],
        "local_date": row["local_date"],
        "flagged": row["flagged"],
        "answers": {code: row[column] for code, column in zip(codes, ANSWER_COLUMNS, strict=False)},
        **{name: row[name] for name in PROFILE},
        "suggestion": row["suggestion"],
    }


def summary(*, session: Session, scope: Scope) -> tuple[int, int]:
    """How many responses the scope holds and the highest id (a cheap version for ETags)."""
    stmt = sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(_r.id), 0)).where(
        *scope.conditions(_r, service=_r.service_id, counter=_r.counter_id)
    )
    count, highest = session.execute(stmt).one()
    return int(count), int(highest)


def element_columns(*, session: Session, scope: Scope) -> list[str]:
    """The element codes of every form answered in the scope, in form order (CSV columns)."""
    codes: dict[str, None] = {}
    for version in rollups.form_versions(session=session, scope=scope):
        codes.update(dict.fromkeys(version.codes))
    return list(codes)


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a leading formula character gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_stream(
    sessions: Callable[[], AbstractContextManager[Session]], scope: Scope
) -> Iterator[bytes]:
    """Every response of the scope as CSV, a chunk of rows at a time, each chunk read in its
    own short session so an export of any size holds neither memory nor a connection."""
    with sessions() as session:
        codes = element_columns(session=session, scope=scope)
    header = ["id", "unit", "service", "counter", "channel", "form", "submitted_at"]
    header += ["local_date", "flagged", *codes, *PROFILE, "suggestion"]
    yield _csv_line([header])
    after: Position | None = None
    while True:
        with sessions() as session:
            rows = page(session=session, scope=scope, after=after, limit=CSV_CHUNK)
        if not rows:
            return
        yield _csv_line(
            [
                [row[name] for name in header[:6]]
                + [row["submitted_at"].isoformat(), row["local_date"].isoformat()]
                + [int(row["flagged"])]
                + [row["answers"].get(code) for code in codes]
                + [row[name] for name in PROFILE]
                + [row["suggestion"]]
                for row in rows
            ]
        )
        after = rows[-1]["local_date"], rows[-1]["id"]


def _csv_line(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[safe_cell(v) for v in row] for row in rows])
    return buffer.getvalue().encode()

"""Small builders shared by the database tests."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.models import (
    ROLLUP_COUNTS,
    ROLLUP_KEYS_FULL,
    ROLLUP_MONTH_KEYS,
    FormVersion,
    Unit,
    UnitCreate,
    response_rollup,
    response_rollup_month,
)
from app.services import intake, org, questionnaires

CODES = (
    "persyaratan",
    "prosedur",
    "waktu",
    "biaya",
    "produk",
    "kompetensi",
    "perilaku",
    "pengaduan",
    "sarana",
)


def make_unit(session: Session, *, parent: Unit | None = None, tz: str = "WITA") -> Unit:
    code = f"u-{uuid.uuid4().hex[:10]}"
    data = UnitCreate(
        code=code, name=f"Unit {code}", time_zone=tz, parent_code=parent.code if parent else None
    )
    return org.create_unit(session=session, data=data)


def response(
    answers: tuple[int | None, ...], when: datetime, key: str | None = None
) -> intake.ResponseIn:
    return intake.ResponseIn(
        idempotency_key=key or uuid.uuid4().hex,
        submitted_at=when,
        answers=dict(zip(CODES, answers, strict=True)),
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def rollup_sums(session: Session, unit_ids: Sequence[int | None] | None = None) -> list[Any]:
    """The rollup's sums per key, its shards added up, in key order: what every reader sees
    (the rows themselves depend on which shards the submissions picked)."""
    r = response_rollup.c
    keys = [r[key] for key in ROLLUP_KEYS_FULL]
    stmt = sa.select(*keys, *(sa.func.sum(r[c]) for c in ROLLUP_COUNTS)).group_by(*keys)
    if unit_ids is not None:
        stmt = stmt.where(r.unit_id.in_(unit_ids))
    return [tuple(row) for row in session.execute(stmt.order_by(*keys)).all()]


def month_sums(session: Session, unit_ids: Sequence[int | None]) -> list[Any]:
    """The month rollup per key, its shards taken together (first and last day, sums), in
    key order: see :func:`rollup_sums`."""
    m = response_rollup_month.c
    keys = [m[key] for key in ROLLUP_MONTH_KEYS]
    stmt = (
        sa.select(
            *keys,
            sa.func.min(m.first_date),
            sa.func.max(m.last_date),
            *(sa.func.sum(m[c]) for c in ROLLUP_COUNTS),
        )
        .where(m.unit_id.in_(unit_ids))
        .group_by(*keys)
        .order_by(*keys)
    )
    return [tuple(row) for row in session.execute(stmt).all()]


def reordered_version(session: Session) -> FormVersion:
    """A newer version of the standard form that asks the same elements in reverse order."""
    current, form = questionnaires.current_form(session=session, code="permenpan-rb-14-2017")
    definition = dict(current.definition)
    definition["elements"] = list(reversed(definition["elements"]))
    version = FormVersion(
        code=current.code,
        content_hash="reordered-" + current.content_hash[:40],
        element_codes=",".join(reversed(form.element_codes)),
        definition=definition,
    )
    session.add(version)
    session.commit()
    return version

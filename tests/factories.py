"""Small builders shared by the database tests."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.models import (
    FormVersion,
    Unit,
    UnitCreate,
)
from app.services import intake, org, questionnaires, rollups

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
    return rollups.day_totals(session=session, unit_ids=unit_ids)


def coarse_sums(session: Session, unit_ids: Sequence[int | None]) -> list[Any]:
    """The month rollup's totals, then the quarter rollup's (see ``rollups.month_totals``)."""
    return [
        *rollups.month_totals(session=session, unit_ids=unit_ids),
        *rollups.quarter_totals(session=session, unit_ids=unit_ids),
    ]


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

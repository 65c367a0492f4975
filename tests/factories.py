"""Small builders shared by the database tests."""

import uuid
from datetime import datetime

from sqlmodel import Session

from app.models import Unit, UnitCreate
from app.services import intake, org

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

"""Paper questionnaires entered in the console: one at a time from the keyboard (with an undo
of the last one), or a CSV/XLSX sheet checked whole before anything is stored. Both store
through ``intake`` on channel ``paper`` and record who entered what in the audit log."""

import hashlib
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.core.forms import Form
from app.core.sheets import SheetError, SheetReader, SheetRow, open_sheet
from app.errors import AppError, InvalidInput, NotFound
from app.models import AuditEntry, PaperUpload, Response, Service, Unit
from app.services import audit, intake, rollups
from app.services.questionnaires import unit_form

UNDO_WINDOW = timedelta(minutes=30)
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_KEPT = timedelta(hours=1)
PROBLEMS_SHOWN = 200
BATCH = 1000


def enter(
    *,
    session: Session,
    unit: Unit,
    item: intake.ResponseIn,
    service: Service | None,
    actor: audit.Actor,
) -> int:
    """Store one questionnaire typed in from paper; a repeated form key (a double Enter, a
    resent form) stores it once. Returns the response's id. Commits."""
    result = intake.record_responses(
        session=session, unit=unit, items=[item], channel="paper", service=service, commit=False
    )
    (stored,) = result.ids
    if result.inserted:
        audit.record_as(
            session=session,
            actor=actor,
            action="response.paper",
            target=unit.code,
            unit_id=unit.id,
            detail=f"response {stored}",
        )
    session.commit()
    return stored


def _entries(session: Session, unit: Unit, actor: audit.Actor, since: datetime) -> list[int]:
    """The ids of the responses this user entered into this unit since ``since`` and has not
    undone, newest last."""
    rows = session.exec(
        select(AuditEntry.action, AuditEntry.detail)
        .where(
            AuditEntry.user_id == actor.user_id,
            AuditEntry.unit_id == unit.id,
            col(AuditEntry.action).in_(("response.paper", "response.undo")),
            AuditEntry.at >= since,
        )
        .order_by(col(AuditEntry.id))
    ).all()
    entered: list[int] = []
    for action, detail in rows:
        stored = int((detail or "response 0").split()[-1])
        if action == "response.paper":
            entered.append(stored)
        elif stored in entered:
            entered.remove(stored)
    return entered


def entered_today(*, session: Session, unit: Unit, actor: audit.Actor) -> int:
    """How many questionnaires this user has entered into this unit today (its local day)."""
    midnight = datetime.combine(datetime.now(unit.zone).date(), datetime.min.time(), unit.zone)
    return len(_entries(session, unit, actor, midnight))


def undo_last(*, session: Session, unit: Unit, actor: audit.Actor) -> int:
    """Delete the last questionnaire this user entered into this unit within the last half
    hour, and take it out of the rollups exactly; returns its id. Commits."""
    entered = _entries(session, unit, actor, datetime.now(UTC) - UNDO_WINDOW)
    if not entered:
        raise NotFound(
            "Tidak ada entri Anda dalam 30 menit terakhir di unit ini yang dapat dibatalkan."
        )
    last = entered[-1]
    table = Response.__table__  # type: ignore[attr-defined]
    row = session.execute(sa.select(table).where(table.c.id == last)).mappings().first()
    if row is None:
        raise NotFound("Entri terakhir sudah tidak ada.")
    codes = unit_form(session=session, unit=unit)[1].element_codes
    rollups.add(session, [dict(row)], codes, sign=-1)
    session.execute(sa.delete(table).where(table.c.id == last))
    audit.record_as(
        session=session,
        actor=actor,
        action="response.undo",
        target=unit.code,
        unit_id=unit.id,
        detail=f"response {last}",
    )
    session.commit()
    return last


# --- sheets ---


@dataclass(frozen=True)
class Preview:
    upload_id: str
    filename: str
    rows: int
    mapping: list[tuple[str, str]]  # the sheet's header -> what it is read as
    problems: list[str]  # the first PROBLEMS_SHOWN, "baris N: kolom: pesan"
    problem_count: int
    notices: list[str]

    @property
    def ok(self) -> bool:
        return not self.problem_count and self.rows > 0


@contextmanager
def _as_file(content: bytes, filename: str) -> Iterator[Path]:
    suffix = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        yield path


def upload(
    *,
    session: Session,
    unit: Unit,
    service: Service | None,
    filename: str,
    content: bytes,
    actor: audit.Actor,
) -> Preview:
    """Keep an uploaded sheet for an hour and check it whole: the preview lists the column
    mapping and every problem; nothing is stored until :func:`confirm`. Commits the upload."""
    if not content:
        raise InvalidInput("Berkas kosong.")
    if len(content) > UPLOAD_MAX_BYTES:
        raise InvalidInput("Berkas lebih dari 10 MB: bagi menjadi beberapa berkas.")
    if not filename.lower().endswith((".csv", ".xlsx")):
        raise InvalidInput("Unggah berkas CSV atau XLSX.")
    session.execute(
        sa.delete(PaperUpload).where(col(PaperUpload.created_at) < datetime.now(UTC) - UPLOAD_KEPT)
    )
    assert unit.id is not None and actor.user_id is not None
    kept = PaperUpload(
        id=secrets.token_hex(16),
        unit_id=unit.id,
        service_id=service.id if service else None,
        user_id=actor.user_id,
        filename=filename[:200],
        content=content,
    )
    session.add(kept)
    session.commit()
    return _check(session, unit, kept)


def _form_and_key(session: Session, unit: Unit, kept: PaperUpload) -> tuple[Form, str]:
    form = unit_form(session=session, unit=unit)[1]
    digest = hashlib.sha256(kept.content).hexdigest()[:32]
    return form, digest


def _response(row: SheetRow, form: Form, unit: Unit, digest: str, today: date) -> intake.ResponseIn:
    return intake.ResponseIn(
        # As `skm import` keys a file's rows: the same sheet twice adds nothing.
        idempotency_key=f"import:{unit.id}:{digest}:{row.line}",
        submitted_at=intake.local_noon(row.date or today, unit.zone),
        answers=dict(zip(form.element_codes, row.answers, strict=True)),
        suggestion=row.suggestion,
        **row.profile,
    )


def _check(session: Session, unit: Unit, kept: PaperUpload) -> Preview:
    form, digest = _form_and_key(session, unit, kept)
    today = datetime.now(unit.zone).date()
    problems: list[str] = []
    count = rows = 0
    mapping: list[tuple[str, str]] = []
    notices: list[str] = []
    with _as_file(kept.content, kept.filename) as path:
        try:
            reader = open_sheet(path, form, strict=True)
            mapping = _mapping(reader, form)
            for row, row_problems in reader.rows():
                if row is None:
                    count += len(row_problems)
                    problems.extend(_say(p) for p in row_problems)
                    continue
                rows += 1
                try:
                    _response(row, form, unit, digest, today)
                except ValidationError as exc:
                    for error in exc.errors():
                        count += 1
                        field = str(error["loc"][0]) if error["loc"] else ""
                        message = str(error["msg"]).removeprefix("Value error, ")
                        problems.append(_say(f"line {row.line}: {field}: {message}"))
            notices = reader.notices
        except SheetError as exc:
            problems = [_say(p) for p in exc.problems]
            count = len(problems)
    if not rows and not count:
        problems, count = ["tidak ada baris responden"], 1
    return Preview(
        upload_id=kept.id,
        filename=kept.filename,
        rows=rows,
        mapping=mapping,
        problems=problems[:PROBLEMS_SHOWN],
        problem_count=count,
        notices=notices,
    )


# The sheet reader's messages are the CLI's (English); staff read them in Indonesian.
SAYINGS = (
    ("is not an answer 1..4 (or a..d)", "bukan jawaban 1..4 (atau a..d)"),
    ("is not one of", "bukan salah satu dari"),
    ("must lie between 2000-01-01 and now", "harus antara 2000-01-01 dan hari ini"),
    ("no response rows", "tidak ada baris responden"),
    ("the file is empty", "berkas kosong"),
    ("missing column", "kolom tidak ada"),
    ("unknown column", "kolom tidak dikenal"),
)


def _say(problem: str) -> str:
    if problem.startswith("line "):
        problem = "baris " + problem.removeprefix("line ")
    for english, indonesian in SAYINGS:
        problem = problem.replace(english, indonesian)
    return problem


def _mapping(reader: SheetReader, form: Form) -> list[tuple[str, str]]:
    names = {e.code: f"unsur {e.name.id}" for e in form.elements}
    profile = {
        "sex": "jenis kelamin",
        "age": "usia",
        "education": "pendidikan",
        "occupation": "pekerjaan",
        "date": "tanggal",
        "suggestion": "saran",
    }
    found = []
    for _index, column in sorted(reader.columns.items()):
        target = column.target
        label = (
            profile.get(target.removeprefix("profile:"), target)
            if target.startswith("profile:")
            else names.get(target, target)
        )
        found.append((column.header, label))
    return found


def confirm(*, session: Session, unit: Unit, upload_id: str, actor: audit.Actor) -> tuple[int, int]:
    """Store every row of a checked upload in one transaction (nothing if any row is bad);
    returns (stored, already stored before). Commits, and forgets the upload."""
    kept = session.get(PaperUpload, upload_id)
    if (
        kept is None
        or kept.unit_id != unit.id
        or kept.user_id != actor.user_id
        or kept.created_at < datetime.now(UTC) - UPLOAD_KEPT
    ):
        raise NotFound("Unggahan ini tidak ditemukan atau sudah kedaluwarsa; unggah lagi.")
    preview = _check(session, unit, kept)
    if not preview.ok:
        raise AppError("Berkas masih bermasalah; tidak ada yang disimpan.")
    form, digest = _form_and_key(session, unit, kept)
    service = session.get(Service, kept.service_id) if kept.service_id else None
    today = datetime.now(unit.zone).date()
    inserted = duplicates = 0
    with _as_file(kept.content, kept.filename) as path:
        reader = open_sheet(path, form, strict=True)
        batch: list[intake.ResponseIn] = []
        for row, _ in reader.rows():
            assert row is not None  # checked above
            batch.append(_response(row, form, unit, digest, today))
            if len(batch) >= BATCH:
                inserted, duplicates = _store(session, unit, service, batch, inserted, duplicates)
                batch = []
        inserted, duplicates = _store(session, unit, service, batch, inserted, duplicates)
    audit.record_as(
        session=session,
        actor=actor,
        action="response.import",
        target=unit.code,
        unit_id=unit.id,
        detail=f"{kept.filename}: {inserted} disimpan, {duplicates} sudah ada",
    )
    session.delete(kept)
    session.commit()
    return inserted, duplicates


def _store(
    session: Session,
    unit: Unit,
    service: Service | None,
    batch: list[intake.ResponseIn],
    inserted: int,
    duplicates: int,
) -> tuple[int, int]:
    if not batch:
        return inserted, duplicates
    result = intake.record_responses(
        session=session,
        unit=unit,
        items=batch,
        channel="paper",
        service=service,
        strict_replay=True,
        commit=False,
    )
    return inserted + result.inserted, duplicates + result.duplicates


def profile_fields(form: Form) -> list[Mapping[str, Any]]:
    """The questionnaire's profile questions as the entry form shows them."""
    return [
        {
            "code": f.code,
            "label": f.label.id,
            "type": f.type,
            "options": [(o.value, o.label.id) for o in f.options],
            "min": f.min,
            "max": f.max,
        }
        for f in form.profile
    ]

"""Paper questionnaires: typed in one at a time (Enter saves and starts the next; the last
one can be undone), or uploaded as a CSV/XLSX sheet that is checked whole, with its column
mapping and every problem shown, before anything is stored."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app.console.deps import PostedForm, root_unit, visible_unit
from app.console.pages import HEADERS, ManagerPage, Page
from app.deps import ReadSession, WriteSession
from app.errors import AppError
from app.models import Unit
from app.services import org, paper
from app.services.dashboard import units_for_picker
from app.services.intake import ResponseIn
from app.services.questionnaires import unit_form

router = APIRouter(prefix="/console/kuesioner")

DONE = {
    "saved": "Tersimpan. Silakan isi kuesioner berikutnya.",
    "undone": "Entri terakhir dibatalkan dan tidak dihitung lagi.",
}


@router.get("")
def choose_unit(page: ManagerPage, session: ReadSession) -> HTMLResponse:
    units = units_for_picker(session=session, root=root_unit(session, page.identity))
    return page.render("paper_units.html", {"title": "Kuesioner kertas", "units": units})


def _entry_page(
    page: Page,
    session: Session,
    unit: Unit,
    *,
    ok: str | None = None,
    errors: dict[str, str] | None = None,
    form: FormData | None = None,
    status: int = 200,
    preview: paper.Preview | None = None,
    upload_error: str | None = None,
) -> HTMLResponse:
    questionnaire = unit_form(session=session, unit=unit)[1]
    context: dict[str, Any] = {
        "title": f"Kuesioner kertas: {unit.name}",
        "unit": unit,
        "elements": [(e.code, e.name.id) for e in questionnaire.elements],
        "profile": paper.profile_fields(questionnaire),
        "services": [s for s in org.list_services(session=session, unit=unit) if s.active],
        "today": datetime.now(unit.zone).date().isoformat(),
        "key": uuid.uuid4().hex,
        "count": paper.entered_today(session=session, unit=unit, actor=page.identity.actor),
        "ok": DONE.get(ok or ""),
        "errors": errors or {},
        "form": form or {},
        "preview": preview,
        "upload_error": upload_error,
    }
    return page.render("paper.html", context, status=status)


@router.get("/{code}")
def entry_form(
    code: str,
    page: ManagerPage,
    session: ReadSession,
    ok: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    return _entry_page(page, session, visible_unit(session, page.identity, code), ok=ok)


def _read_entry(
    form: FormData, unit: Unit, codes: list[str]
) -> tuple[ResponseIn | None, dict[str, str]]:
    errors: dict[str, str] = {}
    answers: dict[str, int | None] = {}
    for code in codes:
        text = str(form.get(f"a_{code}", "")).strip()
        if text in ("1", "2", "3", "4"):
            answers[code] = int(text)
        else:
            errors[f"a_{code}"] = "Isi angka 1, 2, 3 atau 4."
    when_text = str(form.get("date", "")).strip()
    try:
        when = date.fromisoformat(when_text)
        if when > datetime.now(unit.zone).date():
            errors["date"] = "Tanggal tidak boleh sesudah hari ini."
    except ValueError:
        errors["date"] = "Isi tanggal pengisian (tahun-bulan-hari)."
        when = None
    profile: dict[str, Any] = {}
    for name in ("sex", "education", "occupation"):
        value = str(form.get(name, "")).strip()
        profile[name] = value or None
    age_text = str(form.get("age", "")).strip()
    if age_text:
        if age_text.isdigit():
            profile["age"] = int(age_text)
        else:
            errors["age"] = "Usia diisi angka tahun."
    saran = str(form.get("suggestion", "")).strip() or None
    if errors or when is None:
        return None, errors
    key = str(form.get("key", ""))[:60] or uuid.uuid4().hex
    try:
        item = ResponseIn(
            idempotency_key=f"paper:{unit.id}:{key}",
            submitted_at=when,
            answers=answers,
            suggestion=saran,
            **profile,
        )
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors[name] = str(error["msg"]).removeprefix("Value error, ")
        return None, errors
    return item, {}


@router.post("/{code}")
def save_entry(code: str, page: ManagerPage, session: WriteSession, form: PostedForm) -> Response:
    unit = visible_unit(session, page.identity, code)
    codes = [e.code for e in unit_form(session=session, unit=unit)[1].elements]
    item, errors = _read_entry(form, unit, codes)
    service_code = str(form.get("service", "")).strip()
    service = (
        org.get_service(session=session, unit=unit, code=service_code) if service_code else None
    )
    if item is None:
        return _entry_page(page, session, unit, errors=errors, form=form, status=422)
    try:
        paper.enter(
            session=session, unit=unit, item=item, service=service, actor=page.identity.actor
        )
    except AppError as exc:
        session.rollback()
        return _entry_page(
            page, session, unit, errors={"form": exc.detail}, form=form, status=exc.status
        )
    return RedirectResponse(
        f"/console/kuesioner/{unit.code}?ok=saved", status_code=303, headers=HEADERS
    )


@router.post("/{code}/batal")
def undo(code: str, page: ManagerPage, session: WriteSession, form: PostedForm) -> Response:
    unit = visible_unit(session, page.identity, code)
    try:
        paper.undo_last(session=session, unit=unit, actor=page.identity.actor)
    except AppError as exc:
        session.rollback()
        return _entry_page(page, session, unit, errors={"form": exc.detail}, status=exc.status)
    return RedirectResponse(
        f"/console/kuesioner/{unit.code}?ok=undone", status_code=303, headers=HEADERS
    )


@router.post("/{code}/unggah")
async def upload_sheet(
    code: str, page: ManagerPage, session: WriteSession, form: PostedForm
) -> Response:
    unit = visible_unit(session, page.identity, code)
    sheet = form.get("sheet")
    if not isinstance(sheet, UploadFile) and not hasattr(sheet, "read"):
        return _entry_page(
            page, session, unit, upload_error="Pilih berkas CSV atau XLSX.", status=422
        )
    try:
        content = await sheet.read(paper.UPLOAD_MAX_BYTES + 1)  # type: ignore[union-attr]
    finally:
        await sheet.close()  # type: ignore[union-attr]
    filename = getattr(sheet, "filename", None) or "berkas.csv"
    # The checks read the whole sheet: off the event loop, as a sync route would run.
    return await run_in_threadpool(_check_upload, page, session, unit, form, filename, content)


def _check_upload(
    page: Page, session: Session, unit: Unit, form: FormData, filename: str, content: bytes
) -> Response:
    service_code = str(form.get("service", "")).strip()
    service = (
        org.get_service(session=session, unit=unit, code=service_code) if service_code else None
    )
    try:
        preview = paper.upload(
            session=session,
            unit=unit,
            service=service,
            filename=filename,
            content=content,
            actor=page.identity.actor,
        )
    except AppError as exc:
        session.rollback()
        return _entry_page(page, session, unit, upload_error=exc.detail, status=exc.status)
    return _entry_page(page, session, unit, preview=preview, status=200 if preview.ok else 422)


@router.post("/{code}/simpan")
def confirm_sheet(
    code: str, page: ManagerPage, session: WriteSession, form: PostedForm
) -> Response:
    unit = visible_unit(session, page.identity, code)
    try:
        stored, before = paper.confirm(
            session=session,
            unit=unit,
            upload_id=str(form.get("upload", ""))[:40],
            actor=page.identity.actor,
        )
    except AppError as exc:
        session.rollback()
        return _entry_page(page, session, unit, upload_error=exc.detail, status=exc.status)
    return page.render(
        "paper_done.html",
        {"title": "Unggahan disimpan", "unit": unit, "stored": stored, "before": before},
    )

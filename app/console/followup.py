"""The follow-up plan register (RTL): for a unit and period, the weak elements with the saran
that speak of them, the actions against them with status, notes and evidence, and how far the
completed actions cover the weak elements (the Zona Integritas item c)."""

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.console.deps import PostedForm, read_upload, visible_unit
from app.console.pages import (
    HEADERS,
    ManagerPage,
    Page,
    ViewerPage,
    last_quarter,
    period_or_default,
    unit_picker,
)
from app.console.results import period_options
from app.core.followup import STATUS_WORDS
from app.core.periods import Period, containing
from app.deps import ReadSession, WriteSession
from app.errors import AppError
from app.models import FOLLOWUP_STATUSES, Unit
from app.services import followup

router = APIRouter(prefix="/console/rtl")

DONE = {
    "added": "Kegiatan tindak lanjut ditambahkan.",
    "updated": "Kegiatan tindak lanjut diperbarui.",
}
# What staff read when a field is refused (the services' messages are the API's, in English).
PROBLEMS = {
    "elements": "Pilih paling sedikit satu unsur yang diperbaiki.",
    "action": "Isi kegiatan, paling panjang 1.000 karakter.",
    "responsible": "Isi penanggung jawab, paling panjang 200 karakter.",
    "evidence_url": "Tautan bukti harus berupa alamat yang diawali http:// atau https://.",
    "file": "Berkas bukti harus berupa foto (JPEG, PNG) atau PDF, paling besar 3 MB.",
    "note": "Catatan kemajuan paling panjang 500 karakter.",
    "status": "Pilih status rencana, proses atau selesai.",
    "period": "Periode tidak dikenal.",
}


@router.get("")
def choose_unit(page: ViewerPage, session: ReadSession) -> HTMLResponse:
    return unit_picker(
        page,
        session,
        title="Rencana tindak lanjut",
        target="/console/rtl",
        intro="Pilih unit untuk menyusun dan memantau rencana tindak lanjut (RTL) hasil survei.",
    )


def _page(
    page: Page,
    session: Session,
    unit: Unit,
    period: Period,
    *,
    ok: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    plan = followup.plan(session=session, unit=unit, period=period)
    ids = [a.id for a in plan.actions if a.id is not None]
    context: dict[str, Any] = {
        "title": f"Tindak lanjut: {unit.name}",
        "unit": unit,
        "period": period,
        "previous": period.previous(),
        "periods": period_options(containing(datetime.now(unit.zone).date(), "quarter")),
        "plan": plan,
        "evidence": followup.evidence_of(session, ids),
        "statuses": FOLLOWUP_STATUSES,
        "status_words": STATUS_WORDS,
        "weak_codes": {w.code for w in plan.weak},
        "target": (period.end + timedelta(days=60)).isoformat(),
        "ok": DONE.get(ok or ""),
        "error": error,
    }
    return page.render("followup.html", context, status=status)


@router.get("/{code}")
def register(
    code: str,
    page: ViewerPage,
    session: ReadSession,
    period: Annotated[str | None, Query(max_length=40)] = None,
    ok: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    unit = visible_unit(session, page.identity, code)
    chosen, message = period_or_default(period, last_quarter(unit))
    return _page(page, session, unit, chosen, ok=ok, error=message)


def _problem(exc: AppError) -> str:
    loc = getattr(exc, "loc", ())
    return PROBLEMS.get(str(loc[-1]), exc.detail) if loc else exc.detail


def _back(unit: Unit, period: str, ok: str) -> Response:
    return RedirectResponse(
        f"/console/rtl/{unit.code}?period={period}&ok={ok}", status_code=303, headers=HEADERS
    )


@router.post("/{code}")
def add_action(code: str, page: ManagerPage, session: WriteSession, form: PostedForm) -> Response:
    unit = visible_unit(session, page.identity, code)
    label = str(form.get("period", ""))
    period, _ = period_or_default(label, last_quarter(unit))
    try:
        target = date.fromisoformat(str(form.get("target_date", "")))
    except ValueError:
        return _page(page, session, unit, period, error="Isi tanggal target.", status=422)
    try:
        followup.create_action(
            session=session,
            unit=unit,
            period=label,
            elements=[str(v) for v in form.getlist("elements")],
            action=str(form.get("action", "")),
            responsible=str(form.get("responsible", "")),
            target_date=target,
            evidence_url=str(form.get("evidence_url", "")),
            actor=page.identity.actor,
        )
    except AppError as exc:
        session.rollback()
        return _page(page, session, unit, period, error=_problem(exc), status=exc.status)
    return _back(unit, period.label, "added")


@router.post("/{code}/{action_id}")
def update_action(
    code: str, action_id: int, page: ManagerPage, session: WriteSession, form: PostedForm
) -> Response:
    unit = visible_unit(session, page.identity, code)
    row = followup.get_action(session=session, unit=unit, action_id=action_id)
    period, _ = period_or_default(row.period, last_quarter(unit))
    upload = read_upload(form, "file", followup.EVIDENCE_MAX_BYTES + 1)
    try:
        # The file is checked before anything is written: a refused file changes nothing.
        evidence = followup.check_evidence(*upload) if upload else None
        link = form.get("evidence_url")
        followup.update_action(
            session=session,
            unit=unit,
            action_id=action_id,
            actor=page.identity.actor,
            status=str(form.get("status")) if form.get("status") else None,
            note=str(form.get("note", "")),
            evidence_url=str(link) if isinstance(link, str) and link.strip() else None,
        )
        if evidence is not None:
            followup.attach_evidence(
                session=session,
                unit=unit,
                action_id=action_id,
                evidence=evidence,
                actor=page.identity.actor,
            )
    except AppError as exc:
        session.rollback()
        return _page(page, session, unit, period, error=_problem(exc), status=exc.status)
    return _back(unit, period.label, "updated")


@router.get("/{code}/bukti/{evidence_id}")
def evidence_file(code: str, evidence_id: int, page: ViewerPage, session: ReadSession) -> Response:
    unit = visible_unit(session, page.identity, code)
    found = followup.get_evidence(session=session, unit=unit, evidence_id=evidence_id)
    return Response(
        found.content,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"', **HEADERS},
    )

"""Publishing results: a unit's figures for a period frozen for the public pages, revisions,
the results poster for the notice board (A4, A3) and the record that it hangs there."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.console.deps import PostedForm, read_upload, visible_unit
from app.console.pages import (
    HEADERS,
    ManagerPage,
    Page,
    ViewerPage,
    last_quarter,
    period_or_default,
    printable_base_url,
    unit_picker,
)
from app.console.results import WEIGHTS, period_options
from app.core import ikm
from app.core.periods import Period, containing
from app.deps import ReadSession, SettingsDep, WriteSession
from app.errors import AppError, InvalidInput, NotFound
from app.models import EvidenceFile, Unit
from app.services import followup, publication, results
from app.services.dashboard import element_names
from app.services.scopes import Scope

router = APIRouter(prefix="/console/publikasi")

DONE = {
    "published": "Hasil dipublikasikan. Halaman publik kini menampilkan angka ini.",
    "posted": "Poster hasil dicatat sudah dipasang.",
}
SIZES = ("a4", "a3")


@router.get("")
def choose_unit(page: ViewerPage, session: ReadSession) -> HTMLResponse:
    return unit_picker(
        page,
        session,
        title="Publikasi hasil",
        target="/console/publikasi",
        intro="Pilih unit yang hasilnya akan dipublikasikan atau dilihat riwayat publikasinya.",
    )


def _page(
    page: Page,
    session: Session,
    unit: Unit,
    period: Period,
    weight: str,
    *,
    ok: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    method = ikm.Method(weight)
    live = results.scope_ikm(session=session, scope=Scope(unit, period), method=method)
    standing = publication.current_of(session=session, unit=unit, period=period)
    since = (
        publication.since(session=session, unit=unit, publication=standing) if standing else None
    )
    context: dict[str, Any] = {
        "title": f"Publikasi: {unit.name}",
        "unit": unit,
        "period": period,
        "weight": weight,
        "weights": WEIGHTS,
        "periods": period_options(containing(datetime.now(unit.zone).date(), "quarter")),
        "live": live,
        "names": element_names(session=session, unit=unit),
        "standing": publication.read(standing) if standing else None,
        "since": since,
        "history": publication.history(session=session, unit=unit),
        "ok": DONE.get(ok or ""),
        "error": error,
    }
    return page.render("publication.html", context, status=status)


@router.get("/{code}")
def unit_publications(
    code: str,
    page: ViewerPage,
    session: ReadSession,
    period: Annotated[str | None, Query(max_length=40)] = None,
    weight: Annotated[str, Query(max_length=10)] = "exact",
    ok: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    unit = visible_unit(session, page.identity, code)
    chosen, message = period_or_default(period, last_quarter(unit))
    return _page(
        page, session, unit, chosen, weight if weight in WEIGHTS else "exact", ok=ok, error=message
    )


@router.post("/{code}")
def publish(code: str, page: ManagerPage, session: WriteSession, form: PostedForm) -> Response:
    unit = visible_unit(session, page.identity, code)
    weight = str(form.get("weight", "exact"))
    weight = weight if weight in WEIGHTS else "exact"
    text = str(form.get("period", ""))
    try:
        period = publication.publishable_period(text)
    except (ValueError, AppError):
        return _page(
            page,
            session,
            unit,
            last_quarter(unit),
            weight,
            error="Pilih tahun, semester, triwulan atau bulan yang akan dipublikasikan.",
            status=422,
        )
    try:
        publication.publish(
            session=session,
            unit=unit,
            period=period,
            method=ikm.Method(weight),
            actor=page.identity.actor,
        )
    except AppError as exc:
        session.rollback()
        error = (
            "Belum ada responden pada periode ini, sehingga belum ada hasil untuk dipublikasikan."
            if isinstance(exc, publication.NothingToPublish)
            else "Periode ini baru saja dipublikasikan oleh pengguna lain; muat ulang halaman."
            if exc.status == 409
            else exc.detail
        )
        return _page(page, session, unit, period, weight, error=error, status=exc.status)
    return RedirectResponse(
        f"/console/publikasi/{unit.code}?period={period.label}&weight={weight}&ok=published",
        status_code=303,
        headers=HEADERS,
    )


@router.get("/{code}/poster.pdf")
def results_poster(
    code: str,
    page: ViewerPage,
    session: ReadSession,
    settings: SettingsDep,
    period: Annotated[str, Query(max_length=40)],
    ukuran: Annotated[str, Query(max_length=2)] = "a4",
) -> Response:
    """The results poster of the standing publication of a period, A4 or A3."""
    unit = visible_unit(session, page.identity, code)
    if ukuran not in SIZES:
        raise InvalidInput("ukuran must be a4 or a3")
    found = publication.get(session=session, unit=unit, period=period)
    body = publication.results_poster(
        session=session, unit=unit, publication=found, base_url=printable_base_url(settings),
        size=ukuran,
    )  # fmt: skip
    name = f"poster-hasil-{unit.code}-{found.period}-{ukuran}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **HEADERS},
    )


def _photo(form: FormData) -> EvidenceFile | None:
    upload = read_upload(form, "photo", followup.EVIDENCE_MAX_BYTES + 1)
    return followup.check_evidence(*upload) if upload else None


@router.post("/{code}/terpasang")
def poster_posted(
    code: str, page: ManagerPage, session: WriteSession, form: PostedForm
) -> Response:
    unit = visible_unit(session, page.identity, code)
    label = str(form.get("period", ""))
    try:
        found = publication.get(session=session, unit=unit, period=label)
        publication.mark_poster_posted(
            session=session,
            unit=unit,
            publication=found,
            actor=page.identity.actor,
            photo=_photo(form),
        )
    except NotFound:
        raise
    except AppError as exc:
        session.rollback()
        period, _ = period_or_default(label, last_quarter(unit))
        return _page(page, session, unit, period, "exact", error=exc.detail, status=exc.status)
    return RedirectResponse(
        f"/console/publikasi/{unit.code}?period={found.period}&ok=posted",
        status_code=303,
        headers=HEADERS,
    )


@router.get("/{code}/foto/{photo_id}")
def poster_photo(code: str, photo_id: int, page: ViewerPage, session: ReadSession) -> Response:
    unit = visible_unit(session, page.identity, code)
    found = followup.get_evidence(session=session, unit=unit, evidence_id=photo_id)
    return Response(
        found.content,
        media_type=found.media_type,
        headers={"Content-Disposition": f'inline; filename="{found.filename}"', **HEADERS},
    )

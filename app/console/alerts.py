"""Alerts and webhooks: the alerts raised in the user's subtree (acknowledge, comment, close),
and for admins the webhook subscriptions that tell other systems of them, with the delivery
log of every try."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.console.deps import PostedForm, root_unit
from app.console.pages import HEADERS, AdminPage, ManagerPage, Page, ViewerPage
from app.deps import ReadSession, SettingsDep, WriteSession
from app.errors import AppError
from app.models import ALERT_STATUSES, Counter, Service, Unit
from app.services import alerts, org, webhooks

router = APIRouter(prefix="/console")

STATUS_WORDS = {"open": "Baru", "acknowledged": "Ditangani", "closed": "Selesai"}
KIND_WORDS = {"grade_drop": "Mutu turun", "element_d": "Unsur bermutu D"}
PAGE = 25
DONE = {"updated": "Peringatan diperbarui.", "deleted": "Langganan webhook dihapus."}


def _subtree(session: Session, page: Page) -> list[int]:
    root = root_unit(session, page.identity)
    return [u.id for u in org.subtree(session=session, unit=root) if u.id is not None]


def _alerts_page(
    page: Page,
    session: Session,
    status: str | None,
    *,
    halaman: int = 0,
    ok: str | None = None,
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    ids = _subtree(session, page)
    everything = alerts.listing(session=session, unit_ids=ids, status=status)
    found = everything[halaman * PAGE : (halaman + 1) * PAGE]
    units = {a.unit_id: session.get(Unit, a.unit_id) for a in found}
    places: dict[int, str] = {}
    for alert in found:
        where = []
        if alert.service_id:
            service = session.get(Service, alert.service_id)
            where.append(f"layanan {service.name}" if service else "")
        if alert.counter_id:
            counter = session.get(Counter, alert.counter_id)
            where.append(f"loket {counter.name}" if counter else "")
        places[alert.id or 0] = ", ".join(w for w in where if w)
    context: dict[str, Any] = {
        "title": "Peringatan",
        "alerts": found,
        "units": units,
        "places": places,
        "status": status,
        "total": len(everything),
        "halaman": halaman,
        "pages": (len(everything) + PAGE - 1) // PAGE,
        "statuses": ALERT_STATUSES,
        "status_words": STATUS_WORDS,
        "kind_words": KIND_WORDS,
        "ok": DONE.get(ok or ""),
        "error": error,
    }
    return page.render("alerts.html", context, status=code)


@router.get("/peringatan")
def alert_list(
    page: ViewerPage,
    session: ReadSession,
    status: Annotated[str | None, Query(max_length=15)] = None,
    ok: Annotated[str | None, Query(max_length=10)] = None,
    halaman: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> HTMLResponse:
    chosen = status if status in ALERT_STATUSES else None
    return _alerts_page(page, session, chosen, ok=ok, halaman=halaman)


@router.post("/peringatan/{alert_id}")
def alert_update(
    alert_id: int, page: ManagerPage, session: WriteSession, form: PostedForm
) -> Response:
    ids = _subtree(session, page)
    found = alerts.get(session=session, alert_id=alert_id, unit_ids=ids)
    try:
        alerts.update(
            session=session,
            alert=found,
            actor=page.identity.actor,
            status=str(form.get("status")) if form.get("status") else None,
            comment=str(form.get("comment", "")),
        )
    except AppError as exc:
        session.rollback()
        return _alerts_page(page, session, None, error=exc.detail, code=exc.status)
    return RedirectResponse("/console/peringatan?ok=updated", status_code=303, headers=HEADERS)


def _hooks_page(
    page: Page,
    session: Session,
    *,
    secret: str | None = None,
    ok: str | None = None,
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    hooks = webhooks.listing(session, _subtree(session, page))
    context: dict[str, Any] = {
        "title": "Webhook",
        "hooks": hooks,
        "logs": {h.id: webhooks.log(session, h, limit=10) for h in hooks},
        "units": {h.unit_id: session.get(Unit, h.unit_id) for h in hooks},
        "secret": secret,
        "ok": DONE.get(ok or ""),
        "error": error,
    }
    return page.render("webhooks.html", context, status=code)


@router.get("/webhook")
def hook_list(
    page: AdminPage, session: ReadSession, ok: Annotated[str | None, Query(max_length=10)] = None
) -> HTMLResponse:
    return _hooks_page(page, session, ok=ok)


@router.post("/webhook")
def hook_create(
    page: AdminPage, session: WriteSession, settings: SettingsDep, form: PostedForm
) -> HTMLResponse:
    try:
        _, secret = webhooks.create(
            session=session,
            unit=root_unit(session, page.identity),
            url=str(form.get("url", "")),
            actor=page.identity.actor,
            secret_key=settings.secret_key.get_secret_value(),
        )
    except AppError:
        session.rollback()
        return _hooks_page(
            page,
            session,
            error="Alamat webhook harus diawali http:// atau https://.",
            code=422,
        )
    return _hooks_page(page, session, secret=secret)


@router.post("/webhook/{webhook_id}/hapus")
def hook_delete(
    webhook_id: int, page: AdminPage, session: WriteSession, form: PostedForm
) -> Response:
    found = webhooks.get(session, webhook_id, _subtree(session, page))
    webhooks.deactivate(session=session, webhook=found, actor=page.identity.actor)
    return RedirectResponse("/console/webhook?ok=deleted", status_code=303, headers=HEADERS)

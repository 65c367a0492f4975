"""Organisation pages: the tree of the user's units, and each unit's set-up (its details and
place in the tree, services, counters with their QR codes and posters, populations). Managers
and admins change; viewers read. Every change goes through the org services, which record it
in the audit log as made by the signed-in user."""

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from app.console.deps import PostedForm, root_unit, visible_unit
from app.console.pages import HEADERS, ManagerPage, Page, ViewerPage, printable_base_url
from app.core.periods import parse_period
from app.deps import ReadSession, SettingsDep, WriteSession
from app.errors import AppError
from app.models import (
    TIME_ZONES,
    CounterCreate,
    CounterUpdate,
    ServiceCreate,
    ServiceUpdate,
    Unit,
    UnitCreate,
    UnitUpdate,
    zone_label,
)
from app.reports import qr
from app.services import org

router = APIRouter(prefix="/console/organisasi")

# Notices after a change, by key (the redirect names the key, never free text).
DONE = {
    "unit": "Data unit disimpan.",
    "child": "Unit baru ditambahkan.",
    "service": "Layanan ditambahkan.",
    "service-state": "Status layanan diubah.",
    "counter": "Loket ditambahkan.",
    "closed": "Survei loket ditutup: kode QR-nya kini menampilkan pesan bahwa survei ditutup.",
    "opened": "Survei loket dibuka kembali.",
    "rotated": "Tautan loket diganti. Cetak dan pasang poster baru: kode QR lama tidak berlaku.",
    "kiosk-on": "Loket kini mode kios (tablet di loket).",
    "kiosk-off": "Loket kini untuk telepon pengunjung (bukan kios).",
    "population": "Populasi disimpan.",
}
# The org services speak English (the API's and the CLI's language); staff read these.
SAYINGS = (
    (r"already has a counter '(.+)'", "Kode loket {0} sudah dipakai di unit ini."),
    (r"already has a service '(.+)'", "Kode layanan {0} sudah dipakai di unit ini."),
    (r"a unit with code '(.+)' already exists", "Kode unit {0} sudah dipakai."),
    (
        r"cannot move under itself",
        "Unit tidak dapat dipindahkan ke bawah dirinya sendiri atau ke bawah unit di bawahnya.",
    ),
    (r"unknown (?:service|counter|unit) code '(.+)'", "Kode {0} tidak dikenal."),
    (r"population must be", "Populasi harus antara 1 dan 100.000.000."),
)
FIELDS = {
    "code": "kode",
    "name": "nama",
    "address": "alamat",
    "time_zone": "zona waktu",
    "service_code": "layanan",
    "parent_code": "unit induk",
}


@router.get("")
def tree(page: ViewerPage, session: ReadSession) -> HTMLResponse:
    root = root_unit(session, page.identity)
    rows = org.subtree_with_depth(session, root)
    return page.render("organisation.html", {"title": "Organisasi", "rows": rows})


def _unit_page(
    page: Page,
    session: Session,
    unit: Unit,
    *,
    ok: str | None = None,
    error: str | None = None,
    status: int = 200,
    form: FormData | None = None,
) -> HTMLResponse:
    root = root_unit(session, page.identity)
    below = {u.id for u in org.subtree(session=session, unit=unit)}
    parents = [(u, d) for u, d in org.subtree_with_depth(session, root) if u.id not in below]
    counters = org.list_counters(session=session, unit=unit)
    services = org.list_services(session=session, unit=unit)
    base = page.settings.public_base_url
    context: dict[str, Any] = {
        "title": f"Pengaturan {unit.name}",
        "unit": unit,
        "zone": zone_label(unit.time_zone),
        "zones": list(TIME_ZONES),
        "parents": parents,
        "is_root": unit.id == root.id,
        "children": org.children(session=session, unit=unit),
        "services": services,
        "service_names": {s.id: s.name for s in services},
        "counters": [(c, qr.survey_url(base, c.token)) for c in counters],
        "populations": org.populations(session=session, unit=unit),
        "can_change": page.identity.may("manager"),
        "ok": DONE.get(ok or ""),
        "error": error,
        "form": form or {},
    }
    return page.render("organisation_unit.html", context, status=status)


@router.get("/{code}")
def unit_setup(
    code: str,
    page: ViewerPage,
    session: ReadSession,
    ok: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return _unit_page(page, session, visible_unit(session, page.identity, code), ok=ok)


def _change(
    page: Page,
    session: Session,
    code: str,
    form: FormData,
    done: str | Callable[[Unit], str],
    action: Callable[[Unit], object],
) -> Response:
    """Run one change on a unit of the user's subtree: 303 back with a notice, or the page
    again with the problem (422/409) and nothing written."""
    unit = visible_unit(session, page.identity, code)
    try:
        action(unit)
    except ValidationError as exc:
        session.rollback()
        fields = sorted(
            {FIELDS.get(str(item["loc"][-1]), str(item["loc"][-1])) for item in exc.errors()}
        )
        problems = (
            f"Isian belum sah: {', '.join(fields)}. Kode memakai huruf, angka dan tanda hubung."
        )
        return _unit_page(page, session, unit, error=problems, status=422, form=form)
    except AppError as exc:
        session.rollback()
        return _unit_page(
            page, session, unit, error=in_indonesian(exc.detail), status=exc.status, form=form
        )
    key = done(unit) if callable(done) else done
    return RedirectResponse(
        f"/console/organisasi/{unit.code}?ok={key}", status_code=303, headers=HEADERS
    )


def in_indonesian(detail: str) -> str:
    for pattern, saying in SAYINGS:
        found = re.search(pattern, detail)
        if found:
            return saying.format(*found.groups())
    return detail


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


@router.post("/{code}/unit")
def edit_unit(code: str, page: ManagerPage, session: WriteSession, form: PostedForm) -> Response:
    def action(unit: Unit) -> None:
        changes: dict[str, Any] = {
            "name": _text(form, "name"),
            "address": _text(form, "address"),
            "time_zone": _text(form, "time_zone"),
            "active": form.get("active") == "on",
        }
        parent = _text(form, "parent")
        if parent and unit.id != page.identity.unit_id:
            visible_unit(session, page.identity, parent)  # 404 outside the subtree
            changes["parent_code"] = parent
        org.update_unit(
            session=session,
            unit=unit,
            data=UnitUpdate(**{k: v for k, v in changes.items() if v is not None}),
            actor=page.identity.actor,
        )

    return _change(page, session, code, form, "unit", action)


@router.post("/{code}/anak")
def add_child(code: str, page: ManagerPage, session: WriteSession, form: PostedForm) -> Response:
    def action(unit: Unit) -> None:
        data = UnitCreate(
            code=_text(form, "child_code") or "",
            name=_text(form, "child_name") or "",
            parent_code=unit.code,
        )
        org.create_unit(session=session, data=data, actor=page.identity.actor)

    return _change(page, session, code, form, "child", action)


@router.post("/{code}/layanan")
def add_service(code: str, page: ManagerPage, session: WriteSession, form: PostedForm) -> Response:
    def action(unit: Unit) -> None:
        data = ServiceCreate(
            unit_code=unit.code,
            code=_text(form, "service_code") or "",
            name=_text(form, "service_name") or "",
        )
        org.create_service(session=session, data=data, actor=page.identity.actor)

    return _change(page, session, code, form, "service", action)


@router.post("/{code}/layanan/{service}")
def service_state(
    code: str, service: str, page: ManagerPage, session: WriteSession, form: PostedForm
) -> Response:
    def action(unit: Unit) -> None:
        found = org.get_service(session=session, unit=unit, code=service)
        org.update_service(
            session=session,
            service=found,
            data=ServiceUpdate(active=form.get("active") == "on"),
            actor=page.identity.actor,
        )

    return _change(page, session, code, form, "service-state", action)


@router.post("/{code}/loket")
def add_counter(code: str, page: ManagerPage, session: WriteSession, form: PostedForm) -> Response:
    def action(unit: Unit) -> None:
        data = CounterCreate(
            unit_code=unit.code,
            code=_text(form, "counter_code") or "",
            name=_text(form, "counter_name") or "",
            service_code=_text(form, "counter_service"),
            kiosk=form.get("kiosk") == "on",
        )
        org.create_counter(session=session, data=data, actor=page.identity.actor)

    return _change(page, session, code, form, "counter", action)


COUNTER_ACTIONS = {
    "close": ("closed", CounterUpdate(active=False)),
    "open": ("opened", CounterUpdate(active=True)),
    "kiosk-on": ("kiosk-on", CounterUpdate(kiosk=True)),
    "kiosk-off": ("kiosk-off", CounterUpdate(kiosk=False)),
}


@router.post("/{code}/loket/{counter}")
def counter_action(
    code: str, counter: str, page: ManagerPage, session: WriteSession, form: PostedForm
) -> Response:
    chosen = _text(form, "action") or ""

    def action(unit: Unit) -> None:
        found = org.get_counter(session=session, unit=unit, code=counter)
        if chosen == "rotate":
            if form.get("confirm") != "on":
                raise AppError(
                    "Centang konfirmasi dulu: setelah tautan diganti, kode QR yang sudah "
                    "tercetak tidak berlaku lagi."
                )
            org.rotate_counter_token(session=session, counter=found, actor=page.identity.actor)
            return
        if chosen not in COUNTER_ACTIONS:
            raise AppError(f"Tindakan tidak dikenal: {chosen!r}.")
        org.update_counter(
            session=session,
            counter=found,
            data=COUNTER_ACTIONS[chosen][1],
            actor=page.identity.actor,
        )

    done = "rotated" if chosen == "rotate" else COUNTER_ACTIONS.get(chosen, ("", None))[0]
    return _change(page, session, code, form, done, action)


@router.post("/{code}/populasi")
def population(code: str, page: ManagerPage, session: WriteSession, form: PostedForm) -> Response:
    def action(unit: Unit) -> None:
        try:
            period = parse_period(_text(form, "period") or "")
        except ValueError as exc:
            raise AppError(f"Periode tidak dikenal: {exc}") from None
        text = _text(form, "population") or ""
        if not text.isdigit():
            raise AppError("Populasi harus bilangan bulat positif.")
        org.set_population(
            session=session,
            unit=unit,
            period=period,
            population=int(text),
            actor=page.identity.actor,
        )

    return _change(page, session, code, form, "population", action)


@router.get("/{code}/poster.pdf")
def posters(
    code: str,
    page: ViewerPage,
    session: ReadSession,
    settings: SettingsDep,
    loket: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """One A5 poster per active counter of the unit (or the one ``loket``), in one PDF."""
    unit = visible_unit(session, page.identity, code)
    counter = org.get_counter(session=session, unit=unit, code=loket) if loket else None
    found = org.posters(
        session=session, unit=unit, counter=counter, base_url=printable_base_url(settings)
    )
    name = f"poster-{unit.code}{'-' + loket if loket else ''}.pdf"
    return Response(
        qr.posters_pdf(found),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **HEADERS},
    )


@router.get("/{code}/loket/{counter}/qr.{image}")
def counter_qr(
    code: str,
    counter: str,
    image: str,
    page: ViewerPage,
    session: ReadSession,
    settings: SettingsDep,
) -> Response:
    if image not in ("png", "svg"):
        raise AppError("Format kode QR: png atau svg.")
    unit = visible_unit(session, page.identity, code)
    found = org.get_counter(session=session, unit=unit, code=counter)
    url = qr.survey_url(printable_base_url(settings), found.token)
    body, media = (
        (qr.qr_png(url), "image/png") if image == "png" else (qr.qr_svg(url), "image/svg+xml")
    )
    name = f"qr-{unit.code}-{found.code}.{image}"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"', **HEADERS},
    )

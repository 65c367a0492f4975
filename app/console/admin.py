"""Admin pages (the Bagian Organisasi): staff accounts, API keys and the audit log of the
admin's part of the organisation."""

import secrets
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select
from starlette.datastructures import FormData

from app.console.deps import PostedForm, root_unit, visible_unit
from app.console.pages import HEADERS, AdminPage, Page
from app.deps import ReadSession, WriteSession
from app.errors import AppError, NotFound
from app.models import SCOPES, ApiKey, StaffUser, Unit
from app.services import accounts, apikeys, audit
from app.services.dashboard import units_for_picker

router = APIRouter(prefix="/console")

ROLE_WORDS = {
    "admin": "admin (seluruh unit di bawahnya, termasuk pengguna dan kunci API)",
    "manager": "manager (mengelola unit, loket, kuesioner kertas, laporan)",
    "viewer": "viewer (hanya melihat)",
}
SCOPE_WORDS = {
    "ikm:read": "membaca IKM dan laporan",
    "responses:read": "membaca data responden",
    "responses:write": "mengirim respons",
    "admin": "mengelola unit dan loket",
}
ACTION_WORDS = {
    "user.create": "membuat akun",
    "user.login": "masuk",
    "user.disable": "menonaktifkan akun",
    "user.enable": "mengaktifkan akun",
    "user.role": "mengubah peran",
    "user.reset_password": "mengganti kata sandi",
    "apikey.create": "membuat kunci API",
    "apikey.revoke": "mencabut kunci API",
    "unit.create": "menambah unit",
    "unit.update": "mengubah unit",
    "service.create": "menambah layanan",
    "service.update": "mengubah layanan",
    "counter.create": "menambah loket",
    "counter.update": "mengubah loket",
    "counter.rotate": "mengganti tautan loket",
    "population.set": "mencatat populasi",
    "response.paper": "memasukkan kuesioner kertas",
    "response.undo": "membatalkan entri kertas",
    "response.import": "mengunggah kuesioner",
}
DONE = {
    "created": "Akun dibuat.",
    "role": "Peran diubah.",
    "disabled": "Akun dinonaktifkan; sesinya berakhir.",
    "enabled": "Akun diaktifkan.",
    "password": "Kata sandi diganti; sesi lama berakhir.",
    "revoked": "Kunci API dicabut; kunci itu tidak berlaku lagi.",
}


def _users_page(
    page: Page,
    session: Session,
    *,
    ok: str | None = None,
    error: str | None = None,
    shown_password: str | None = None,
    form: FormData | None = None,
    status: int = 200,
) -> HTMLResponse:
    root = root_unit(session, page.identity)
    context: dict[str, Any] = {
        "title": "Pengguna",
        "users": accounts.list_users(session=session, root=root),
        "units": units_for_picker(session=session, root=root),
        "roles": ROLE_WORDS,
        "ok": DONE.get(ok or ""),
        "error": error,
        "shown_password": shown_password,
        "form": form or {},
    }
    return page.render("users.html", context, status=status)


@router.get("/pengguna")
def users(
    page: AdminPage, session: ReadSession, ok: Annotated[str | None, Query(max_length=20)] = None
) -> HTMLResponse:
    return _users_page(page, session, ok=ok)


def _user_in_subtree(session: Session, page: Page, email: str) -> StaffUser:
    user = session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()
    if user is None:
        raise NotFound("akun tidak ditemukan")
    visible_unit_id(session, page, user.unit_id)
    return user


def visible_unit_id(session: Session, page: Page, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    return accounts.visible_unit(session=session, identity=page.identity, unit=unit)


@router.post("/pengguna")
def create_user(page: AdminPage, session: WriteSession, form: PostedForm) -> Response:
    password = str(form.get("password", "")).strip()
    generated = not password
    if generated:
        password = secrets.token_urlsafe(12)
    try:
        unit = visible_unit(session, page.identity, str(form.get("unit", "")))
        accounts.create_user(
            session=session,
            email=str(form.get("email", "")),
            password=password,
            role=str(form.get("role", "")),
            unit=unit,
            actor=page.identity.email,
            actor_id=page.identity.user_id,
        )
    except AppError as exc:
        session.rollback()
        if isinstance(exc, NotFound):
            raise
        return _users_page(page, session, error=exc.detail, form=form, status=exc.status)
    if generated:
        return _users_page(page, session, ok="created", shown_password=password)
    return RedirectResponse("/console/pengguna?ok=created", status_code=303, headers=HEADERS)


@router.post("/pengguna/ubah")
def change_user(page: AdminPage, session: WriteSession, form: PostedForm) -> Response:
    user = _user_in_subtree(session, page, str(form.get("email", "")))
    action = str(form.get("action", ""))
    me = user.id == page.identity.user_id
    actor: dict[str, Any] = {"actor": page.identity.email, "actor_id": page.identity.user_id}
    try:
        if action == "role":
            if me:
                raise AppError("Anda tidak dapat mengubah peran akun Anda sendiri.")
            accounts.set_role(session=session, user=user, role=str(form.get("role", "")), **actor)
            done = "role"
        elif action in ("disable", "enable"):
            if me:
                raise AppError("Anda tidak dapat menonaktifkan akun Anda sendiri.")
            accounts.set_active(session=session, user=user, active=action == "enable", **actor)
            done = "enabled" if action == "enable" else "disabled"
        elif action == "password":
            password = secrets.token_urlsafe(12)
            accounts.reset_password(session=session, user=user, password=password, **actor)
            return _users_page(page, session, ok="password", shown_password=password)
        else:
            raise AppError(f"Tindakan tidak dikenal: {action!r}.")
    except AppError as exc:
        session.rollback()
        return _users_page(page, session, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/console/pengguna?ok={done}", status_code=303, headers=HEADERS)


def _keys_page(
    page: Page,
    session: Session,
    *,
    ok: str | None = None,
    error: str | None = None,
    created: tuple[ApiKey, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    root = root_unit(session, page.identity)
    keys = apikeys.list_keys(session=session, root=root)
    units = {u.id: u for u, _ in units_for_picker(session=session, root=root)}
    context: dict[str, Any] = {
        "title": "Kunci API",
        "keys": [(k, units.get(k.unit_id)) for k in keys],
        "units": units_for_picker(session=session, root=root),
        "scopes": {s: SCOPE_WORDS[s] for s in SCOPES},
        "ok": DONE.get(ok or ""),
        "error": error,
        "created": created,
    }
    return page.render("apikeys.html", context, status=status)


@router.get("/kunci-api")
def keys(
    page: AdminPage, session: ReadSession, ok: Annotated[str | None, Query(max_length=20)] = None
) -> HTMLResponse:
    return _keys_page(page, session, ok=ok)


@router.post("/kunci-api")
def create_key(page: AdminPage, session: WriteSession, form: PostedForm) -> Response:
    unit = visible_unit(session, page.identity, str(form.get("unit", "")))
    expires_text = str(form.get("expires", "")).strip()
    try:
        try:
            expires = date.fromisoformat(expires_text) if expires_text else None
        except ValueError:
            raise AppError("Tanggal kedaluwarsa tidak sah.") from None
        created = apikeys.create_key(
            session=session,
            name=str(form.get("name", "")),
            scopes=[str(s) for s in form.getlist("scope")],
            unit_code=unit.code,
            expires=expires,
            actor=page.identity.actor,
        )
    except AppError as exc:
        session.rollback()
        return _keys_page(page, session, error=exc.detail, status=exc.status)
    # The plaintext is on this page only (never cached, never stored): it is shown once.
    return _keys_page(page, session, created=created)


@router.post("/kunci-api/cabut")
def revoke_key(page: AdminPage, session: WriteSession, form: PostedForm) -> Response:
    prefix = str(form.get("prefix", ""))[:20]
    root = root_unit(session, page.identity)
    if prefix not in {k.prefix for k in apikeys.list_keys(session=session, root=root)}:
        raise NotFound("kunci API tidak ditemukan")
    if form.get("confirm") != "on":
        return _keys_page(
            page,
            session,
            error="Centang konfirmasi dulu: aplikasi yang memakai kunci ini "
            "akan berhenti mendapat akses.",
            status=400,
        )
    apikeys.revoke_key(session=session, prefix=prefix, actor=page.identity.actor)
    return RedirectResponse("/console/kunci-api?ok=revoked", status_code=303, headers=HEADERS)


@router.get("/audit")
def audit_log(
    page: AdminPage,
    session: ReadSession,
    aksi: Annotated[str, Query(max_length=40)] = "",
    oleh: Annotated[str, Query(max_length=254)] = "",
    halaman: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> HTMLResponse:
    root = root_unit(session, page.identity)
    entries, more = audit.page_of(
        session=session, root=root, action=aksi or None, actor=oleh or None, page=halaman
    )
    zone = root.zone
    context = {
        "title": "Log audit",
        "entries": [(e, e.at.astimezone(zone)) for e in entries],
        "zone": root.time_zone,
        "words": ACTION_WORDS,
        "aksi": aksi,
        "oleh": oleh,
        "halaman": halaman,
        "more": more,
    }
    return page.render("audit.html", context)

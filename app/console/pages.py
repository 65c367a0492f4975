"""Rendering console pages: the templates with their filters (decimal commas, periods in
words), the context every page gets (the user, the CSRF token, the menu), and the error pages.
Routes take a :data:`Page` and call ``page.render(...)``."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from app.config import Settings
from app.console.deps import NotAllowed, Staff, login_url, root_unit
from app.core.periods import Period, containing, long_date, parse_period, period_text, shift
from app.deps import SettingsDep
from app.errors import LocalBaseUrl
from app.models import Unit
from app.reports.wording import number
from app.services import accounts, org
from app.services.accounts import StaffIdentity
from app.services.dashboard import units_for_picker

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["num"] = number
templates.env.filters["period_text"] = period_text
templates.env.filters["long_date"] = long_date
templates.env.filters["thousands"] = lambda n: f"{n:,}".replace(",", ".")

# The menu: (path, label, the role it needs).
MENU = (
    ("/console", "Ringkasan", "viewer"),
    ("/console/organisasi", "Organisasi", "viewer"),
    ("/console/kuesioner", "Kuesioner kertas", "manager"),
    ("/console/laporan", "Laporan", "viewer"),
    ("/console/publikasi", "Publikasi", "viewer"),
    ("/console/rtl", "Tindak lanjut", "viewer"),
    ("/console/zi", "Zona Integritas", "viewer"),
    ("/console/peringatan", "Peringatan", "viewer"),
    ("/console/pengguna", "Pengguna", "admin"),
    ("/console/kunci-api", "Kunci API", "admin"),
    ("/console/webhook", "Webhook", "admin"),
    ("/console/audit", "Log audit", "admin"),
)
# Console pages show who is signed in and carry CSRF tokens: never cached, never framed.
HEADERS = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class Page:
    """A console page being answered: who asks, and how to render for them."""

    request: Request
    identity: StaffIdentity
    settings: Settings

    @property
    def csrf(self) -> str:
        return accounts.csrf_token(
            secret=self.settings.secret_key.get_secret_value(), identity=self.identity
        )

    def render(
        self, template: str, context: Mapping[str, Any] | None = None, status: int = 200
    ) -> HTMLResponse:
        full = {
            "user": self.identity,
            "csrf": self.csrf,
            "menu": [(p, label) for p, label, role in MENU if self.identity.may(role)],
            "here": self.request.url.path,
            **(context or {}),
        }
        return templates.TemplateResponse(
            self.request, template, full, status_code=status, headers=HEADERS
        )


def page(request: Request, identity: Staff, settings: SettingsDep) -> Page:
    return Page(request=request, identity=identity, settings=settings)


def page_for(required: str) -> object:
    """A dependency: the page, for a user whose role holds ``required``'s rights."""

    def dependency(request: Request, identity: Staff, settings: SettingsDep) -> Page:
        if not identity.may(required):
            raise NotAllowed("Peran Anda tidak mengizinkan tindakan ini.")
        return Page(request=request, identity=identity, settings=settings)

    return Depends(dependency)


ViewerPage = Annotated[Page, Depends(page)]
ManagerPage = Annotated[Page, page_for("manager")]
AdminPage = Annotated[Page, page_for("admin")]


def period_or_default(text: str | None, default: Period) -> tuple[Period, str | None]:
    """The period a page's ``?period=`` names, or ``default``; with a message when the text
    cannot be read (the page then shows the default and says why)."""
    if not text:
        return default, None
    try:
        return parse_period(text), None
    except ValueError:
        return default, f"Periode {text!r} tidak dikenal; ditampilkan {period_text(default)}."


ERROR_HEADINGS = {
    401: "Silakan masuk",
    403: "Tidak diizinkan",
    404: "Halaman tidak ditemukan",
    405: "Metode tidak diizinkan",
    409: "Tidak dapat dilakukan",
    413: "Berkas terlalu besar",
    422: "Isian perlu diperbaiki",
    429: "Terlalu banyak permintaan",
    503: "Layanan sedang tidak tersedia",
}
ERROR_BODIES = {
    404: "Halaman atau unit ini tidak ada, atau berada di luar wilayah kerja akun Anda.",
    405: "Alamat ini tidak menerima permintaan seperti itu.",
    503: "Basis data sedang tidak dapat dihubungi. Mohon coba beberapa saat lagi.",
}


def error_page(request: Request, status: int, detail: str | None = None) -> HTMLResponse:
    """A console error in Bahasa Indonesia, with a way back. Rendered without the user's
    menu: the error may be that there is no valid user."""
    context = {
        "heading": ERROR_HEADINGS.get(status, "Terjadi kesalahan"),
        "body": ERROR_BODIES.get(status) or detail or "Permintaan tidak dapat diproses.",
        "login": login_url(request) if status == 401 else None,
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=status, headers=HEADERS
    )


LOCAL_URL = (
    "Kode QR dan poster belum dapat dicetak: alamat publik layanan (SKM_PUBLIC_BASE_URL) masih "
    "alamat komputer ini, sehingga telepon pengunjung tidak dapat membukanya. Minta pengelola "
    "server mengatur SKM_PUBLIC_BASE_URL ke alamat yang dapat dijangkau telepon."
)


def printable_base_url(settings: Settings) -> str:
    """The public address to print in QR codes and posters; refused (409, in words staff can
    act on) while it is this computer's own address."""
    try:
        return org.printable_base_url(
            base_url=settings.public_base_url,
            allow_local=settings.allow_local_base_url,
            to_allow="SKM_ALLOW_LOCAL_BASE_URL=true",
        )
    except LocalBaseUrl:
        raise LocalBaseUrl(LOCAL_URL) from None


def unit_picker(
    page: Page, session: Session, *, title: str, target: str, intro: str
) -> HTMLResponse:
    """The first page of a per-unit task: the units of the user's subtree as links to
    ``target/{code}``."""
    units = units_for_picker(session=session, root=root_unit(session, page.identity))
    context = {"title": title, "units": units, "target": target, "intro": intro}
    return page.render("unit_picker.html", context)


def last_quarter(unit: Unit) -> Period:
    """The quarter just finished in the unit's time zone: what a unit publishes and follows up
    at the start of the next one."""
    return shift(containing(datetime.now(unit.zone).date(), "quarter"), -1)

"""Rendering the public pages: templates with the console's number filters, and answers that
carry an ETag (the hash of the body) so a repeated request is answered 304 without a body."""

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from app.caching import with_etag
from app.core.periods import long_date, period_text
from app.errors import NotFound
from app.models import Unit
from app.reports.wording import number
from app.services import org

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["num"] = number
templates.env.filters["period_text"] = period_text
templates.env.filters["long_date"] = long_date
templates.env.filters["thousands"] = lambda n: f"{n:,}".replace(",", ".")

# Published figures change only when staff publish: a minute's caching spares the database,
# and the ETag lets a browser or proxy revalidate for nothing after that.
CACHE = "public, max-age=60"


def cached(
    request: Request, body: bytes, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    """``body`` with its ETag and the public caching rule, or 304 when the client holds it."""
    return with_etag(request, body, media_type, {"Cache-Control": CACHE, **(headers or {})})


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """A public page, rendered then answered with its ETag (an error page is not cached)."""
    body = templates.get_template(template).render({"request": request, **context}).encode()
    if status != 200:
        return Response(body, status_code=status, media_type="text/html; charset=utf-8")
    return cached(request, body, "text/html; charset=utf-8")


def public_unit(session: Session, code: str) -> Unit:
    """An active unit by code; a closed or unknown one is 404 to the public."""
    try:
        unit = org.get_unit(session=session, code=code)
    except NotFound:
        raise NotFound("unit tidak ditemukan") from None
    if not unit.active:
        raise NotFound("unit tidak ditemukan")
    return unit


def is_public_page(path: str) -> bool:
    """A public HTML page (not its open data): errors there are pages, not JSON."""
    return (path == "/hasil" or path.startswith(("/hasil/", "/papan/"))) and not path.endswith(
        (".json", ".csv")
    )


ERRORS = {
    404: ("Halaman tidak ditemukan", "Unit atau periode ini tidak ada, atau belum dipublikasikan."),
    503: ("Layanan sedang tidak tersedia", "Mohon coba beberapa saat lagi."),
}


def error_page(request: Request, status: int) -> Response:
    heading, body = ERRORS.get(status, ("Permintaan tidak dapat diproses", "Periksa alamatnya."))
    context = {"title": heading, "heading": heading, "body": body}
    return page(request, "error.html", context, status=status)

"""Signing in and out of the console."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.console.deps import SESSION_COOKIE, PostedForm, Staff, secure_cookie
from app.console.pages import HEADERS, templates
from app.deps import DatabaseDep, SettingsDep
from app.errors import AppError
from app.services import accounts, citizen

router = APIRouter(prefix="/console")


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console"


def _login_page(
    request: Request, *, next_path: str, email: str = "", error: str | None = None, status: int
) -> HTMLResponse:
    context = {"next": next_path, "email": email, "error": error}
    return templates.TemplateResponse(
        request, "login.html", context, status_code=status, headers=HEADERS
    )


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next_path=_safe_next(next), status=200)


@router.post("/login")
async def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=300)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console",
) -> Response:
    next_path = _safe_next(next)
    secret = settings.secret_key.get_secret_value()
    now = datetime.now(UTC)
    try:
        # No session yet, so no CSRF token: a login posted from another site is refused by
        # what the browser says of its origin.
        citizen.check_origin(
            fetch_site=request.headers.get("sec-fetch-site"),
            origin=request.headers.get("origin"),
            allowed=(str(request.url), settings.public_base_url),
        )
        address = citizen.client_ip(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            settings.trusted_proxies,
        )
        client = citizen.client_bucket(secret, address, now)

        def run() -> str:
            with database.session(write=True) as session:
                _user, token = accounts.log_in(
                    session=session,
                    email=email,
                    password=password,
                    client=client,
                    secret=secret,
                    now=now,
                )
                return token

        token = await run_in_threadpool(run)
    except AppError as exc:
        status = exc.status if exc.status in (401, 403, 429) else 400
        return _login_page(
            request, next_path=next_path, email=email[:254], error=exc.detail, status=status
        )
    response = RedirectResponse(next_path, status_code=303, headers=HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(accounts.ABSOLUTE.total_seconds()),
        path="/console",
        httponly=True,
        samesite="lax",
        secure=secure_cookie(settings),
    )
    return response


@router.post("/logout")
def logout(identity: Staff, _form: PostedForm, database: DatabaseDep) -> Response:
    with database.session(write=True) as session:
        accounts.log_out(session=session, identity=identity)
    response = RedirectResponse("/console/login", status_code=303, headers=HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response

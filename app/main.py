"""The FastAPI application: health, OpenAPI and its /docs, the error envelope, security
headers and an access log without citizens' addresses (app/access_log.py)."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import access_log, deps
from app.api import docs
from app.api import router as api_router
from app.citizen.routes import router as citizen_router
from app.citizen.routes import unavailable_page
from app.config import get_settings, settings_problem
from app.console import router as console_router
from app.console.deps import LoginRequired
from app.console.pages import error_page
from app.db import get_database
from app.deps import DatabaseDep
from app.errors import (
    AppError,
    InvalidInput,
    Unavailable,
    validation_items,
    validation_summary,
)
from app.public import router as public_router
from app.public.pages import error_page as public_error_page
from app.public.pages import is_public_page
from app.services import jobs

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The citizen pages (the landing page and the surveys): no scripts at all, inline styles,
# forms back to this site only. A survey page is never cached: it carries a one-time token.
PAGE_POLICY = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
SURVEY_HEADERS = {**PAGE_POLICY, "Cache-Control": "no-store"}
# The staff console: its own stylesheet and pictures only, no scripts, forms back to itself.
CONSOLE_POLICY = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


CONSOLE_STATIC = Path(__file__).parent / "console" / "static"

logger = logging.getLogger(__name__)

# The database is down, restarting or out of pooled connections: a moment later the same
# request may succeed, so the client hears 503 and when to retry, never a bare 500.
UNREACHABLE = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
)
RETRY_AFTER_SECONDS = 5
# The methods a 405's Allow header may name (RFC 9110 section 15.5.6).
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def _error(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _is_console(request: Request) -> bool:
    return request.url.path == "/console" or request.url.path.startswith("/console/")


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if _is_console(request):
        if isinstance(exc, LoginRequired):
            return RedirectResponse(exc.next_path, status_code=303)
        return error_page(request, exc.status, exc.detail)
    if is_public_page(request.url.path):
        return public_error_page(request, exc.status)
    # RFC 9110: a 401 names the scheme that would be accepted, a 503 when to come back.
    headers = {
        401: {"WWW-Authenticate": "Bearer"},
        503: {"Retry-After": str(RETRY_AFTER_SECONDS)},
    }.get(exc.status)
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    items = validation_items(exc.errors())
    if _is_console(request):
        return error_page(request, 422, validation_summary(items))
    body = {"error": "validation_error", "detail": validation_summary(items), "errors": items}
    return JSONResponse(body, status_code=422)


async def _data_error(request: Request, exc: Exception) -> Response:
    # PostgreSQL refuses some text SQLite stores (a NUL character); only client input carries
    # such values, so this is the client's 422, and the transaction has rolled back.
    assert isinstance(exc, DataError)
    refused = InvalidInput("a value cannot be stored (text may not contain a NUL character)")
    return await _app_error(request, refused)


async def _database_unreachable(request: Request, exc: Exception) -> Response:
    # The statement and its parameters stay out of the log line (they may be citizens' text).
    orig = getattr(exc, "orig", None)
    logger.warning("database unreachable: %s", type(orig or exc).__name__)
    if request.url.path.startswith("/api/"):
        unavailable = Unavailable("the database is not reachable; try again shortly")
        return await _app_error(request, unavailable)
    if _is_console(request):
        page = error_page(request, 503)
        page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return page
    return unavailable_page(request, {"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    if _is_console(request):
        page = error_page(request, exc.status_code, str(exc.detail))
        page.headers.update(headers)
        return page
    return _error(exc.status_code, code, str(exc.detail), headers)


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to: the router names only the first route matching the
    path, though a path such as /s/{token} has one route for GET and another for POST."""
    scope = request.scope
    path = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", "")}
    allowed = [
        method
        for method in METHODS
        if any(
            route.matches({**path, "headers": [], "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


class BodyLimit:
    """Refuses request bodies over the limit with 413 in the error envelope, whether or not
    Content-Length is sent: a declared length is checked before the app runs, a chunked body
    is counted as it arrives (nothing is buffered here)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            status = 413 if declared.isdigit() else 400
            await _error(status, _CODES[status], self._detail(declared))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                # FastAPI passes its own HTTPException out of body parsing (others become 400).
                raise HTTPException(413, self._detail(None))
            return message

        await self.app(scope, counted, send)

    def _detail(self, declared: bytes | None) -> str:
        if declared is not None and not declared.isdigit():
            return "invalid Content-Length header"
        return f"the request body is larger than {self.limit} bytes"


def _raw(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


class SecurityHeaders:
    """Adds the security headers (and the page policy on the citizen pages) to every HTTP
    response, keeping any a route set itself. Pure ASGI: it edits the response start message
    in passing, so bodies still stream untouched, without the task group and the extra
    response stream Starlette's ``BaseHTTPMiddleware`` puts around every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Encoded once, as ASGI sends them: lower-case names, bytes.
        self.plain = _raw(SECURITY_HEADERS)
        self.page = _raw({**SECURITY_HEADERS, **PAGE_POLICY})
        self.survey = _raw({**SECURITY_HEADERS, **SURVEY_HEADERS})
        self.console = _raw({**SECURITY_HEADERS, **CONSOLE_POLICY})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        added = (
            self.survey
            if path.startswith("/s/")
            else self.page
            if path == "/" or is_public_page(path)
            else self.console
            if path == "/console" or path.startswith("/console/")
            else self.plain
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in added if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app() -> FastAPI:
    try:
        settings = get_settings()
    except ValidationError as exc:
        # Under `uvicorn app.main:create_app --factory` this one line is what the operator sees,
        # not a traceback through pydantic.
        logging.getLogger("uvicorn.error").error("error: %s", settings_problem(exc))
        raise SystemExit(1) from None
    access_log.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The periodic job (alerts, webhooks) beside the requests, on the database the
        # requests use (a test's override included).
        task = None
        if settings.background_jobs:
            override = app.dependency_overrides.get(deps.database)
            current = override if override is not None else get_database
            task = asyncio.create_task(jobs.run_forever(current, settings))
        # What start-up built lives as long as the process (the app and its routes, the
        # models' metadata, templates, forms): left out of the garbage collector's full
        # passes, which walked all of it and stalled every request in flight for ~100 ms, the
        # API's 99th percentile under load (37 ms with it frozen). Freed objects are still
        # freed; only cycles among them wait until shutdown.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            access_log.flush()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        lifespan=lifespan,
        title="SKM: Survei Kepuasan Masyarakat",
        version="0.1.0",
        description="Public-service satisfaction surveys and the IKM of PermenPAN-RB 14/2017.",
        # /docs is served from this package (app/api/docs.py), not from a CDN; no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    for unreachable in UNREACHABLE:
        app.add_exception_handler(unreachable, _database_unreachable)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    # Outermost, so the 413 that BodyLimit sends itself carries the headers too.
    app.add_middleware(SecurityHeaders)

    @app.get("/healthz", tags=["health"])
    def healthz(database: DatabaseDep) -> JSONResponse:
        """Liveness and database reachability: 200 when the database answers, else 503."""
        try:
            database.ping()
        except Exception as exc:
            return JSONResponse(
                {"error": "unavailable", "detail": f"database unreachable: {type(exc).__name__}"},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    # The routes most requests take first: the router tries routes in order (each one twice:
    # FastAPI matches, then matches again to handle), and the console has dozens that an API
    # or survey request would otherwise be matched against. The citizen pages are a handful
    # of routes, the API a few dozen: survey first costs an API request little.
    app.include_router(citizen_router)
    app.include_router(api_router)
    app.include_router(console_router)
    app.include_router(public_router)
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC), name="console-static")
    app.include_router(docs.router)
    return app

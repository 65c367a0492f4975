"""The FastAPI application: health, OpenAPI and its /docs, the error envelope and security
headers."""

from collections.abc import Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import docs
from app.api import router as api_router
from app.citizen.routes import router as citizen_router
from app.config import get_settings
from app.deps import DatabaseDep
from app.errors import AppError, InvalidInput, validation_items, validation_summary

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


_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def _error(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    # RFC 9110: a 401 names the scheme that would be accepted.
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = validation_items(exc.errors())
    body = {"error": "validation_error", "detail": validation_summary(items), "errors": items}
    return JSONResponse(body, status_code=422)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # PostgreSQL refuses some text SQLite stores (a NUL character); only client input carries
    # such values, so this is the client's 422, and the transaction has rolled back.
    assert isinstance(exc, DataError)
    refused = InvalidInput("a value cannot be stored (text may not contain a NUL character)")
    return await _app_error(request, refused)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, "http_error")
    return _error(exc.status_code, code, str(exc.detail), exc.headers)


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        added = self.survey if path.startswith("/s/") else self.page if path == "/" else self.plain

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in added if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app() -> FastAPI:
    app = FastAPI(
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

    app.add_middleware(BodyLimit, limit=get_settings().max_body_bytes)

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

    app.include_router(citizen_router)
    app.include_router(api_router)
    app.include_router(docs.router)
    return app

"""The FastAPI application: health, OpenAPI, the error envelope and security headers."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.api import router as api_router
from app.db import Database, get_database
from app.errors import AppError
from app.web import router as web_router

DatabaseDep = Annotated[Database, Depends(get_database)]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _error(status: int, code: str, detail: Any) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return _error(422, "validation_error", detail)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    return _error(exc.status_code, codes.get(exc.status_code, "http_error"), exc.detail)


def create_app() -> FastAPI:
    app = FastAPI(
        title="SKM: Survei Kepuasan Masyarakat",
        version="0.1.0",
        description="Public-service satisfaction surveys and the IKM of PermenPAN-RB 14/2017.",
    )
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

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

    app.include_router(web_router)
    app.include_router(api_router)
    return app

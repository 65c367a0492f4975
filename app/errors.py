"""The one family of expected failures. Each has an HTTP status and a stable ``code``; the
HTTP layer renders ``{"error": code, "detail": ...}`` and the CLI prints ``detail``."""

from typing import Any


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class LocalBaseUrl(Conflict):
    """A QR code or poster would send phones to this computer (SKM_PUBLIC_BASE_URL is a
    loopback address)."""

    code = "local_base_url"


class Gone(AppError):
    status = 410
    code = "gone"


class InvalidInput(AppError):
    status = 422
    code = "validation_error"


class Unavailable(AppError):
    status = 503
    code = "unavailable"

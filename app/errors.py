"""The one family of expected failures. Each has an HTTP status and a stable ``code``; the
HTTP layer renders ``{"error": code, "detail": "<one readable sentence>"}``, and a 422 adds
``"errors": [{"loc": [...], "msg": ..., "type": ...}]``; the CLI prints ``detail``."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# A 422 lists at most this many problems in its one-line detail (all are in ``errors``).
SUMMARY_ITEMS = 5


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail}


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
    """Input that parsed but cannot be used. ``loc`` is where it lies in what the service was
    given, when the raiser knows (``("responses", 2, "answers", "waktu")``)."""

    status = 422
    code = "validation_error"

    def __init__(self, detail: str, *, loc: Sequence[str | int] = ()) -> None:
        super().__init__(detail)
        self.loc = tuple(loc)

    def within(self, *prefix: str | int) -> "InvalidInput":
        """The same error located inside ``prefix`` (the HTTP layer adds ``"body"``); one
        whose place is unknown stays so."""
        return InvalidInput(self.detail, loc=(*prefix, *self.loc) if self.loc else ())

    def body(self) -> dict[str, Any]:
        item = {"loc": list(self.loc), "msg": self.detail, "type": "value_error"}
        return {**super().body(), "errors": [item]}


class Unavailable(AppError):
    status = 503
    code = "unavailable"


# --- pydantic's validation errors in the same words for the API and the CLI ---


def validation_items(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's error dicts as ``{"loc", "msg", "type"}``, without the input (it may be
    long or personal) and with a validator's own message instead of "Value error, ..."."""
    return [{"loc": list(e["loc"]), "msg": _message(e), "type": e["type"]} for e in errors]


def _message(error: Mapping[str, Any]) -> str:
    context = error.get("ctx") or {}
    if error["type"] in {"value_error", "assertion_error"} and "error" in context:
        return str(context["error"])
    if error["type"] == "json_invalid" and "error" in context:
        return f"{error['msg']}: {context['error']}"
    return str(error["msg"])


def validation_summary(items: Sequence[Mapping[str, Any]]) -> str:
    """One line naming each problem: ``query.period: Field required; body.code: ...``."""
    parts = [
        f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" if item["loc"] else item["msg"]
        for item in items[:SUMMARY_ITEMS]
    ]
    more = len(items) - SUMMARY_ITEMS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")

"""HTTP validation caching, one rule for every audience: a strong ETag from the body's hash,
and 304 without a body when the client's If-None-Match already names it (compared weakly, as
RFC 9110 section 13.1.2 asks: ``W/"x"`` matches ``"x"``)."""

import hashlib
from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import Response


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def not_modified(
    request: Request, etag: str, headers: Mapping[str, str] | None = None
) -> Response | None:
    """The 304 answer when the client's If-None-Match already names ``etag``, else None."""
    sent = request.headers.get("if-none-match", "")
    candidates = {t.strip().removeprefix("W/") for t in sent.split(",")}
    if etag.removeprefix("W/") in candidates or "*" in candidates:
        return Response(status_code=304, headers={**(headers or {}), "ETag": etag})
    return None


def with_etag(
    request: Request, body: bytes, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` with its ETag (and ``headers``), or 304 when the client already holds it."""
    etag = etag_of(body)
    return not_modified(request, etag, headers) or Response(
        body, media_type=media_type, headers={**(headers or {}), "ETag": etag}
    )

"""``/papan/{unit}``: the results board for a screen at the service point. The running survey
period's live figure beside the last published one, in type readable across a waiting room;
the page reloads itself every minute (the HTTP Refresh header; no script)."""

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.core import ikm
from app.core.periods import containing
from app.deps import ReadSession
from app.public.pages import public_unit, templates
from app.services import lke, publication, results
from app.services.scopes import Scope

router = APIRouter()

REFRESH_SECONDS = 60


@router.get("/papan/{code}")
def board(request: Request, code: str, session: ReadSession) -> Response:
    unit = public_unit(session, code)
    cycle = lke.survey_cycle(session=session, unit=unit)
    now = datetime.now(unit.zone)
    period = containing(now.date(), cycle)
    live = results.scope_ikm(session=session, scope=Scope(unit, period), method=ikm.DEFAULT_METHOD)
    history = publication.history(session=session, unit=unit)
    standing = next((p for p in history if p.revised_at is None), None)
    context = {
        "title": f"Papan hasil SKM {unit.name}",
        "unit": unit,
        "period": period,
        "live": live,
        "published": publication.read(standing) if standing else None,
        "updated": now.strftime("%H.%M"),
    }
    body = templates.get_template("papan.html").render({"request": request, **context})
    # Live figures: never served from a cache (the reload must see new responses). The reload
    # is asked for by the Refresh header rather than a meta element: the board is an unattended
    # screen showing a real-time figure (WCAG 2.2.1's real-time exception), and a page someone
    # reads on a phone is not reloaded under them by markup that assistive technology flags.
    headers = {"Cache-Control": "no-store", "Refresh": str(REFRESH_SECONDS)}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)

"""The overview: the user's part of the organisation for a period."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.console.deps import root_unit
from app.console.pages import ViewerPage
from app.deps import ReadSession

router = APIRouter(prefix="/console")


@router.get("")
def overview(page: ViewerPage, session: ReadSession) -> HTMLResponse:
    unit = root_unit(session, page.identity)
    return page.render("overview.html", {"title": "Ringkasan", "unit": unit})

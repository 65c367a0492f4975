"""Reports: pick a unit, a period and a method, and download the report as PDF, XLSX or DOCX,
or the respondent rows as CSV, rendered as the API and `skm report` render them."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from app.console.deps import root_unit, visible_unit
from app.console.pages import HEADERS, ViewerPage
from app.console.results import WEIGHTS, period_options
from app.core import ikm
from app.core.periods import containing, parse_period
from app.deps import DatabaseDep, ReadSession
from app.errors import InvalidInput
from app.reports import files
from app.services import export
from app.services.dashboard import units_for_picker
from app.services.report_data import build_report, respondents
from app.services.scopes import Scope, ordered_reads

router = APIRouter(prefix="/console/laporan")
FORMATS = {
    "pdf": "PDF (laporan siap tanda tangan)",
    "docx": "DOCX (laporan untuk disunting)",
    "xlsx": "XLSX (lembar pengolahan data)",
    "csv": "CSV (data responden)",
}


@router.get("")
def report_form(page: ViewerPage, session: ReadSession) -> HTMLResponse:
    root = root_unit(session, page.identity)
    today = containing(datetime.now(root.zone).date(), "quarter")
    context = {
        "title": "Laporan",
        "units": units_for_picker(session=session, root=root),
        "periods": period_options(today),
        "today": today.label,
        "weights": WEIGHTS,
        "formats": FORMATS,
    }
    return page.render("reports.html", context)


@router.get("/unduh")
def download(
    page: ViewerPage,
    session: ReadSession,
    database: DatabaseDep,
    unit: Annotated[str, Query(max_length=40)],
    period: Annotated[str, Query(max_length=40)],
    format: Annotated[str, Query(max_length=5)] = "pdf",
    weight: Annotated[str, Query(max_length=10)] = "exact",
    children: Annotated[str, Query(max_length=5)] = "ya",
) -> Response:
    found = visible_unit(session, page.identity, unit)
    try:
        parsed = parse_period(period)
    except ValueError as exc:
        raise InvalidInput(f"Periode tidak dikenal: {exc}") from None
    if format not in FORMATS or weight not in WEIGHTS:
        raise InvalidInput("Format atau metode tidak dikenal.")
    include_children = children != "tidak"
    name = f"skm-{found.code}-{parsed.label}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"', **HEADERS}
    if format == "csv":
        scope = ordered_reads(
            session=session,
            scope=Scope(unit=found, period=parsed, include_children=include_children),
        )
        return StreamingResponse(
            export.csv_stream(database.session, scope),
            media_type="text/csv; charset=utf-8",
            headers=disposition,
        )
    data = build_report(
        session=session,
        unit=found,
        period=parsed,
        method=ikm.Method(weight),
        include_children=include_children,
    )
    body = files.render(format, data, respondents(session, data, found))  # type: ignore[arg-type]
    return Response(body, media_type=files.MEDIA_TYPES[format], headers=disposition)

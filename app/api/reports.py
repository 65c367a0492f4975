"""The SKM report over the API: the PDF report (and its editable DOCX), the XLSX processing
sheet, the CSV of rows."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from app.api.deps import (
    LOCAL,
    IkmReader,
    csv_download,
    etag_bytes,
    period_or_422,
    printable_base_url,
    visible_unit,
)
from app.api.schemas import MethodQuery
from app.core import ikm
from app.deps import DatabaseDep, ReadSession, SettingsDep
from app.reports import files
from app.reports.files import MEDIA_TYPES
from app.services import evidence_pack
from app.services.report_data import build_report, respondents
from app.services.scopes import Scope, ordered_reads

router = APIRouter(prefix="/reports", tags=["reports"])


class ReportQuery(MethodQuery):
    include_children: bool = Field(
        default=True,
        description="The unit and all its descendants, pooled (default); false: the unit's "
        "own responses only",
    )
    aggregate: ikm.Aggregation = Field(
        default="pooled",
        description="pooled (default) or mean_of_children: the headline figure as the mean "
        "of the direct child units' figures; the report says which it shows",
    )


@router.get(
    "/{unit}/{period}.{file_format}",
    response_class=Response,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
def get_report(
    request: Request,
    unit: str,
    period: str,
    file_format: Literal["pdf", "docx", "xlsx", "csv"],
    query: Annotated[ReportQuery, Query()],
    session: ReadSession,
    database: DatabaseDep,
    key: IkmReader,
) -> Response:
    """The SKM report of a unit for a period (scope ikm:read): `.pdf` the report in the
    regulation's shape (BAB I-V, tables, charts, questionnaire), `.docx` the same report to
    edit in Word or LibreOffice Writer before signing, `.xlsx` the processing sheet
    with live formulas and the report's tables, `.csv` the respondent rows. The report covers
    the unit and its descendants unless `include_children=false`; the method and aggregate
    parameters apply to every figure."""
    parsed = period_or_422(period, ("path", "period"))
    found = visible_unit(session, key, unit)
    if file_format == "csv":
        scope = Scope(unit=found, period=parsed, include_children=query.include_children)
        scope = ordered_reads(session=session, scope=scope)
        return csv_download(request, session, database, scope, "skm")
    data = build_report(
        session=session,
        unit=found,
        period=parsed,
        method=query.method(),
        include_children=query.include_children,
        aggregate=query.aggregate,
    )
    body = files.render(file_format, data, respondents(session, data, found))
    response = etag_bytes(request, body, MEDIA_TYPES[file_format])
    filename = f"skm-{found.code}-{parsed.label}.{file_format}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get(
    "/{unit}/{period}/evidence-pack.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, **LOCAL},
)
def get_evidence_pack(
    request: Request,
    unit: str,
    period: str,
    session: ReadSession,
    settings: SettingsDep,
    key: IkmReader,
    allow_local: bool = False,
) -> Response:
    """The Zona Integritas evidence pack of a unit and period (scope ikm:read), a ZIP: the
    report PDF, the results poster and a PDF copy of the public results page (once the period
    is published), the page's address, the follow-up plan (RTL) as CSV with its evidence
    files, the LKE score sheet for the year, and BACA.txt listing the contents and what is
    still missing. 404 when the unit has no responses in the period; 409 `local_base_url`
    while SKM_PUBLIC_BASE_URL is a loopback address, unless `allow_local=true`."""
    parsed = period_or_422(period, ("path", "period"))
    found = visible_unit(session, key, unit)
    body = evidence_pack.build(
        session=session,
        unit=found,
        period=parsed,
        base_url=printable_base_url(settings, allow_local),
    )
    response = etag_bytes(request, body, "application/zip")
    name = f"evidence-pack-{found.code}-{parsed.label}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

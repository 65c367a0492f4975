"""A report as the bytes of one file format, for every route that serves it (the API, the
console): the same renderer for the same format everywhere."""

import io
from collections.abc import Iterable
from typing import Literal

from app.reports.xlsx import write_xlsx
from app.services.report_data import ReportData

Format = Literal["pdf", "docx", "xlsx"]
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}


def render(
    file_format: Format, data: ReportData, respondents: Iterable[tuple[float | None, ...]]
) -> bytes:
    out = io.BytesIO()
    if file_format == "pdf":
        # Imported here: fpdf is a fifth of a server worker's start-up, and few ask for a PDF.
        from app.reports.pdf import write_pdf

        write_pdf(data, respondents, out)
    elif file_format == "docx":
        from app.reports.docx import write_docx  # draws with fpdf's fonts: imported as the PDF is

        write_docx(data, respondents, out)
    else:
        write_xlsx(data, respondents, out)
    return out.getvalue()

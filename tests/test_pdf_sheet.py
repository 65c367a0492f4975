"""The PDF lampiran's processing sheet (app/reports/pdf_sheet.py) for a unit of 100 known
respondents, read back with pdftotext and pdfinfo: landscape pages, the header row on each,
every respondent once, the footer's figures, the cap; the profile tables and the saran."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from app.core import ikm
from app.core.periods import parse_period
from app.reports import pdf_sheet
from app.reports.pdf import write_pdf
from app.reports.wording import number
from app.services import intake, org
from app.services.report_data import ReportData, build_report, respondents
from tests.factories import make_unit, response
from tests.tools import page_lines, page_sizes, pdf_lines, pdf_text

A4_LANDSCAPE = (841.89, 595.28)  # points, as pdfinfo prints them


def hundred(session: Session) -> tuple[ReportData, list[tuple[int, ...]]]:
    """A unit with 100 respondents whose answers follow from their number."""
    unit = make_unit(session)
    start = datetime(2026, 3, 2, 1, tzinfo=UTC)
    rows = [tuple(1 + (i + j) % 4 for j in range(9)) for i in range(100)]
    items = [response(row, start + timedelta(minutes=i)) for i, row in enumerate(rows)]
    for i, item in enumerate(items):
        items[i] = item.model_copy(
            update={"suggestion": f"saran nomor {i + 1}" if i % 10 == 0 else None}
        )
    intake.record_responses(session=session, unit=unit, items=items, channel="paper")
    data = build_report(
        session=session, unit=unit, period=parse_period("2026"), method=ikm.Method()
    )
    return data, rows


def test_processing_sheet_spans_landscape_pages_with_the_header_on_each(
    session: Session, tmp_path: Path
) -> None:
    data, rows = hundred(session)
    unit = org.get_unit(session=session, code=data.unit.code)
    pdf = tmp_path / "sheet.pdf"
    write_pdf(data, respondents(session, data, unit), pdf)
    sizes = page_sizes(pdf)
    header = "No. resp U1 U2 U3 U4 U5 U6 U7 U8 U9"
    sheet_pages = [p for p in range(1, len(sizes) + 1) if header in page_lines(pdf, p)]
    assert len(sheet_pages) >= 3  # 100 rows do not fit two landscape pages
    assert sheet_pages == list(range(sheet_pages[0], sheet_pages[-1] + 1))
    # Exactly the sheet's pages are landscape (plus its legend's, if it runs over).
    landscape = [p for p, size in enumerate(sizes, start=1) if size == A4_LANDSCAPE]
    assert set(sheet_pages) <= set(landscape)
    assert landscape == list(range(landscape[0], landscape[-1] + 1))
    assert all(size == A4_LANDSCAPE[::-1] for p, size in enumerate(sizes, 1) if p not in landscape)
    assert "LAMPIRAN 2: PENGOLAHAN DATA" in page_lines(pdf, sheet_pages[0])
    numbers: list[int] = []
    for page in sheet_pages:
        lines = page_lines(pdf, page)
        assert lines.count(header) == 1  # the header row, once on every page
        for line in lines:
            if re.fullmatch(r"\d+( [1-4]){9}", line):
                number_, *answers = map(int, line.split())
                assert tuple(answers) == rows[number_ - 1]
                numbers.append(number_)
    assert numbers == list(range(1, 101))  # every respondent once, in order
    last = page_lines(pdf, sheet_pages[-1])
    sums = " ".join(str(e.sum) for e in data.result.elements)
    assert f"Σ nilai/unsur {sums}" in last
    assert f"NRR/unsur {' '.join(number(e.nrr, 3) for e in data.result.elements)}" in last
    assert f"Σ NRR tertimbang (*) {number(data.result.ikm, 4)}" in last
    assert f"IKM unit pelayanan (**) {number(data.result.nik_rounded)}" in last
    body = pdf_text(pdf)
    # The profile tables and every saran in the lampiran.
    assert "LAMPIRAN 3: PROFIL RESPONDEN" in body and "LAMPIRAN 4: SARAN DAN MASUKAN" in body
    lampiran = body[body.rindex("LAMPIRAN 4: SARAN DAN MASUKAN") :]
    for i in range(1, 101, 10):
        assert f"saran nomor {i}" in lampiran


def test_processing_sheet_beyond_the_cap_says_where_the_rest_is(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = hundred(session)
    monkeypatch.setattr(pdf_sheet, "ROWS_MAX", 30)
    unit = org.get_unit(session=session, code=data.unit.code)
    pdf = tmp_path / "capped.pdf"
    write_pdf(data, respondents(session, data, unit), pdf)
    body = pdf_text(pdf)
    assert "Baris 31 sampai 100 (70 baris) tidak dicetak di sini" in body
    assert "lembar Pengolahan Data berkas XLSX" in body
    assert "dari seluruh 100 baris" in body
    lines = pdf_lines(pdf)
    printed = [line for line in lines if re.fullmatch(r"\d+( [1-4]){9}", line)]
    assert [int(line.split()[0]) for line in printed] == list(range(1, 31))
    # The footer still sums every respondent.
    assert f"Σ nilai/unsur {' '.join(str(e.sum) for e in data.result.elements)}" in lines

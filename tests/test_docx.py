"""The DOCX report (``app.reports.docx``) read back with python-docx: the signature block, the
logo, Unicode text, the API route, and the processing sheet of 100 known respondents (also as
LibreOffice Writer prints it). The Kendari demo's report: ``test_docx_demo``."""

import io
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO

import httpx
import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.table import Table
from PIL import Image
from sqlmodel import Session

from app.core import ikm
from app.core.periods import long_date, parse_period
from app.models import UnitReportSettingUpdate, UnitUpdate
from app.reports import pdf_sheet
from app.reports.docx import write_docx
from app.reports.wording import number
from app.services import apikeys, intake, org, report_settings
from app.services.report_data import ReportData, build_report, respondents
from tests.factories import bearer, make_unit, response
from tests.test_pdf_sheet import hundred
from tests.test_reports import UNICODE_NAME, UNICODE_SARAN
from tests.tools import office_to_pdf, page_lines, page_sizes, pdf_lines

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def write(session: Session, data: ReportData, out: Path | IO[bytes]) -> None:
    """The DOCX of ``data`` with its processing sheet's rows, as the CLI and the API write it."""
    unit = org.get_unit(session=session, code=data.unit.code)
    write_docx(data, respondents(session, data, unit), out)


def docx_text(doc: DocxDocument) -> str:
    """Every paragraph of the body, its tables, headers and footers, spaces collapsed."""
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in doc.sections:
        for part in (section.header, section.footer):
            parts += [p.text for p in part.paragraphs]
            parts += [c.text for t in part.tables for row in t.rows for c in row.cells]
    return " ".join(" ".join(parts).split())


def unsur_table(doc: DocxDocument) -> list[list[str]]:
    table = next(t for t in doc.tables if t.rows[0].cells[1].text == "Unsur pelayanan")
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_docx_signature_block_from_the_units_settings(session: Session, tmp_path: Path) -> None:
    unit = make_unit(session)
    intake.record_responses(
        session=session,
        unit=unit,
        items=[response((3,) * 9, datetime(2026, 3, 2, 3, tzinfo=UTC))],
        channel="paper",
    )
    out = tmp_path / "default.docx"
    data = build_report(
        session=session, unit=unit, period=parse_period("2026"), method=ikm.DEFAULT_METHOD
    )
    write(session, data, out)
    text = docx_text(Document(str(out)))
    block = (
        f"...................., {long_date(data.generated_at)} Kepala {unit.name} "
        "(................................) NIP. ................................"
    )
    assert text.count(block) == 2  # under the kata pengantar and in BAB V
    report_settings.put_settings(
        session=session,
        unit=unit,
        data=UnitReportSettingUpdate(
            signer_title="Kepala Dinas Kependudukan dan Pencatatan Sipil",
            signer_name="Drs. La Ode Muhammad, M.Si.",
            signer_nip="19800101 200501 1 001",
            city="Baubau",
            sign_date=date(2026, 7, 10),
            foreword="Paragraf pertama pengantar.\n\nParagraf kedua pengantar.",
        ),
    )
    write(
        session,
        build_report(
            session=session, unit=unit, period=parse_period("2026"), method=ikm.DEFAULT_METHOD
        ),
        out,
    )
    doc = Document(str(out))
    text = docx_text(doc)
    signed = (
        "Baubau, 10 Juli 2026 Kepala Dinas Kependudukan dan Pencatatan Sipil "
        "Drs. La Ode Muhammad, M.Si. NIP. 19800101 200501 1 001"
    )
    assert text.count(signed) == 2
    assert "KATA PENGANTAR Paragraf pertama pengantar. Paragraf kedua pengantar." in text
    names = [p for p in doc.paragraphs if p.text == "Drs. La Ode Muhammad, M.Si."]
    assert len(names) == 2 and all(p.runs[0].bold and p.runs[0].underline for p in names)
    assert "Puji syukur" not in text and "......" not in text


def test_docx_keeps_names_and_saran_outside_latin_1(session: Session, tmp_path: Path) -> None:
    unit = make_unit(session)
    org.update_unit(session=session, unit=unit, data=UnitUpdate(name=UNICODE_NAME))
    item = response((4,) * 9, datetime(2026, 3, 2, 3, tzinfo=UTC))
    intake.record_responses(
        session=session,
        unit=unit,
        items=[item.model_copy(update={"suggestion": UNICODE_SARAN})],
        channel="paper",
    )
    out = tmp_path / "skm.docx"
    write(
        session,
        build_report(
            session=session, unit=unit, period=parse_period("2026"), method=ikm.DEFAULT_METHOD
        ),
        out,
    )
    doc = Document(str(out))
    text = docx_text(doc)
    assert f"Laporan Hasil SKM {UNICODE_NAME}, Tahun 2026" in text  # the footer
    assert f"- {UNICODE_SARAN}" in text
    assert UNICODE_NAME.upper() in text  # the cover
    fonts = doc.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    assert fonts is not None
    r_fonts = fonts.find(qn("w:rFonts"))
    assert r_fonts is not None
    assert {r_fonts.get(qn(f"w:{s}")) for s in ("ascii", "hAnsi", "eastAsia", "cs")} == {
        "DejaVu Sans"
    }


def test_docx_prints_the_nearest_logo_on_the_cover_and_in_the_header(
    session: Session, tmp_path: Path
) -> None:
    parent = make_unit(session)
    unit = make_unit(session, parent=parent)
    png = io.BytesIO()
    Image.new("RGB", (120, 60), (0, 121, 107)).save(png, "PNG")
    report_settings.set_logo(session=session, unit=parent, content=png.getvalue())
    out = tmp_path / "logo.docx"
    data = build_report(
        session=session, unit=unit, period=parse_period("2026"), method=ikm.DEFAULT_METHOD
    )
    write(session, data, out)
    doc = Document(str(out))
    cover = [s for s in doc.inline_shapes if s._inline.docPr.get("descr") == "Logo"]
    assert len(cover) == 1 and round(cover[0].height.mm) == 32
    assert round(cover[0].width.mm) == 64  # its own proportions, 2:1
    header = doc.sections[0].header
    assert header.tables[0].cell(0, 1).text == f"{unit.name}\n{parent.name}"
    drawn = header.part.element.findall(f".//{qn('wp:inline')}")
    assert len(drawn) == 1 and round(int(drawn[0].find(qn("wp:extent")).get("cy")) / 36000) == 11
    assert header.part.related_parts  # the picture itself, in the header's own part


async def test_report_docx_route(client: httpx.AsyncClient, session: Session) -> None:
    unit = make_unit(session)
    outside = make_unit(session)
    intake.record_responses(
        session=session,
        unit=unit,
        items=[response((4, 3, 3, 4, 3, 3, 4, 3, 4), datetime(2026, 3, 2, 3, tzinfo=UTC))],
        channel="paper",
    )
    _, key = apikeys.create_key(
        session=session, name="bagor", scopes=["ikm:read"], unit_code=unit.code
    )
    url = f"/api/v1/reports/{unit.code}/2026.docx?weight=0.111&include_children=false"
    assert (await client.get(url)).status_code == 401
    found = await client.get(url, headers=bearer(key))
    assert found.status_code == 200, found.text
    assert found.headers["content-type"] == DOCX_TYPE
    assert found.headers["content-disposition"] == (
        f'attachment; filename="skm-{unit.code}-2026.docx"'
    )
    doc = Document(io.BytesIO(found.content))
    data = build_report(
        session=session,
        unit=unit,
        period=parse_period("2026"),
        method=ikm.Method(weight="0.111"),
        include_children=False,
    )
    assert unsur_table(doc)[-1][4] == number(data.result.nik_rounded)
    assert "Metode perhitungan: bobot 0,111;" in docx_text(doc)
    cached = await client.get(url, headers={**bearer(key), "If-None-Match": found.headers["etag"]})
    assert cached.status_code == 304
    hidden = await client.get(f"/api/v1/reports/{outside.code}/2026.docx", headers=bearer(key))
    assert hidden.status_code == 404


def _section_of_each_table(doc: DocxDocument) -> list[tuple[Table, int]]:
    """Each body table with the index of the section it is in (a paragraph holding a
    ``w:sectPr`` ends a section)."""
    found, section = [], 0
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:tbl"):
            found.append((Table(child, doc._body), section))
        elif child.tag == qn("w:p") and child.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None:
            section += 1
    return found


def _sheet(doc: DocxDocument) -> tuple[Table, int]:
    (found,) = [
        (t, s) for t, s in _section_of_each_table(doc) if t.rows[0].cells[0].text == "No. resp"
    ]
    return found


def test_docx_processing_sheet_on_landscape_pages_with_a_repeating_header_row(
    session: Session, tmp_path: Path
) -> None:
    data, rows = hundred(session)
    out = tmp_path / "sheet.docx"
    write(session, data, out)
    doc = Document(str(out))
    sheet, section = _sheet(doc)
    assert section == 1  # the second section: after the questionnaire, before Lampiran 3
    landscape = doc.sections[section]
    assert landscape.orientation == WD_ORIENT.LANDSCAPE
    assert landscape.page_width is not None and landscape.page_height is not None
    assert (round(landscape.page_width.mm), round(landscape.page_height.mm)) == (297, 210)
    assert [s.orientation for s in doc.sections] == [
        WD_ORIENT.PORTRAIT,
        WD_ORIENT.LANDSCAPE,
        WD_ORIENT.PORTRAIT,
    ]
    assert not landscape.different_first_page_header_footer  # its pages carry the header
    (stop,) = landscape.footer.paragraphs[0].paragraph_format.tab_stops  # the page number
    assert round(stop.position.mm) == 297 - 25 - 20  # at the landscape text's right edge
    cells = [[c.text for c in row.cells] for row in sheet.rows]
    assert cells[0] == ["No. resp", *(f"U{i}" for i in range(1, 10))]
    header = [row._tr.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") for row in sheet.rows]
    assert header[0] is not None and header[0].get(qn("w:val")) == "true"
    assert all(flag is None for flag in header[1:])  # only the header row repeats
    assert cells[1:101] == [[str(i), *map(str, row)] for i, row in enumerate(rows, start=1)]
    sums = [str(e.sum) for e in data.result.elements]
    assert cells[101] == ["Σ nilai/unsur", *sums]
    assert cells[102] == ["NRR/unsur", *(number(e.nrr, 3) for e in data.result.elements)]
    assert cells[104][:2] == ["Σ NRR tertimbang (*)", number(data.result.ikm, 4)]
    assert cells[105][:2] == ["IKM unit pelayanan (**)", number(data.result.nik_rounded)]
    text = docx_text(doc)
    assert "tidak dicetak di sini" not in text
    assert f"Metode: {data.method_text}." in text  # the sheet's legend
    # The lampiran after it: the profile tables and every saran.
    lampiran = text[text.rindex("LAMPIRAN 3: PROFIL RESPONDEN") :]
    assert "Jenis kelamin Jumlah Persentase" in lampiran
    saran = lampiran[lampiran.index("LAMPIRAN 4: SARAN DAN MASUKAN") :]
    assert "10 saran tertulis responden, dari yang terbaru." in saran
    for i in range(1, 101, 10):
        assert f"saran nomor {i}" in saran


def test_docx_processing_sheet_beyond_the_cap_says_where_the_rest_is(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = hundred(session)
    monkeypatch.setattr(pdf_sheet, "ROWS_MAX", 30)  # the PDF's cap is the DOCX's
    out = tmp_path / "capped.docx"
    write(session, data, out)
    doc = Document(str(out))
    sheet, _ = _sheet(doc)
    labels = [row.cells[0].text for row in sheet.rows[1:]]
    assert labels[:30] == [str(i) for i in range(1, 31)]
    capped = (
        "Baris 31 sampai 100 (70 baris) tidak dicetak di sini: lampiran ini memuat 30 baris "
        "pertama. Daftar lengkap ada pada lembar Pengolahan Data berkas XLSX laporan ini. "
        "Baris-baris di bawah dihitung dari seluruh 100 baris."
    )
    assert labels[30] == capped  # one cell across the row
    assert labels[31] == "Σ nilai/unsur"
    # The footer still sums every respondent.
    assert [c.text for c in sheet.rows[32].cells][1:] == [str(e.sum) for e in data.result.elements]


@pytest.mark.slow
def test_libreoffice_writer_prints_the_sheet_landscape_with_the_header_on_each_page(
    session: Session, tmp_path: Path
) -> None:
    data, rows = hundred(session)
    out = tmp_path / "sheet.docx"
    write(session, data, out)
    printed = office_to_pdf(out, tmp_path)
    sizes = page_sizes(printed)
    header = "No. resp U1 U2 U3 U4 U5 U6 U7 U8 U9"
    sheet_pages = [p for p in range(1, len(sizes) + 1) if header in page_lines(printed, p)]
    assert len(sheet_pages) >= 3  # 100 rows do not fit two landscape pages
    assert sheet_pages == list(range(sheet_pages[0], sheet_pages[-1] + 1))
    landscape = [p for p, size in enumerate(sizes, start=1) if size[0] > size[1]]
    assert set(sheet_pages) <= set(landscape)
    assert landscape == list(range(landscape[0], landscape[-1] + 1))
    numbers: list[int] = []
    for page in sheet_pages:
        lines = page_lines(printed, page)
        assert lines.count(header) == 1  # the header row, once on every page
        for line in lines:
            if re.fullmatch(r"\d+( [1-4]){9}", line):
                number_, *answers = map(int, line.split())
                assert tuple(answers) == rows[number_ - 1]
                numbers.append(number_)
    assert numbers == list(range(1, 101))  # every respondent once, in order
    assert f"IKM unit pelayanan (**) {number(data.result.nik_rounded)}" in pdf_lines(printed)

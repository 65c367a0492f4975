"""The DOCX report (``app.reports.docx``) read back with python-docx: the signature block, the
logo, Unicode text, and the API route. The Kendari demo's report: ``test_docx_demo``."""

import io
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from PIL import Image
from sqlmodel import Session

from app.core import ikm
from app.core.periods import long_date, parse_period
from app.models import UnitReportSettingUpdate, UnitUpdate
from app.reports.docx import write_docx
from app.reports.wording import number
from app.services import apikeys, intake, org, report_settings
from app.services.report_data import build_report
from tests.factories import bearer, make_unit, response
from tests.test_reports import UNICODE_NAME, UNICODE_SARAN

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


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


def docx_rows(doc: DocxDocument) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for table in doc.tables for row in table.rows]


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
    write_docx(data, out)
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
    write_docx(
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
    write_docx(
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
    write_docx(data, out)
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

"""The DOCX report of the Kendari demo (seeded once for the module), read back with python-docx
and printed by LibreOffice Writer: the figures as `skm ikm --json` gives them, Word's structures
(heading styles, TOC and page fields, repeating header rows)."""

import io
import json
import re
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from app.core import ikm
from app.core.periods import parse_period, period_text
from app.reports.prose import (
    APPENDIX_FORM,
    APPENDIX_PROFILE,
    APPENDIX_SHEET,
    APPENDIX_SUGGESTIONS,
)
from app.reports.wording import number
from app.services import org, results
from app.services.report_data import build_report
from tests.conftest import DEMO_PERIOD as PERIOD
from tests.conftest import Demo
from tests.test_docx import docx_text, unsur_table, write
from tests.test_reports import ENGLISH, PERIOD_CODE, TIMES
from tests.tools import office_to_pdf, page_sizes, pdf_lines, pdf_text

LAMPIRAN = [APPENDIX_FORM, APPENDIX_SHEET, APPENDIX_PROFILE, APPENDIX_SUGGESTIONS]


def table_of(doc: DocxDocument, last_heading: str) -> list[list[str]]:
    """The cells of the one table whose header row ends with ``last_heading``."""
    (table,) = [t for t in doc.tables if t.rows[0].cells[-1].text == last_heading]
    return [[cell.text for cell in row.cells] for row in table.rows]


METHODS = {
    "exact": [],
    "rounded-2004": ["--weight", "0.111", "--round-nrr", "3", "--table", "2004"],
}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("unit", ["disdukcapil", "kendari"])
def test_docx_holds_the_figures_of_skm_ikm(
    demo: Demo, tmp_path: Path, unit: str, method: str
) -> None:
    run_cli = demo.cli
    flags = METHODS[method]
    code, output = run_cli("ikm", "--unit", unit, "--period", PERIOD, "--json", *flags)
    assert code == 0, output
    figures = json.loads(output)
    out = tmp_path / "skm.docx"
    code, output = run_cli(
        "report", "--unit", unit, "--period", PERIOD, "--format", "docx", "-o", str(out), *flags
    )
    assert code == 0, output
    assert f"wrote {out}" in output
    doc = Document(str(out))
    text = docx_text(doc)
    nik, mutu, n = number(figures["nik_rounded"]), figures["mutu"], figures["n"]
    assert n > 100 and mutu in "ABCD"
    table = unsur_table(doc)
    for i, element in enumerate(figures["elements"], start=1):
        row = table[i]
        assert row[0] == f"U{i}"
        assert row[2:] == [
            number(element["nrr"], 3),
            number(element["weighted"], 4),
            number(element["nik_rounded"]),
            element["mutu"],
        ], (i, row)
    assert table[-2][1:4] == ["Σ NRR tertimbang = IKM", "", number(figures["ikm"], 4)]
    assert table[-1][1:] == [f"IKM unit pelayanan (IKM {TIMES} 25)", "", "", nik, mutu]
    assert f"adalah {nik} dengan mutu pelayanan {mutu}" in text
    cover = f"INDEKS KEPUASAN MASYARAKAT {nik} Mutu pelayanan {mutu} ({figures['kinerja']})"
    assert f"{cover} {n} responden" in text
    assert not ENGLISH.search(text), ENGLISH.search(text)
    assert not PERIOD_CODE.search(text), PERIOD_CODE.search(text)
    assert text.count("Metode perhitungan:") == 1
    assert "Triwulan III Tahun 2026" in text
    if unit == "kendari":  # the OPDs under the pemda, each with its own figure
        ranked = {row[1]: row for row in table_of(doc, "Unsur terendah")[1:]}
        assert "Dinas Kependudukan dan Pencatatan Sipil" in ranked
    if method == "rounded-2004":
        assert "bobot 0,111; NRR per unsur dibulatkan 3 desimal" in text


def test_docx_uses_word_structures(demo: Demo, tmp_path: Path) -> None:
    unit = org.get_unit(session=demo.session, code="kendari")
    data = build_report(
        session=demo.session, unit=unit, period=parse_period(PERIOD), method=ikm.DEFAULT_METHOD
    )
    out = tmp_path / "skm.docx"
    write(demo.session, data, out)
    doc = Document(str(out))
    styled = {(p.style.name if p.style else "", p.text) for p in doc.paragraphs}
    for chapter in (
        "KATA PENGANTAR",
        "BAB I PENDAHULUAN",
        "BAB II PENGUMPULAN DATA",
        "BAB III HASIL PENGOLAHAN DATA",
        "BAB IV ANALISIS",
        "BAB V PENUTUP",
        *LAMPIRAN,
    ):
        assert ("Heading 1", chapter) in styled
        assert ("toc 1", chapter) in styled  # listed in the contents before Word updates it
    assert ("Heading 2", "3.2 Indeks Kepuasan Masyarakat per Unsur") in styled
    body = doc.element.body
    instructions = [" ".join(t.text.split()) for t in body.iter(qn("w:instrText"))]
    assert instructions == ['TOC \\o "1-2" \\h \\z \\u']
    assert doc.settings.element.find(qn("w:updateFields")) is not None
    # Every table's first row repeats on each page; no other row does (the one that lays
    # out the sheet's legend holds tables, and is no table to read).
    for table in doc.tables:
        if table._tbl.find(f".//{qn('w:tbl')}") is not None:
            continue
        flags = [
            row._tr.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None for row in table.rows
        ]
        assert flags == [True] + [False] * (len(flags) - 1)
    section = doc.sections[0]
    sizes = (
        section.page_width,
        section.page_height,
        section.left_margin,
        section.right_margin,
        section.top_margin,
        section.bottom_margin,
    )
    assert [round(m.mm) if m is not None else None for m in sizes] == [210, 297, 25, 20, 25, 20]
    assert section.different_first_page_header_footer  # no header or number on the cover
    footer = section.footer.paragraphs[0]
    fields = [" ".join(t.text.split()) for t in footer._p.iter(qn("w:instrText"))]
    assert fields == ["PAGE", "NUMPAGES"]
    assert footer.text.startswith(
        "Laporan Hasil SKM Pemerintah Kota Kendari, Triwulan III Tahun 2026\tHalaman "
    )
    # Three charts with their figures in the alternative text.
    pictures = [shape._inline.docPr.get("descr") for shape in doc.inline_shapes]
    assert len(pictures) == 3
    assert pictures[0].startswith(f"Grafik nilai per unsur (NRR {TIMES} 25): U1 Persyaratan ")
    assert pictures[1].startswith("Grafik IKM unit (terbaik ke terendah): ")
    assert pictures[2].startswith("Grafik tren IKM: ")
    # The processing sheet alone on landscape pages, between portrait ones.
    orientations = [s.orientation for s in doc.sections]
    assert orientations == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE, WD_ORIENT.PORTRAIT]
    width, height = doc.sections[1].page_width, doc.sections[1].page_height
    assert width is not None and height is not None
    assert (round(width.mm), round(height.mm)) == (297, 210)
    assert doc.core_properties.language == "id-ID"
    assert doc.core_properties.title == (
        "Laporan Hasil Survei Kepuasan Masyarakat Pemerintah Kota Kendari Triwulan III Tahun 2026"
    )
    # The same data on the same day is the same file (one ETag from every worker).
    again = io.BytesIO()
    write(demo.session, data, again)
    assert again.getvalue() == out.read_bytes()


@pytest.mark.slow
def test_libreoffice_writer_prints_the_docx(demo: Demo, tmp_path: Path) -> None:
    unit = org.get_unit(session=demo.session, code="disdukcapil")
    data = build_report(
        session=demo.session, unit=unit, period=parse_period(PERIOD), method=ikm.DEFAULT_METHOD
    )
    out = tmp_path / "disdukcapil.docx"
    write(demo.session, data, out)
    printed = office_to_pdf(out, tmp_path)
    text = pdf_text(printed)
    nik = number(data.result.nik_rounded)
    assert f"INDEKS KEPUASAN MASYARAKAT {nik} Mutu pelayanan {data.result.mutu}" in text
    assert f"IKM unit pelayanan (IKM {TIMES} 25) {nik} {data.result.mutu}" in pdf_lines(printed)
    pages = int(re.findall(r"Halaman \d+ dari (\d+)", text)[0])
    # About ten portrait pages, the processing sheet's rows on landscape ones (about 45 a
    # page), the profile tables and the saran.
    sizes = page_sizes(printed)
    assert len(sizes) == pages
    landscape = [p for p, (w, h) in enumerate(sizes, start=1) if w > h]
    assert landscape == list(range(landscape[0], landscape[-1] + 1))
    assert data.result.n // 50 <= len(landscape) <= data.result.n // 35 + 2
    assert 8 + len(landscape) <= pages <= 18 + len(landscape)
    assert [int(p) for p in re.findall(r"Halaman (\d+) dari", text)] == list(range(2, pages + 1))
    assert not PERIOD_CODE.search(text) and not ENGLISH.search(text)


@pytest.mark.parametrize("unit", ["dinkes", "kendari"])
def test_docx_ranks_the_child_units_as_the_engine_does(
    demo: Demo, tmp_path: Path, unit: str
) -> None:
    session = demo.session
    parent = org.get_unit(session=session, code=unit)
    ranked = results.ranking(
        session=session, parent=parent, period=parse_period(PERIOD), method=ikm.Method()
    )
    ranked.sort(key=lambda pair: -(pair[1].nik or 0))
    data = build_report(
        session=session, unit=parent, period=parse_period(PERIOD), method=ikm.DEFAULT_METHOD
    )
    out = tmp_path / f"{unit}.docx"
    write(session, data, out)
    doc = Document(str(out))
    rows = table_of(doc, "Unsur terendah")
    assert rows[0] == ["No.", "Unit", "Responden", "IKM", "Mutu", "Sampel", "Unsur terendah"]
    assert len(rows) == 1 + len(ranked)
    for place, ((child, result), row) in enumerate(zip(ranked, rows[1:], strict=True), start=1):
        assert result.sample is not None  # the demo records each unit's population
        assert row[:6] == [
            str(place),
            child.name,
            str(result.n),
            number(result.nik_rounded),
            result.mutu,
            f"{result.sample.verdict} (min. {result.sample.minimum})",
        ], (place, row)
        # The same figure as `skm ikm --json` gives for the child alone.
        code, output = demo.cli("ikm", "--unit", child.code, "--period", PERIOD, "--json")
        assert code == 0, output
        alone = json.loads(output)
        assert (str(alone["n"]), number(alone["nik_rounded"])) == (row[2], row[3])
    # The per-unit sample table: every unit of the scope, parents first, its own n.
    samples = table_of(doc, "Kecukupan sampel")
    assert samples[0] == ["Unit", "Populasi", "Sampel minimum", "Responden", "Kecukupan sampel"]
    assert [r[0].strip() for r in samples[1:]] == [u.name for u in data.unit_samples]
    for u, row in zip(data.unit_samples, samples[1:], strict=True):
        if u.sample is not None:
            s = u.sample
            assert row[1:] == [str(s.population), str(s.minimum), str(s.n), s.verdict]
        else:
            assert row[1:4] == ["-", "-", str(u.n)]
    assert sum(int(r[3]) for r in samples[1:]) == data.result.n
    # The elements weak across the units: the units graded C or D, counted.
    answered = [(child, r) for child, r in ranked if r.n]
    weak = table_of(doc, "Unit terendah (nilai)")
    assert weak[0] == [
        "Unsur pelayanan",
        f"Nilai ({TIMES} 25)",
        "Unit mutu C/D",
        "Unit bermutu C/D",
        "Unit terendah (nilai)",
    ]
    assert [r[0] for r in weak[1:]] == [line.name for line in data.elements_across_units]
    for line, row in zip(data.elements_across_units, weak[1:], strict=True):
        graded = sorted(
            child.name
            for child, r in answered
            for x in r.elements
            if x.code == line.code and x.mutu in ("C", "D")
        )
        assert row[2] == f"{len(graded)} dari {len(answered)}"
        assert sorted(row[3].split(", ")) == (graded or ["-"])
    text = docx_text(doc)
    assert "2.4 Cakupan dan Agregasi" in text and "Laporan ini mencakup" in text
    assert "Unsur Lemah di Unit-Unit" in text
    # The chart of the ranking: the units best first, in its alternative text.
    pictures = [shape._inline.docPr.get("descr") for shape in doc.inline_shapes]
    (bars,) = [p for p in pictures if p.startswith("Grafik IKM unit (terbaik ke terendah): ")]
    assert bars.endswith("; ".join(f"{child.name} {number(r.nik_rounded)}" for child, r in ranked))


def test_docx_lampiran_and_trend_line(demo: Demo, tmp_path: Path) -> None:
    session = demo.session
    unit = org.get_unit(session=session, code="disdukcapil")
    data = build_report(
        session=session, unit=unit, period=parse_period(PERIOD), method=ikm.DEFAULT_METHOD
    )
    out = tmp_path / "disdukcapil.docx"
    write(session, data, out)
    doc = Document(str(out))
    chapters = [
        p.text for p in doc.paragraphs if p.style is not None and p.style.name == "Heading 1"
    ]
    assert chapters[-5:] == ["BAB V PENUTUP", *LAMPIRAN]
    text = docx_text(doc)
    # The closing paragraph ends BAB V, just before the signature block.
    body = [p.text for p in doc.paragraphs]
    heading = {
        p.text: i for i, p in enumerate(doc.paragraphs) if p.style and p.style.name == "Heading 1"
    }
    closing = next(i for i, t in enumerate(body) if t.startswith("Demikian laporan hasil"))
    assert heading["BAB V PENUTUP"] < closing < heading[APPENDIX_FORM]
    assert body[closing + 2] == data.signer.title
    assert "ada pada Lampiran 3 (Profil Responden)" in text  # BAB III 3.1 points there
    # The processing sheet: every respondent once, the footer figures of the engine.
    (sheet,) = [t for t in doc.tables if t.rows[0].cells[0].text == "No. resp"]
    numbers = [row.cells[0].text for row in sheet.rows[1:] if row.cells[0].text.isdigit()]
    assert numbers == [str(i) for i in range(1, data.result.n + 1)]
    totals = {row.cells[0].text: row.cells[-1].text for row in sheet.rows}
    assert totals["IKM unit pelayanan (**)"] == number(data.result.nik_rounded)
    # The trend: a line over the grade bands, its points in the alternative text.
    (trend,) = [
        shape._inline.docPr.get("descr")
        for shape in doc.inline_shapes
        if shape._inline.docPr.get("descr").startswith("Grafik tren IKM: ")
    ]
    assert len(data.trend) == 5
    assert trend == "Grafik tren IKM: " + "; ".join(
        f"{period_text(p.period)} {number(p.result.nik_rounded)} ({p.result.mutu})"
        for p in data.trend
    )
    assert "latar menurut mutu pelayanan (tabel interval PermenPAN-RB 14/2017)" in text

"""The DOCX report of the Kendari demo (seeded once for the module), read back with python-docx
and printed by LibreOffice Writer: the figures as `skm ikm --json` gives them, Word's structures
(heading styles, TOC and page fields, repeating header rows)."""

import io
import json
import re
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from app.core import ikm
from app.core.periods import parse_period
from app.reports.docx import write_docx
from app.reports.wording import number
from app.services import org
from app.services.report_data import build_report
from tests.conftest import DEMO_PERIOD as PERIOD
from tests.conftest import Demo
from tests.test_docx import docx_rows, docx_text, unsur_table
from tests.test_reports import ENGLISH, PERIOD_CODE, TIMES
from tests.tools import office_to_pdf, pdf_lines, pdf_text

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
        children = {row[0]: row for row in docx_rows(doc) if len(row) == 5}
        assert "Dinas Kependudukan dan Pencatatan Sipil" in children
    if method == "rounded-2004":
        assert "bobot 0,111; NRR per unsur dibulatkan 3 desimal" in text


def test_docx_uses_word_structures(demo: Demo, tmp_path: Path) -> None:
    unit = org.get_unit(session=demo.session, code="kendari")
    data = build_report(
        session=demo.session, unit=unit, period=parse_period(PERIOD), method=ikm.DEFAULT_METHOD
    )
    out = tmp_path / "skm.docx"
    write_docx(data, out)
    doc = Document(str(out))
    styled = {(p.style.name if p.style else "", p.text) for p in doc.paragraphs}
    for chapter in (
        "KATA PENGANTAR",
        "BAB I PENDAHULUAN",
        "BAB II PENGUMPULAN DATA",
        "BAB III HASIL PENGOLAHAN DATA",
        "BAB IV ANALISIS",
        "BAB V PENUTUP",
        "LAMPIRAN: KUESIONER",
    ):
        assert ("Heading 1", chapter) in styled
        assert ("toc 1", chapter) in styled  # listed in the contents before Word updates it
    assert ("Heading 2", "3.2 Indeks Kepuasan Masyarakat per Unsur") in styled
    body = doc.element.body
    instructions = [" ".join(t.text.split()) for t in body.iter(qn("w:instrText"))]
    assert instructions == ['TOC \\o "1-2" \\h \\z \\u']
    assert doc.settings.element.find(qn("w:updateFields")) is not None
    # Every table's first row repeats on each page; no other row does.
    for table in doc.tables:
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
    # Two charts with their figures in the alternative text, in the DOCX's colours.
    pictures = [shape._inline.docPr.get("descr") for shape in doc.inline_shapes]
    assert len(pictures) == 2
    assert pictures[0].startswith(f"Grafik nilai per unsur (NRR {TIMES} 25): U1 Persyaratan ")
    assert pictures[1].startswith("Grafik tren IKM: ")
    assert doc.core_properties.language == "id-ID"
    assert doc.core_properties.title == (
        "Laporan Hasil Survei Kepuasan Masyarakat Pemerintah Kota Kendari Triwulan III Tahun 2026"
    )
    # The same data on the same day is the same file (one ETag from every worker).
    again = io.BytesIO()
    write_docx(data, again)
    assert again.getvalue() == out.read_bytes()


@pytest.mark.slow
def test_libreoffice_writer_prints_the_docx(demo: Demo, tmp_path: Path) -> None:
    unit = org.get_unit(session=demo.session, code="disdukcapil")
    data = build_report(
        session=demo.session, unit=unit, period=parse_period(PERIOD), method=ikm.DEFAULT_METHOD
    )
    out = tmp_path / "disdukcapil.docx"
    write_docx(data, out)
    printed = office_to_pdf(out, tmp_path)
    text = pdf_text(printed)
    nik = number(data.result.nik_rounded)
    assert f"INDEKS KEPUASAN MASYARAKAT {nik} Mutu pelayanan {data.result.mutu}" in text
    assert f"IKM unit pelayanan (IKM {TIMES} 25) {nik} {data.result.mutu}" in pdf_lines(printed)
    pages = int(re.findall(r"Halaman \d+ dari (\d+)", text)[0])
    assert 8 <= pages <= 14
    assert [int(p) for p in re.findall(r"Halaman (\d+) dari", text)] == list(range(2, pages + 1))
    assert not PERIOD_CODE.search(text) and not ENGLISH.search(text)

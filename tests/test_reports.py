"""The report: its data object, the processing-sheet XLSX (layout, cached values and the
values LibreOffice recalculates from its formulas), the API route and the CLI."""

import csv
import dataclasses
import io
import itertools
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from html import unescape
from pathlib import Path

import httpx
import openpyxl
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlmodel import Session, col

from app.core import ikm
from app.core.periods import long_date, parse_period, period_text
from app.models import CounterCreate, ServiceCreate, Unit, UnitReportSettingUpdate, UnitUpdate
from app.reports import wording, xlsx
from app.reports.pdf import number, write_pdf
from app.reports.xlsx import write_xlsx
from app.services import apikeys, intake, org, report_settings, results, scopes
from app.services.report_data import ReportData, build_report, respondents
from tests.conftest import Cli
from tests.factories import bearer, make_unit, response
from tests.tools import (
    page_lines,
    page_sizes,
    pdf_lines,
    pdf_text,
    recalculate_xlsx,
    system_tool,
    xlsx_to_pdf,
)

ROWS = [
    (4, 3, 2, 4, 3, 3, 4, 3, 4),
    (3, 3, 3, 4, 3, 4, 4, 2, 3),
    (2, 3, None, 4, 3, 3, 3, 3, 3),
    (4, 4, 1, 4, 4, 4, 4, 4, 4),
    (3, 2, 2, 3, 3, 3, 3, 3, 2),
]


def _seed(session: Session) -> Unit:
    """A unit with two services (one with a counter), a child unit, and last year's data."""
    unit = make_unit(session)
    child = make_unit(session, parent=unit)
    for code in ("ktp", "kk"):
        org.create_service(
            session=session, data=ServiceCreate(unit_code=unit.code, code=code, name=code.upper())
        )
    counter = org.create_counter(
        session=session,
        data=CounterCreate(unit_code=unit.code, code="loket-1", name="Loket 1", service_code="ktp"),
    )
    ktp = org.get_service(session=session, unit=unit, code="ktp")
    when = datetime(2026, 3, 2, 3, tzinfo=UTC)
    items = []
    for i, answers in enumerate(ROWS):
        item = response(answers, when)
        profile = {"sex": "P" if i % 2 else "L", "age": 20 + 10 * i, "education": "SMA"}
        items.append(item.model_copy(update={**profile, "suggestion": f"  saran   ke-{i} "}))
    intake.record_responses(
        session=session, unit=unit, items=items[:3], channel="paper", service=ktp, counter=counter
    )
    intake.record_responses(session=session, unit=unit, items=items[3:], channel="paper")
    intake.record_responses(
        session=session, unit=child, items=[response((4,) * 9, when)], channel="paper"
    )
    last_year = [response((2,) * 9, datetime(2025, 5, 1, 3, tzinfo=UTC))]
    intake.record_responses(session=session, unit=unit, items=last_year, channel="paper")
    org.set_population(session=session, unit=unit, period=parse_period("2026"), population=40)
    return unit


def _report(session: Session, unit: Unit, method: ikm.Method = ikm.DEFAULT_METHOD) -> ReportData:
    """The unit's own responses only (the five ROWS), whose sheet rows the tests know."""
    return build_report(
        session=session,
        unit=unit,
        period=parse_period("2026"),
        method=method,
        include_children=False,
    )


def _write_pdf(session: Session, data: ReportData, out: Path) -> None:
    """The PDF with its processing sheet's rows read from the database, as the routes do."""
    unit = org.get_unit(session=session, code=data.unit.code)
    write_pdf(data, respondents(session, data, unit), out)


def test_report_data_holds_every_table(session: Session) -> None:
    unit = _seed(session)
    data = _report(session, unit)
    scope = scopes.Scope(unit=unit, period=parse_period("2026"), include_children=False)
    assert data.result == results.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
    assert data.result.n == 5
    assert data.result.sample is not None and data.result.sample.verdict == "belum memenuhi"
    tables = {t.title: [(r.label, r.count, str(r.percent)) for r in t.rows] for t in data.profile}
    assert tables["Jenis kelamin"] == [("Laki-laki", 3, "60.00"), ("Perempuan", 2, "40.00")]
    assert tables["Usia"][:4] == [
        ("< 20 tahun", 0, "0.00"),
        ("20-29 tahun", 1, "20.00"),
        ("30-39 tahun", 1, "20.00"),
        ("40-49 tahun", 1, "20.00"),
    ]
    assert ("Tidak diisi", 2, "40.00") in tables["Jenis layanan"]
    assert [(g.code, g.result.n) for g in data.services] == [("kk", 0), ("ktp", 3)]
    assert [(g.code, g.result.n) for g in data.counters] == [("loket-1", 3)]
    # The population is the unit's: a service or counter gets no verdict of its own.
    assert [g.result.sample for g in (*data.services, *data.counters)] == [None] * 3
    assert all(results.SUB_SCOPE_SAMPLE_NOTE in g.result.warnings for g in data.services)
    assert [(g.result.n, str(g.result.nik_rounded)) for g in data.children] == [(1, "100.00")]
    assert data.weakest[0].code == "waktu"  # (2 + 3 + 1 + 2) / 4 = 2.00
    weakest = [line.result.nrr or 0 for line in data.weakest]
    assert weakest == sorted(weakest)
    assert data.strongest[0].code == "biaya"  # all 4 but one 3
    assert [(p.period.label, p.result.n) for p in data.trend] == [("2025", 1), ("2026", 5)]
    same = results.trend(
        session=session,
        scope=scope,
        periods=[parse_period(p) for p in ("2025", "2026")],
        method=ikm.DEFAULT_METHOD,
    )
    assert [(p.period, p.result) for p in data.trend] == same
    assert data.suggestions[0].startswith("saran ke-") and len(data.suggestions) == 5
    assert [len(r) for r in respondents(session, data, unit)] == [9] * 5


def test_pooled_report_adds_up_the_subtree(session: Session, tmp_path: Path) -> None:
    unit = _seed(session)
    (child,) = org.children(session=session, unit=unit)
    ktp = org.create_service(
        session=session, data=ServiceCreate(unit_code=child.code, code="ktp-el", name="KTP")
    )
    when = datetime(2026, 4, 1, 3, tzinfo=UTC)
    items = [response((3,) * 9, when) for _ in range(2)]
    intake.record_responses(session=session, unit=child, items=items, channel="paper", service=ktp)
    org.set_population(session=session, unit=child, period=parse_period("2026"), population=10)
    data = build_report(
        session=session, unit=unit, period=parse_period("2026"), method=ikm.DEFAULT_METHOD
    )  # the unit and its descendants by default
    assert data.result.n == 5 + 1 + 2
    assert data.result.coverage == ikm.Coverage((unit.code, child.code), 2)
    assert data.result.sample is not None and data.result.sample.population == 40 + 10
    services_table = next(t for t in data.profile if t.title == "Jenis layanan")
    rows = [(r.label, r.count, str(r.percent)) for r in services_table.rows]
    # the parent's KTP (3) and the child's service of the same name (2) are one row
    assert rows == [("KK", 0, "0.00"), ("KTP", 5, "62.50"), ("Tidak diisi", 3, "37.50")]
    pdf = tmp_path / "pooled.pdf"
    _write_pdf(session, data, pdf)
    body = " ".join(pdf_text(pdf).split())
    assert "beserta unit di bawahnya (1 unit)" in body
    assert "Populasi (pengguna layanan) periode ini 50 orang (jumlah populasi unit-unit" in body
    assert f"Cakupan: 2 unit, 2 di antaranya dengan responden ({unit.code}, {child.code})." in body
    book = tmp_path / "pooled.xlsx"
    write_xlsx(data, respondents(session, data, unit), book)
    sheet = openpyxl.load_workbook(book)["Pengolahan Data"]
    assert sheet["B6"].value == (
        f": 2 unit, 2 di antaranya dengan responden ({unit.code}, {child.code})"
    )
    assert [c.value for c in sheet[8 + 7][:1]] == [8]  # the last of the eight respondents


def test_ranking_judges_each_branch_against_its_populations(session: Session) -> None:
    root = make_unit(session)
    middle = make_unit(session, parent=root)
    leaf = make_unit(session, parent=middle)
    year = parse_period("2026")
    org.set_population(session=session, unit=middle, period=year, population=40)
    org.set_population(session=session, unit=leaf, period=year, population=10)
    ((ranked, result),) = results.ranking(
        session=session, parent=root, period=year, method=ikm.DEFAULT_METHOD
    )
    assert ranked.id == middle.id
    assert result.sample is not None and result.sample.population == 50
    pooled = scopes.Scope(unit=middle, period=year, include_children=True)
    assert results.scope_population(session=session, scope=pooled) == 50


def test_xlsx_layout_and_cached_values(session: Session, tmp_path: Path) -> None:
    unit = _seed(session)
    data = _report(session, unit, ikm.Method(weight="0.111", round_nrr=3))
    book = tmp_path / "skm.xlsx"
    write_xlsx(data, respondents(session, data, unit), book)
    formulas = openpyxl.load_workbook(book)
    assert formulas.sheetnames == [
        "Pengolahan Data",
        "Ringkasan",
        "Profil",
        "Per Layanan",
        "Per Unit",
        "Saran",
    ]
    sheet = formulas["Pengolahan Data"]
    assert sheet["A1"].value.startswith("PENGOLAHAN DATA SURVEI KEPUASAN MASYARAKAT")
    assert sheet["B3"].value == f": {unit.name}"
    assert [c.value for c in sheet[7][:10]] == ["No. resp", *(f"U{i}" for i in range(1, 10))]
    assert [c.value for c in sheet[8][:10]] == [1, *ROWS[0]]
    assert sheet["D10"].value is None  # an unanswered element stays blank
    footer = [sheet.cell(row=r, column=1).value for r in range(13, 20)]
    assert footer == [
        "Σ nilai/unsur",
        "NRR/unsur",
        "NRR tertimbang/unsur",
        "Σ NRR tertimbang (*)",
        "IKM unit pelayanan (**)",
        "Mutu pelayanan",
        "Bobot per unsur",
    ]
    assert sheet["B13"].value == "=SUM(B8:B12)"
    assert sheet["B14"].value == "=ROUND(SUM(B8:B12)/COUNT(B8:B12),3)"
    assert sheet["B15"].value == "=B14*$B$19"
    assert sheet["B16"].value == "=SUM(B15:J15)"
    assert sheet["B17"].value == "=B16*25"
    assert sheet["B19"].value == 0.111
    cached = openpyxl.load_workbook(book, data_only=True)["Pengolahan Data"]
    assert cached["D13"].value == 8 and cached["D14"].value == 2.0
    assert _cents(cached["B17"].value) == data.result.nik_rounded
    assert cached["B18"].value == data.result.mutu
    saran = formulas["Saran"]
    assert saran["B4"].value.startswith("saran ke-")


def test_xlsx_sheets_print_on_a4_to_the_page_width(session: Session, tmp_path: Path) -> None:
    unit = _seed(session)
    data = _report(session, unit)
    book = tmp_path / "skm.xlsx"
    write_xlsx(data, respondents(session, data, unit), book)
    workbook = openpyxl.load_workbook(book)
    landscape = {"Pengolahan Data", "Ringkasan", "Per Layanan", "Per Unit"}
    for sheet in workbook:
        setup = sheet.page_setup
        assert (setup.paperSize, setup.orientation) == (
            9,  # A4
            "landscape" if sheet.title in landscape else "portrait",
        ), sheet.title
        # One page wide (fitToWidth 1 is the file format's default), as many down as needed.
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (setup.fitToWidth or 1, setup.fitToHeight) == (1, 0)
        assert sheet.print_options.horizontalCentered
        assert sheet.oddHeader.left.text == "&A"  # the sheet's name
        assert sheet.oddHeader.right.text == f"{unit.name}, {period_text(data.period)}"
        assert sheet.oddFooter.center.text == "Halaman &P dari &N"
    processing = workbook["Pengolahan Data"]
    assert processing.print_title_rows == "$7:$7"  # the "No. resp, U1 .. U9" row
    # five respondents (8-12), the footer (13-19), the legend, the elements and the grades
    assert processing.print_area == "'Pengolahan Data'!$A$1:$J$46"
    assert processing["A46"].value == "4" and processing["I46"].value == "Sangat baik"
    # the legend on a page of its own: a break after the footer's last row, "Bobot per unsur"
    assert [b.id for b in processing.row_breaks.brk] == [19]
    # The title and the long lines wrap inside the printed columns, in rows tall enough.
    assert "A1:J1" in processing.merged_cells and processing.row_dimensions[1].height > 15
    assert processing["B5"].value.startswith(f": {period_text(data.period)}; {data.method_text}")
    assert processing["B5"].alignment.wrap_text and "B5:J5" in processing.merged_cells
    # The values stay exact; the formats show three decimals for NRR, two for the NIK.
    summary = workbook["Ringkasan"]
    u3 = data.result.elements[2]
    assert summary["E8"].value == float(u3.nrr or 0) and summary["E8"].number_format == "0.000"
    assert summary["F8"].number_format == "0.000" and summary["G8"].number_format == "0.00"
    assert summary["B17"].value == "IKM (Σ NRR tertimbang)"
    # (XlsxWriter writes 16 significant digits, as Excel keeps 15)
    assert summary["C17"].value == pytest.approx(float(data.result.ikm or 0), rel=1e-15)
    assert summary["C17"].number_format == "0.000"
    assert (summary["C18"].value, summary["C18"].number_format) == (
        float(data.result.nik_rounded or 0),
        "0.00",
    )


def _cents(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.slow
@pytest.mark.parametrize("weight", ["exact", "0.111"])
def test_libreoffice_recalculates_the_engines_nik(
    session: Session, tmp_path: Path, weight: str
) -> None:
    unit = _seed(session)
    method = ikm.Method(weight=weight)
    data = _report(session, unit, method)
    # Wrong cached values (another method's), so only a real recalculation gives the NIK.
    other = _report(session, unit, ikm.Method(weight="0.071"))
    book = tmp_path / "skm.xlsx"
    write_xlsx(
        dataclasses.replace(data, result=other.result), respondents(session, data, unit), book
    )
    recalculated = openpyxl.load_workbook(recalculate_xlsx(book, tmp_path), data_only=True)
    sheet = recalculated["Pengolahan Data"]
    assert _cents(sheet["B17"].value) == data.result.nik_rounded != other.result.nik_rounded
    assert sheet["B18"].value == data.result.mutu
    for i, element in enumerate(data.result.elements):
        assert element.nrr is not None
        assert abs(sheet.cell(row=14, column=2 + i).value - float(element.nrr)) < 1e-9


@dataclasses.dataclass(frozen=True)
class _Word:
    text: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float


@dataclasses.dataclass(frozen=True)
class _Page:
    width: float
    height: float
    words: tuple[_Word, ...]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


def _printed_pages(pdf: Path) -> list[_Page]:
    """Each page of a PDF with the box of every word on it (pdftotext -bbox)."""
    html = subprocess.run(
        [system_tool("pdftotext"), "-bbox", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    word = re.compile(
        r'<word xMin="([^"]+)" yMin="([^"]+)" xMax="([^"]+)" yMax="([^"]+)">([^<]*)</word>'
    )
    pages = []
    for width, height, body in re.findall(
        r'<page width="([^"]+)" height="([^"]+)">(.*?)</page>', html, re.S
    ):
        words = tuple(
            _Word(unescape(text), float(x0), float(y0), float(x1), float(y1))
            for x0, y0, x1, y1, text in word.findall(body)
        )
        pages.append(_Page(float(width), float(height), words))
    return pages


def _overlapping(words: tuple[_Word, ...]) -> list[tuple[str, str]]:
    """Pairs of words drawn over each other: a text that a cell cuts off runs under the next
    cell's text. (The boxes of two lines of one wrapped text overlap by a point or two.)"""

    def overlap(low: float, high: float, other_low: float, other_high: float) -> float:
        return min(high, other_high) - max(low, other_low)

    return [
        (a.text, b.text)
        for i, a in enumerate(words)
        for b in words[i + 1 :]
        if overlap(a.x_min, a.x_max, b.x_min, b.x_max) > 0.5
        and overlap(a.y_min, a.y_max, b.y_min, b.y_max)
        > 0.5 * min(a.y_max - a.y_min, b.y_max - b.y_min)
    ]


@pytest.mark.slow
def test_libreoffice_prints_the_processing_sheet_to_the_page_width(
    session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    when = datetime(2026, 3, 2, 3, tzinfo=UTC)
    rows = [tuple(1 + (i * 7 + j * 3) % 4 for j in range(9)) for i in range(100)]
    # Saran and a service name of several lines: their rows must grow to hold them.
    saran = "Antrean pagi terlalu panjang dan ruang tunggu panas; mohon tambah kursi. "
    items = [
        response(answers, when).model_copy(update={"suggestion": saran * (1 + i % 4)})
        for i, answers in enumerate(rows)
    ]
    intake.record_responses(session=session, unit=unit, items=items, channel="paper")
    long_name = "Izin usaha (NIB) melalui OSS berbasis risiko untuk usaha mikro dan kecil " * 2
    org.create_service(
        session=session, data=ServiceCreate(unit_code=unit.code, code="nib", name=long_name)
    )
    data = _report(session, unit)
    book = tmp_path / "skm.xlsx"
    write_xlsx(data, respondents(session, data, unit), book)
    pages = _printed_pages(xlsx_to_pdf(book, tmp_path))

    # The page header names the sheet; the sheets print in order, the processing sheet first.
    def running_head(page: _Page) -> str:
        return " ".join(w.text for w in page.words if w.y_max < 50)

    processing = [p for p in pages if running_head(p).startswith("Pengolahan Data")]
    assert processing == pages[: len(processing)]
    # 100 rows of 15 pt need four landscape A4 pages at full size; the legend takes a fifth.
    # Sixteen pages, or columns pushed onto pages of their own, fail here.
    assert 4 <= len(processing) <= 5, [running_head(p) for p in pages]
    assert f"{unit.name}, {period_text(data.period)}" in running_head(processing[0])
    assert "Halaman 1 dari" in processing[0].text
    numbers: list[int] = []
    for page in processing:
        assert page.width > page.height  # landscape
        # Every page repeats the header row, all of it: the last element's column fits too.
        head_y = next(w.y_min for w in page.words if w.text == "resp")
        header = sorted((w for w in page.words if abs(w.y_min - head_y) < 1), key=lambda w: w.x_min)
        assert [w.text for w in header] == ["No.", "resp", *(f"U{i}" for i in range(1, 10))]
        # Nothing runs past the side margins (0.5 in) or is drawn over other text.
        assert all(w.x_min >= 36 - 1 and w.x_max <= page.width - 36 + 1 for w in page.words)
        assert _overlapping(page.words) == []
        # Column A below the header: the respondent numbers, then the footer's labels.
        first_answer = header[2].x_min
        column_a = sorted(
            (w for w in page.words if w.x_max < first_answer and w.y_min > head_y + 1),
            key=lambda w: w.y_min,
        )
        numbers += [int(w.text) for w in itertools.takewhile(lambda w: w.text.isdigit(), column_a)]
    assert numbers == list(range(1, 101))  # each respondent once, in order, none cut off
    # The texts wider than a column print whole (LibreOffice cuts a text at the print range).
    printed = " ".join(p.text for p in processing)
    for text in (
        xlsx.TITLE,
        data.aggregate_text,
        data.coverage_text,
        "Penanganan Pengaduan, Saran dan Masukan",
        "Nilai interval (NI)",
        "3,0644 - 3,532",
        "88,31 - 100,00",
    ):
        assert text in printed, text
    # The other sheets also keep to their pages' width and draw no text over text.
    assert long_name.strip() in " ".join(p.text for p in pages)
    for page in pages:
        assert all(w.x_min >= 0 and w.x_max <= page.width for w in page.words)
        assert _overlapping(page.words) == []


async def test_report_routes_and_subtree(client: httpx.AsyncClient, session: Session) -> None:
    unit = _seed(session)
    outside = make_unit(session)
    _, key = apikeys.create_key(
        session=session, name="bagor", scopes=["ikm:read"], unit_code=unit.code
    )
    xlsx = await client.get(
        f"/api/v1/reports/{unit.code}/2026.xlsx?weight=0.111&include_children=false",
        headers=bearer(key),
    )
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), data_only=True)
    nik = _report(session, unit, ikm.Method(weight="0.111")).result.nik_rounded
    assert _cents(book["Pengolahan Data"]["B17"].value) == nik
    assert xlsx.headers["etag"]
    rows = await client.get(f"/api/v1/reports/{unit.code}/2026-Q1.csv", headers=bearer(key))
    assert rows.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(rows.text)))) == 5 + 1  # the child's too
    for url in (f"{outside.code}/2026.xlsx", f"{outside.code}/2026.csv"):
        hidden = await client.get(f"/api/v1/reports/{url}", headers=bearer(key))
        assert hidden.status_code == 404
    bad = await client.get(f"/api/v1/reports/{unit.code}/2026.doc", headers=bearer(key))
    assert bad.status_code == 422


def test_report_cli_writes_xlsx_and_csv(run_cli: Cli, session: Session, tmp_path: Path) -> None:
    unit = _seed(session)
    book = tmp_path / "skm.xlsx"
    code, output = run_cli(
        "report", "--unit", unit.code, "--period", "2026", "--format", "xlsx", "-o", str(book)
    )
    assert code == 0, output
    assert f"wrote {book}" in output
    assert openpyxl.load_workbook(book)["Pengolahan Data"]["A8"].value == 1
    rows = tmp_path / "skm.csv"
    code, output = run_cli(
        "report", "--unit", unit.code, "--period", "2026", "--format", "csv", "-o", str(rows)
    )
    assert code == 0, output
    # the header, 2026's five responses and the child unit's one (descendants by default)
    assert len(rows.read_text().splitlines()) == 7


@pytest.mark.slow
def test_pdf_has_every_chapter_the_nik_and_the_verdict(session: Session, tmp_path: Path) -> None:
    unit = _seed(session)
    data = _report(session, unit, ikm.Method(weight="0.111"))
    pdf = tmp_path / "skm.pdf"
    _write_pdf(session, data, pdf)
    body = pdf_text(pdf)
    headings = [
        "DAFTAR ISI",
        "BAB I PENDAHULUAN",
        "BAB II PENGUMPULAN DATA",
        "BAB III HASIL PENGOLAHAN DATA",
        "BAB IV ANALISIS",
        "BAB V PENUTUP",
        "LAMPIRAN 1: KUESIONER",
        "LAMPIRAN 2: PENGOLAHAN DATA",
        "LAMPIRAN 3: PROFIL RESPONDEN",
        "LAMPIRAN 4: SARAN DAN MASUKAN",
    ]
    toc = body.index("DAFTAR ISI")
    after_toc = body.index(headings[-1], toc) + 40  # the contents list ends with it
    assert all(body.find(h, toc) < after_toc for h in headings[1:])  # listed in the contents
    positions = [body.find(h, after_toc) for h in headings[1:]]
    assert -1 not in positions and positions == sorted(positions), positions  # then in order
    assert data.result.nik_rounded is not None
    nik = number(data.result.nik_rounded)
    assert f"adalah {nik} dengan mutu pelayanan {data.result.mutu}" in body
    assert "jumlah sampel belum memenuhi" in body
    assert "Metode perhitungan: bobot 0,111; tabel interval PermenPAN-RB 14/2017." in body
    assert f"Kepala {unit.name}" in body
    assert "Halaman 2 dari" in body
    pages = subprocess.run(
        [system_tool("pdftoppm"), "-r", "30", "-png", str(pdf), str(tmp_path / "page")],
        capture_output=True,
        check=True,
    )
    assert pages.stderr == b""
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) >= 8 and all(p.stat().st_size > 1000 for p in rendered)


def test_an_empty_period_still_renders(session: Session, tmp_path: Path) -> None:
    unit = make_unit(session)
    data = build_report(
        session=session, unit=unit, period=parse_period("2030"), method=ikm.DEFAULT_METHOD
    )
    pdf = tmp_path / "empty.pdf"
    _write_pdf(session, data, pdf)
    body = pdf_text(pdf)
    assert "Belum ada jawaban yang cukup untuk menghitung IKM periode ini." in body
    assert "BAB V PENUTUP" in body
    book = tmp_path / "empty.xlsx"
    write_xlsx(data, iter(()), book)
    sheet = openpyxl.load_workbook(book)["Pengolahan Data"]
    # one blank respondent row (8), so the footer's ranges never reach the footer itself
    assert (sheet["A9"].value, sheet["B9"].value) == ("Σ nilai/unsur", "=SUM(B8:B8)")
    assert sheet["B10"].value == "=SUM(B8:B8)/COUNT(B8:B8)"


async def test_report_pdf_route(client: httpx.AsyncClient, session: Session, admin: str) -> None:
    unit = _seed(session)
    result = await client.get(f"/api/v1/reports/{unit.code}/2026.pdf", headers=bearer(admin))
    assert result.status_code == 200
    assert result.headers["content-type"] == "application/pdf"
    assert result.content.startswith(b"%PDF")


@pytest.mark.parametrize("file_format", ["pdf", "xlsx"])
async def test_an_unchanged_report_is_the_same_file_and_answers_304(
    client: httpx.AsyncClient, session: Session, admin: str, file_format: str
) -> None:
    unit = _seed(session)
    url = f"/api/v1/reports/{unit.code}/2026.{file_format}"
    first = await client.get(url, headers=bearer(admin))
    second = await client.get(url, headers=bearer(admin))
    assert first.status_code == second.status_code == 200
    assert first.content == second.content  # every worker builds the same bytes
    etag = first.headers["etag"]
    cached = await client.get(url, headers={**bearer(admin), "If-None-Match": etag})
    assert cached.status_code == 304
    intake.record_responses(
        session=session,
        unit=unit,
        items=[response((1,) * 9, datetime(2026, 7, 1, 3, tzinfo=UTC))],
        channel="paper",
    )
    changed = await client.get(url, headers={**bearer(admin), "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: an endless walk would otherwise take the run (and the memory
    of the machine) with it."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_build_report_ends_on_a_loop_in_the_tree(session: Session, tmp_path: Path) -> None:
    first = make_unit(session)
    second = make_unit(session, parent=first)
    items = [response((4,) * 9, datetime(2026, 2, 1, 3, tzinfo=UTC))]
    intake.record_responses(session=session, unit=second, items=items, channel="paper")
    # Two moves racing on an older version could close a loop; make one by hand.
    session.execute(sa.update(Unit).where(col(Unit.id) == first.id).values(parent_id=second.id))
    session.commit()
    with _deadline(20):
        data = _report(session, first)
        pooled = build_report(
            session=session, unit=first, period=parse_period("2026"), method=ikm.DEFAULT_METHOD
        )
    assert [p.code for p in data.parents] == [second.code]
    assert pooled.result.n == 1
    assert pooled.result.coverage == ikm.Coverage((first.code, second.code), 1)
    _write_pdf(session, pooled, tmp_path / "loop.pdf")


def _city(session: Session) -> Unit:
    """A parent with no responses of its own and three children: one with ROWS[:3], one with
    ROWS[3:] and a grandchild's all-4 response, one without responses."""
    city = make_unit(session)
    first, second, _silent = (make_unit(session, parent=city) for _ in range(3))
    grandchild = make_unit(session, parent=second)
    when = datetime(2026, 3, 2, 3, tzinfo=UTC)
    for unit, rows in ((first, ROWS[:3]), (second, ROWS[3:]), (grandchild, [(4,) * 9])):
        items = [response(answers, when) for answers in rows]
        intake.record_responses(session=session, unit=unit, items=items, channel="paper")
    org.set_population(session=session, unit=first, period=parse_period("2026"), population=40)
    return city


def _mean_report(session: Session, city: Unit, method: ikm.Method) -> ReportData:
    return build_report(
        session=session,
        unit=city,
        period=parse_period("2026"),
        method=method,
        aggregate="mean_of_children",
    )


def test_report_mean_of_children_says_so_and_the_sheet_averages_them(
    session: Session, tmp_path: Path
) -> None:
    city = _city(session)
    method = ikm.Method(weight="0.111")
    data = _mean_report(session, city, method)
    scope = scopes.Scope(unit=city, period=parse_period("2026"))
    assert data.result == results.scope_ikm(
        session=session, scope=scope, method=method, aggregate="mean_of_children"
    )
    averaged = [g.result for g in data.children if g.result.n]
    assert (data.mean_of_children, data.sheet_rows, len(averaged), data.result.n) == (
        True,
        2,
        2,
        6,
    )
    assert data.aggregate_text == (
        "rerata unit: rata-rata nilai 2 unit di bawahnya (setiap unit berbobot sama); 1 unit "
        "tanpa responden tidak diikutkan"
    )
    assert data.result.sample is not None and data.result.sample.population == 40
    pdf = tmp_path / "mean.pdf"
    _write_pdf(session, data, pdf)
    body = pdf_text(pdf)
    assert "rata-rata nilai unit di bawahnya (2 unit)" in body
    assert f"Nilai IKM dihitung sebagai {data.aggregate_text}." in body
    assert "Catatan: NRR setiap unsur adalah rata-rata NRR 2 unit di bawahnya (rerata unit)" in body
    assert not ENGLISH.search(body) and not PERIOD_CODE.search(body)
    assert f"Nilai ini adalah {data.aggregate_text}." in body
    book = tmp_path / "mean.xlsx"
    write_xlsx(data, respondents(session, data, city), book)
    sheet = openpyxl.load_workbook(book)["Pengolahan Data"]
    assert sheet["A7"].value == "No. unit"
    for row, child in zip((8, 9), averaged, strict=True):
        nrrs = [sheet.cell(row=row, column=2 + i).value for i in range(9)]
        assert nrrs == [float(e.nrr) for e in child.elements if e.nrr is not None]
    assert [sheet.cell(row=r, column=1).value for r in (10, 11)] == [
        "Σ NRR unit/unsur",
        "Rata-rata NRR unit/unsur",
    ]
    assert (sheet["B10"].value, sheet["B11"].value) == ("=SUM(B8:B9)", "=SUM(B8:B9)/COUNT(B8:B9)")
    assert sheet["B5"].value.endswith(f"; {data.aggregate_text}")
    per_unit = openpyxl.load_workbook(book)["Per Unit"]
    assert [c.value for c in per_unit[3]][6:] == ["Unit dicakup", "Unit dengan responden"]
    pooled_units = [tuple(c.value for c in per_unit[4 + i])[6:] for i in range(3)]
    assert pooled_units == [
        (g.result.coverage.units, g.result.coverage.units_with_responses)
        for g in data.children
        if g.result.coverage
    ]
    assert sorted(pooled_units) == [(1, 0), (1, 1), (2, 2)]  # silent, first, second+grandchild
    cached = openpyxl.load_workbook(book, data_only=True)["Pengolahan Data"]
    assert cached["B11"].value == float(data.result.elements[0].nrr or 0)
    assert _cents(cached["B14"].value) == data.result.nik_rounded


@pytest.mark.slow
def test_libreoffice_recalculates_the_mean_of_children(session: Session, tmp_path: Path) -> None:
    city = _city(session)
    method = ikm.Method(weight="0.111", round_nrr=3)
    data = _mean_report(session, city, method)
    pooled = build_report(session=session, unit=city, period=parse_period("2026"), method=method)
    book = tmp_path / "mean.xlsx"
    # The pooled figure's cached values: only a real recalculation gives the mean's NIK.
    wrong = dataclasses.replace(
        data, result=dataclasses.replace(data.result, nik=pooled.result.nik)
    )
    write_xlsx(wrong, respondents(session, data, city), book)
    sheet = openpyxl.load_workbook(recalculate_xlsx(book, tmp_path), data_only=True)
    nik = sheet["Pengolahan Data"]["B14"].value
    assert _cents(nik) == data.result.nik_rounded != pooled.result.nik_rounded


async def test_report_route_and_cli_take_the_aggregate(
    client: httpx.AsyncClient, session: Session, admin: str, run_cli: Cli, tmp_path: Path
) -> None:
    city = _city(session)
    url = f"/api/v1/reports/{city.code}/2026.xlsx?aggregate=mean_of_children"
    found = await client.get(url, headers=bearer(admin))
    assert found.status_code == 200, found.text
    cached = openpyxl.load_workbook(io.BytesIO(found.content), data_only=True)["Pengolahan Data"]
    mean = _mean_report(session, city, ikm.DEFAULT_METHOD)
    assert _cents(cached["B14"].value) == mean.result.nik_rounded
    book = tmp_path / "mean.xlsx"
    code, output = run_cli(
        "report", "--unit", city.code, "--period", "2026", "--format", "xlsx",
        "--aggregate", "mean-of-children", "-o", str(book),
    )  # fmt: skip
    assert code == 0, output
    assert book.read_bytes() == found.content
    own = await client.get(
        f"/api/v1/reports/{city.code}/2026.pdf?aggregate=mean_of_children&include_children=false",
        headers=bearer(admin),
    )
    assert (own.status_code, own.json()["error"]) == (422, "validation_error")


# --- the PDF as a unit head signs it: Indonesian, its numbers, signer, logo, any script ---

ENGLISH = re.compile(r"\b(weight|exact|interval table|rounded|pooled|mean of|of the form)\b")
TIMES = "\N{MULTIPLICATION SIGN}"
PERIOD_CODE = re.compile(r"\b\d{4}-(S[12]|Q[1-4]|\d{2})\b|\d{4}-\d{2}-\d{2}")


@pytest.mark.parametrize(
    ("period", "words"),
    [
        ("2026", "Tahun 2026"),
        ("2026-S1", "Semester I Tahun 2026"),
        ("2026-Q1", "Triwulan I Tahun 2026"),
        ("2026-03", "Bulan Maret 2026"),
        ("2026-01-01..2026-03-31", "1 Januari 2026 s.d. 31 Maret 2026"),
    ],
)
@pytest.mark.parametrize(
    "method",
    [ikm.DEFAULT_METHOD, ikm.Method(weight="0.111", round_nrr=3, table="2004")],
    ids=["exact", "rounded-2004"],
)
def test_pdf_has_no_english_method_words_or_period_codes(
    session: Session, tmp_path: Path, period: str, words: str, method: ikm.Method
) -> None:
    unit = _seed(session)
    data = build_report(session=session, unit=unit, period=parse_period(period), method=method)
    pdf = tmp_path / "skm.pdf"
    _write_pdf(session, data, pdf)
    body = pdf_text(pdf)
    assert not ENGLISH.search(body), ENGLISH.search(body)
    assert not PERIOD_CODE.search(body), PERIOD_CODE.search(body)
    assert f"Laporan Hasil SKM {unit.name}, {words} Halaman 2 dari" in body  # the footer
    assert body.count("Metode perhitungan:") == 1  # stated once, in BAB II
    assert f"Metode perhitungan: {wording.method_text(data.method, 9)}." in body
    info = subprocess.run(
        [system_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    assert f"Title: Laporan Hasil Survei Kepuasan Masyarakat {unit.name} {words}" in " ".join(
        info.split()
    )
    if period == "2026-S1":  # last year's response makes a trend, each period in words
        trend = [(p.period, p.result) for p in data.trend]
        assert [(p.label, r.n) for p, r in trend] == [("2025-S1", 1), ("2026-S1", 6)]
        lines = pdf_lines(pdf)
        for p, r in trend:
            assert f"{period_text(p)} {r.n} {number(r.nik_rounded)} {r.mutu}" in lines


def test_pdf_unsur_table_holds_each_nrr_its_weighted_value_and_their_sum(
    session: Session, tmp_path: Path
) -> None:
    unit = _seed(session)
    for method in (ikm.DEFAULT_METHOD, ikm.Method(weight="0.111", round_nrr=3)):
        data = _report(session, unit, method)
        result = data.result
        assert result.ikm is not None and result.nik is not None
        # The engine's own identities the table shows: Σ NRR tertimbang = IKM, IKM x 25 = NIK.
        assert sum(e.weighted or 0 for e in result.elements) == result.ikm
        assert result.ikm * 25 == result.nik
        pdf = tmp_path / "skm.pdf"
        _write_pdf(session, data, pdf)
        lines = pdf_lines(pdf)
        for i, e in enumerate(result.elements, start=1):
            cells = f"{number(e.nrr, 3)} {number(e.weighted, 4)} {number(e.nik_rounded)} {e.mutu}"
            assert any(line.startswith(f"U{i} ") and line.endswith(cells) for line in lines), (
                i,
                cells,
            )
        assert f"Σ NRR tertimbang = IKM {number(result.ikm, 4)}" in lines
        total = f"IKM unit pelayanan (IKM {TIMES} 25) {number(result.nik_rounded)} {result.mutu}"
        assert total in lines
        # The NRR column holds NRRs only: the IKM is no NRR of a row.
        assert not any(
            line.startswith("IKM unit pelayanan") and number(result.ikm, 3) in line
            for line in lines
        )


def test_pdf_chart_names_every_element_and_has_a_scale_and_legend(
    session: Session, tmp_path: Path
) -> None:
    unit = _seed(session)
    data = _report(session, unit)
    pdf = tmp_path / "skm.pdf"
    _write_pdf(session, data, pdf)
    body = pdf_text(pdf)
    chart = body[body.index("Grafik nilai per unsur") :]
    for i, e in enumerate(data.result.elements, start=1):
        assert f"U{i} {data.element_name(e.code)} {number(e.nik_rounded)}" in chart
    assert "U8 Penanganan Pengaduan, Saran dan Masukan" in chart  # no longer cut off
    assert "0 20 40 60 80 100" in chart
    for letter, span, kinerja in wording.grade_bands("2017"):
        assert f"{letter} ({kinerja}): {span}" in chart


UNICODE_NAME = "Dinas Ṣalāḥ “kutip” → Kendari"
UNICODE_SARAN = "Petugas “ramah” → cepat; terima kasih Ṣalāḥ"


def test_pdf_prints_names_and_saran_outside_latin_1(session: Session, tmp_path: Path) -> None:
    unit = make_unit(session)
    org.update_unit(session=session, unit=unit, data=UnitUpdate(name=UNICODE_NAME))
    item = response((4,) * 9, datetime(2026, 3, 2, 3, tzinfo=UTC))
    item = item.model_copy(update={"suggestion": UNICODE_SARAN})
    intake.record_responses(session=session, unit=unit, items=[item], channel="paper")
    report_settings.put_settings(
        session=session,
        unit=unit,
        data=UnitReportSettingUpdate(signer_name="Dr. Ṣalāḥ “Ucok” Pasaribu"),
    )
    pdf = tmp_path / "skm.pdf"
    _write_pdf(session, _report(session, unit), pdf)
    body = pdf_text(pdf)
    assert f"Laporan Hasil SKM {UNICODE_NAME}, Tahun 2026" in body
    assert f"- {UNICODE_SARAN}" in body
    assert "Dr. Ṣalāḥ “Ucok” Pasaribu" in body
    fonts = subprocess.run(
        [system_tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    assert "DejaVuSans" in fonts and "Helvetica" not in fonts


def test_pdf_signature_block_from_the_units_settings(session: Session, tmp_path: Path) -> None:
    parent = make_unit(session)
    unit = _seed(session)
    org.update_unit(session=session, unit=unit, data=UnitUpdate(parent_code=parent.code))
    report_settings.put_settings(
        session=session, unit=parent, data=UnitReportSettingUpdate(city="Kendari")
    )
    data = _report(session, unit)
    pdf = tmp_path / "default.pdf"
    _write_pdf(session, data, pdf)
    body = pdf_text(pdf)
    # Unset: "Kepala " + the name, lines for the name and NIP, the parent's city, today.
    today = long_date(data.generated_at)
    block = f"Kendari, {today} Kepala {unit.name} (................................) NIP. ......"
    assert block in body
    assert body.count(block) == 2  # under the kata pengantar and in BAB V
    assert "Puji syukur kami panjatkan" in body  # the standard kata pengantar
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
    pdf = tmp_path / "set.pdf"
    _write_pdf(session, _report(session, unit), pdf)
    body = pdf_text(pdf)
    assert (
        body.count(
            "Baubau, 10 Juli 2026 Kepala Dinas Kependudukan dan Pencatatan Sipil "
            "Drs. La Ode Muhammad, M.Si. NIP. 19800101 200501 1 001"
        )
        == 2
    )
    assert "KATA PENGANTAR Paragraf pertama pengantar. Paragraf kedua pengantar." in body
    assert "Puji syukur" not in body and "......" not in body


def test_pdf_prints_the_nearest_logo_on_the_cover_and_every_header(
    session: Session, tmp_path: Path
) -> None:
    parent = make_unit(session)
    unit = make_unit(session, parent=parent)
    png = io.BytesIO()
    Image.new("RGB", (120, 60), (0, 121, 107)).save(png, "PNG")
    report_settings.set_logo(session=session, unit=parent, content=png.getvalue())
    pdf = tmp_path / "logo.pdf"
    _write_pdf(session, _report(session, unit), pdf)
    listed = subprocess.run(
        [system_tool("pdfimages"), "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    pages = [int(line.split()[0]) for line in listed]
    sizes = {(line.split()[3], line.split()[4]) for line in listed}
    total = int(pdf_text(pdf).rsplit("Halaman ", 1)[1].split(" dari ")[1])
    assert pages == list(range(1, total + 1)) and sizes == {("120", "60")}
    without = tmp_path / "none.pdf"
    _write_pdf(session, _report(session, make_unit(session)), without)
    assert (
        subprocess.run(
            [system_tool("pdfimages"), "-list", str(without)], capture_output=True, text=True
        ).stdout.count("\n")
        == 2
    )  # the header lines only


@pytest.mark.parametrize("saran", [0, 3, 6, 9, 12, 15])
def test_signature_stays_with_the_closing_paragraph(
    session: Session, tmp_path: Path, saran: int
) -> None:
    unit = make_unit(session)
    when = datetime(2026, 3, 2, 1, tzinfo=UTC)
    items = [
        response((3,) * 9, when).model_copy(
            update={"suggestion": f"Saran {i}: " + "antrean perlu diperbaiki " * 12}
        )
        for i in range(saran)
    ] or [response((3,) * 9, when)]
    intake.record_responses(session=session, unit=unit, items=items, channel="paper")
    data = build_report(
        session=session, unit=unit, period=parse_period("2026"), method=ikm.DEFAULT_METHOD
    )
    pdf = tmp_path / "signed.pdf"
    write_pdf(data, respondents(session, data, unit), pdf)
    pages = len(page_sizes(pdf))
    signed = [p for p in range(1, pages + 1) if any("NIP. ...." in x for x in page_lines(pdf, p))]
    assert len(signed) == 2  # the kata pengantar and BAB V
    closing = page_lines(pdf, signed[1])
    assert any(line.startswith("Demikian laporan hasil Survei Kepuasan") for line in closing)
    foreword = page_lines(pdf, signed[0])
    assert any(line.startswith("Kami menyampaikan terima kasih") for line in foreword)

"""The report as a workbook: the regulation's processing sheet with live formulas, and tables.

Sheet "Pengolahan Data" is the annex sheet auditors know: one row per respondent, then the
sums, NRR, NRR tertimbang, their total and the IKM as spreadsheet formulas over those rows,
implementing the report's method (weight, roundings), so the arithmetic can be checked in the
sheet itself. For a mean of child units the rows are the children's NRR per element instead,
and the same formulas (SUM / COUNT) give the mean NRR. Each formula also carries its value
from the IKM engine, which Excel shows before it recalculates. XlsxWriter's constant-memory
mode writes rows as they come.
"""

import itertools
import tempfile
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from app.core import ikm
from app.services.report_data import GroupIkm, ReportData

TITLE = "PENGOLAHAN DATA SURVEI KEPUASAN MASYARAKAT PER RESPONDEN DAN PER UNSUR PELAYANAN"
FIRST_ROW = 7  # zero-based row of the first respondent (row 8 in the sheet)
PROCESSING_SHEET = "xl/worksheets/sheet1.xml"  # the first sheet written
GRADE_TABLE = {
    "2017": (
        ("1", "1,00 - 2,5996", "25,00 - 64,99", "D", "Tidak baik"),
        ("2", "2,60 - 3,064", "65,00 - 76,60", "C", "Kurang baik"),
        ("3", "3,0644 - 3,532", "76,61 - 88,30", "B", "Baik"),
        ("4", "3,5324 - 4,00", "88,31 - 100,00", "A", "Sangat baik"),
    ),
    "2004": (
        ("1", "1,00 - 1,75", "25,00 - 43,75", "D", "Tidak baik"),
        ("2", "1,76 - 2,50", "43,76 - 62,50", "C", "Kurang baik"),
        ("3", "2,51 - 3,25", "62,51 - 81,25", "B", "Baik"),
        ("4", "3,26 - 4,00", "81,26 - 100,00", "A", "Sangat baik"),
    ),
}


def write_xlsx(
    data: ReportData, respondents: Iterable[tuple[float | None, ...]], out: IO[bytes] | Path
) -> None:
    """Write the workbook. ``respondents`` yields each row of the processing sheet in element
    order (as ``report_data.respondents`` does); it is read once, a row at a time, and only
    its first ``data.sheet_rows`` rows are used (the rows the footer formulas cover)."""
    with tempfile.TemporaryDirectory() as tmp:
        draft = Path(tmp) / "draft.xlsx"
        # strings_to_formulas off: a name or saran that starts with "=" stays text.
        book = xlsxwriter.Workbook(
            draft, {"constant_memory": True, "in_memory": False, "strings_to_formulas": False}
        )
        book.set_properties({"created": data.generated_at})
        fmt = _Formats(book)
        _processing_sheet(book, fmt, data)
        _summary_sheet(book, fmt, data)
        _profile_sheet(book, fmt, data)
        services = [*data.services, *data.counters]
        _groups_sheet(book, fmt, "Per Layanan", "Layanan dan loket", services)
        _groups_sheet(book, fmt, "Per Unit", "Unit di bawahnya", list(data.children), units=True)
        _suggestions_sheet(book, fmt, data)
        book.close()
        rows = itertools.islice(respondents, data.sheet_rows)
        _splice_respondents(draft, out, data, rows, fmt.cell.xf_index)


def _splice_respondents(
    draft: Path,
    out: IO[bytes] | Path,
    data: ReportData,
    respondents: Iterable[tuple[float | None, ...]],
    style: int,
) -> None:
    """Copy the workbook, streaming the respondent rows into the processing sheet.

    XlsxWriter spends about 10 us per cell; a unit-year of 100,000 responses has a million
    answer cells. The rows are plain numbers in one style, so they are written here as the
    sheet XML they become, straight into the zip, between the header row and the footer."""
    footer = f'<row r="{FIRST_ROW + data.sheet_rows + 1}"'.encode()  # rows > 0 where used
    columns = [xl_col_to_name(i) for i in range(len(data.form.elements) + 1)]
    with zipfile.ZipFile(draft) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for entry in source.infolist():
            body = source.read(entry)
            if entry.filename != PROCESSING_SHEET or data.sheet_rows == 0:
                book.writestr(entry, body)
                continue
            head, marker, tail = body.partition(footer)
            assert marker, "the footer row is where the respondents end"
            with book.open(entry, "w") as sheet:  # entry: keep the draft's fixed timestamp
                sheet.write(head)
                for number, answers in enumerate(respondents, start=1):
                    sheet.write(_row_xml(FIRST_ROW + number, columns, (number, *answers), style))
                sheet.write(marker + tail)


def _row_xml(row: int, columns: list[str], values: tuple[float | None, ...], style: int) -> bytes:
    cells = "".join(
        f'<c r="{col}{row}" s="{style}"/>'
        if value is None
        else f'<c r="{col}{row}" s="{style}"><v>{value}</v></c>'
        for col, value in zip(columns, values, strict=True)
    )
    return f'<row r="{row}" spans="1:{len(columns)}">{cells}</row>'.encode()


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.title = book.add_format({"bold": True, "font_size": 12})
        self.bold = book.add_format({"bold": True})
        self.head = book.add_format(
            {
                "bold": True,
                "border": 1,
                "align": "center",
                "valign": "vcenter",
                "bg_color": "#DDEBF7",
            }
        )
        self.cell = book.add_format({"border": 1, "align": "center"})
        self.text = book.add_format({"border": 1})
        self.wrap = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        self.label = book.add_format({"border": 1, "bold": True})
        self.number = book.add_format({"border": 1, "num_format": "0.00", "align": "center"})
        self.precise = book.add_format({"border": 1, "num_format": "0.000", "align": "center"})
        self.weight = book.add_format({"border": 1, "num_format": "0.000", "bold": True})


def _value(value: Fraction | Decimal | None) -> float | str:
    return "" if value is None else float(value)


def _rounded(expression: str, decimals: int | None) -> str:
    return expression if decimals is None else f"ROUND({expression},{decimals})"


def _processing_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Pengolahan Data")
    method, result = data.method, data.result
    table = method.table
    assert table is not None  # build_report names the table the engine graded with
    k = len(data.form.elements)
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, k, 9)
    sheet.write(0, 0, TITLE, fmt.title)
    sheet.write(2, 0, "Unit pelayanan", fmt.bold)
    sheet.write(2, 1, f": {data.unit.name}")
    sheet.write(3, 0, "Alamat", fmt.bold)
    sheet.write(3, 1, f": {data.unit.address or '-'}")
    sheet.write(4, 0, "Periode / metode", fmt.bold)
    sheet.write(4, 1, f": {data.period.label}; {method.label}; {data.aggregate_text}")
    sheet.write(5, 0, "Cakupan", fmt.bold)
    sheet.write(5, 1, f": {data.coverage_text}")
    sheet.write(6, 0, "No. unit" if data.mean_of_children else "No. resp", fmt.head)
    for i in range(k):
        sheet.write(6, 1 + i, f"U{i + 1}", fmt.head)

    # The respondent rows are spliced in afterwards (see _splice_respondents): leave room,
    # and one blank row without respondents, so no formula's range takes in its own cell.
    row = FIRST_ROW + max(data.sheet_rows, 1)
    last = row - 1  # zero-based row of the last respondent

    # The footer, as the annex prints it. The weight sits in its own cell so the formulas show
    # which weight the method used: exactly 1/k, or the printed decimal.
    weight_row, total_col = row + 6, 1
    weight_cell = xl_rowcol_to_cell(weight_row, 1, row_abs=True, col_abs=True)
    # Constant-memory mode flushes a row once a later one is written: write row by row.
    columns = [xl_col_to_name(1 + i) for i in range(k)]
    cells = [f"{col}{FIRST_ROW + 1}:{col}{last + 1}" for col in columns]
    mean = data.mean_of_children
    sheet.write(row, 0, "Σ NRR unit/unsur" if mean else "Σ nilai/unsur", fmt.label)
    for i, column_sum in enumerate(_column_sums(data)):
        sheet.write_formula(row, 1 + i, f"=SUM({cells[i]})", fmt.cell, column_sum)
    sheet.write(row + 1, 0, "Rata-rata NRR unit/unsur" if mean else "NRR/unsur", fmt.label)
    for i, element in enumerate(result.elements):
        nrr = _rounded(f"SUM({cells[i]})/COUNT({cells[i]})", method.round_nrr)
        sheet.write_formula(row + 1, 1 + i, f"={nrr}", fmt.precise, _value(element.nrr))
    sheet.write(row + 2, 0, "NRR tertimbang/unsur", fmt.label)
    for i, element in enumerate(result.elements):
        weighted = _rounded(f"{columns[i]}{row + 2}*{weight_cell}", method.round_weighted)
        sheet.write_formula(row + 2, 1 + i, f"={weighted}", fmt.precise, _value(element.weighted))
    weighted_row = f"B{row + 3}:{xl_col_to_name(k)}{row + 3}"
    sheet.write(row + 3, 0, "Σ NRR tertimbang (*)", fmt.label)
    total = _rounded(f"SUM({weighted_row})", method.round_total)
    sheet.write_formula(row + 3, total_col, f"={total}", fmt.precise, _value(result.ikm))
    total_cell = xl_rowcol_to_cell(row + 3, total_col)
    sheet.write(row + 4, 0, "IKM unit pelayanan (**)", fmt.label)
    sheet.write_formula(row + 4, total_col, f"={total_cell}*25", fmt.number, _value(result.nik))
    nik_cell = xl_rowcol_to_cell(row + 4, total_col)
    floors = ikm.GRADE_FLOORS[table]
    grade = f'IF(ROUND({nik_cell},2)>={floors[2][0]},"C","D")'
    grade = f'IF(ROUND({nik_cell},2)>={floors[1][0]},"B",{grade})'
    grade = f'IF(ROUND({nik_cell},2)>={floors[0][0]},"A",{grade})'
    sheet.write(row + 5, 0, "Mutu pelayanan", fmt.label)
    sheet.write_formula(row + 5, total_col, f"={grade}", fmt.cell, result.mutu or "")
    sheet.write(weight_row, 0, "Bobot per unsur", fmt.label)
    if method.weight == "exact":
        sheet.write_formula(weight_row, 1, f"=1/{k}", fmt.weight, 1 / k)
    else:
        sheet.write_number(weight_row, 1, float(method.weight), fmt.weight)

    row = weight_row + 2
    sheet.write(row, 0, "Keterangan:", fmt.bold)
    rows_note = (
        f"Baris 1 - {data.sheet_rows}: NRR per unsur setiap unit di bawahnya yang memiliki "
        "responden (lembar Per Unit); NRR/unsur = rata-rata NRR unit"
        if mean
        else "NRR: nilai rata-rata unsur (Σ nilai / jumlah jawaban)"
    )
    notes = [
        f"U1 - U{k}: unsur pelayanan",
        rows_note,
        "NRR tertimbang: NRR x bobot per unsur",
        "(*): Σ NRR tertimbang = IKM",
        "(**): IKM unit pelayanan = (*) x 25",
        f"Metode: {method.label}",
        f"Agregasi: {data.aggregate_text}",
    ]
    for offset, note in enumerate(notes, start=1):
        sheet.write(row + offset, 0, note)
    row += len(notes) + 2
    sheet.write(row, 0, "No.", fmt.head)
    sheet.write(row, 1, "Unsur pelayanan", fmt.head)
    sheet.write(row, 2, "Nilai rata-rata", fmt.head)
    for i, form_element in enumerate(data.form.elements):
        nrr_cell = xl_rowcol_to_cell(last + 2, 1 + i)  # the NRR/unsur row
        sheet.write(row + 1 + i, 0, f"U{i + 1}", fmt.cell)
        sheet.write(row + 1 + i, 1, form_element.name.id, fmt.text)
        value = _value(result.elements[i].nrr)
        sheet.write_formula(row + 1 + i, 2, f"={nrr_cell}", fmt.precise, value)
    row += k + 3
    headings = ("Nilai persepsi", "Nilai interval (NI)", "NIK", "Mutu", "Kinerja")
    for col, heading in enumerate(headings):
        sheet.write(row, col, heading, fmt.head)
    for offset, line in enumerate(GRADE_TABLE[table], start=1):
        for col, text in enumerate(line):
            sheet.write(row + offset, col, text, fmt.cell)


def _column_sums(data: ReportData) -> list[float]:
    """The cached values of the first footer row: each element's sum of answers, or for a
    mean of child units the sum of the averaged children's NRR."""
    if not data.mean_of_children:
        return [element.sum for element in data.result.elements]
    averaged = [c.result for c in data.children if c.result.n]
    return [
        sum(float(nrr) for c in averaged if (nrr := c.elements[i].nrr) is not None)
        for i in range(len(data.result.elements))
    ]


def _summary_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Ringkasan")
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 40)
    sheet.set_column(2, 7, 14)
    sheet.write(0, 0, f"IKM per unsur: {data.unit.name}, {data.period.label}", fmt.title)
    sheet.write(1, 0, f"Metode: {data.method.label}; {data.aggregate_text}")
    sheet.write(2, 0, f"Cakupan: {data.coverage_text}")
    headings = ("No.", "Unsur pelayanan", "n", "Σ nilai", "NRR", "NRR tertimbang", "NIK", "Mutu")
    for col, heading in enumerate(headings):
        sheet.write(4, col, heading, fmt.head)
    row = 5
    for i, element in enumerate(data.result.elements):
        values: list[Any] = [
            f"U{i + 1}",
            data.element_name(element.code),
            element.n,
            element.sum,
            _value(element.nrr),
            _value(element.weighted),
            _value(element.nik_rounded),
            element.mutu or "-",
        ]
        for col, value in enumerate(values):
            sheet.write(row, col, value, fmt.precise if col in (4, 5) else fmt.text)
        row += 1
    result = data.result
    for label, value in (
        ("Jumlah responden", result.n),
        ("IKM (Σ NRR tertimbang)", _value(result.ikm)),
        ("IKM unit pelayanan (NIK)", _value(result.nik_rounded)),
        ("Mutu pelayanan", result.mutu or "-"),
        ("Kinerja unit pelayanan", result.kinerja or "-"),
    ):
        sheet.write(row + 1, 1, label, fmt.label)
        sheet.write(row + 1, 2, value, fmt.text)
        row += 1
    if result.sample is not None:
        sheet.write(row + 1, 1, "Populasi / sampel minimum", fmt.label)
        sheet.write(row + 1, 2, f"{result.sample.population} / {result.sample.minimum}", fmt.text)
        sheet.write(row + 2, 1, "Jumlah sampel", fmt.label)
        sheet.write(row + 2, 2, result.sample.verdict, fmt.text)


def _profile_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Profil")
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 2, 14)
    sheet.write(0, 0, f"Profil responden (n = {data.result.n})", fmt.title)
    row = 2
    for table in data.profile:
        for col, heading in enumerate((table.title, "Jumlah", "Persentase (%)")):
            sheet.write(row, col, heading, fmt.head)
        for line in table.rows:
            row += 1
            sheet.write(row, 0, line.label, fmt.text)
            sheet.write(row, 1, line.count, fmt.cell)
            sheet.write(row, 2, float(line.percent), fmt.number)
        row += 2


def _groups_sheet(
    book: xlsxwriter.Workbook,
    fmt: _Formats,
    name: str,
    title: str,
    groups: list[GroupIkm],
    units: bool = False,
) -> None:
    """One row per group; for child units (``units``) also the units each figure pools."""
    sheet = book.add_worksheet(name)
    sheet.set_column(0, 0, 20)
    sheet.set_column(1, 1, 40)
    sheet.set_column(2, 5, 14)
    sheet.write(0, 0, title, fmt.title)
    headings = ["Kode", "Nama", "n", "NIK", "Mutu", "Kinerja"]
    if units:
        headings += ["Unit dicakup", "Unit dengan responden"]
    for col, heading in enumerate(headings):
        sheet.write(2, col, heading, fmt.head)
    for row, group in enumerate(groups, start=3):
        result = group.result
        values: list[Any] = [
            group.code,
            group.name,
            result.n,
            _value(result.nik_rounded),
            result.mutu or "-",
            result.kinerja or "-",
        ]
        if units and result.coverage:
            values += [result.coverage.units, result.coverage.units_with_responses]
        for col, value in enumerate(values):
            sheet.write(row, col, value, fmt.number if col == 3 else fmt.text)
    if not groups:
        sheet.write(3, 0, "Tidak ada.")


def _suggestions_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Saran")
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 100)
    sheet.write(0, 0, "Saran dan masukan responden (terbaru lebih dahulu)", fmt.title)
    sheet.write(2, 0, "No.", fmt.head)
    sheet.write(2, 1, "Saran", fmt.head)
    for row, text in enumerate(data.suggestions, start=3):
        sheet.write_number(row, 0, row - 2, fmt.cell)
        # A saran is the citizen's text: never let a spreadsheet read it as a formula.
        sheet.write_string(row, 1, text, fmt.wrap)

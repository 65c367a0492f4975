"""The report as a workbook: the regulation's processing sheet with live formulas, and tables.

Sheet "Pengolahan Data" is the annex sheet auditors know: one row per respondent, then the
sums, NRR, NRR tertimbang, their total and the IKM as spreadsheet formulas over those rows,
implementing the report's method (weight, roundings), so the arithmetic can be checked in the
sheet itself. For a mean of child units the rows are the children's NRR per element instead,
and the same formulas (SUM / COUNT) give the mean NRR. Each formula also carries its value
from the IKM engine, which Excel shows before it recalculates. XlsxWriter's constant-memory
mode writes rows as they come.

Every sheet prints on A4 one page wide (the processing sheet landscape, its header row on
every page), with the unit, period and page numbers in the page header and footer.
"""

import itertools
import math
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from app.core import ikm
from app.core.periods import period_text
from app.services.report_data import GroupIkm, ReportData

TITLE = "PENGOLAHAN DATA SURVEI KEPUASAN MASYARAKAT PER RESPONDEN DAN PER UNSUR PELAYANAN"
FIRST_ROW = 7  # zero-based row of the first respondent (row 8 in the sheet)
PROCESSING_SHEET = "xl/worksheets/sheet1.xml"  # the first sheet written
# Print setup. Column widths are in characters (of the digit 0 in the default font): a text
# cell's wrapped lines are estimated from them, as neither Excel nor LibreOffice sizes a row
# to the text of a merged cell. One character per width unit over-counts a line of ordinary
# text (narrower than digits) a little, so an estimate errs on a spare line, never a cut one.
A4 = 9  # XlsxWriter's paper code
LINE_HEIGHT = 15.0  # points, the default row of an 11-point font
MAX_ROW_HEIGHT = 409.0  # points, the most Excel allows
LABEL_WIDTH = 26  # the processing sheet's column A: "IKM unit pelayanan (**)"
ELEMENT_WIDTH = 9  # its element columns: "U1", an answer, "0.000", "100.00"
MIN_SPAN = 9  # element columns the sheet lays out at least, for its legend tables
HEADER_NAME_MAX = 120  # characters of the unit's name in the page header (Excel allows 255)
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
        _groups_sheet(book, fmt, data, "Per Layanan", "Layanan dan loket", services)
        children = list(data.children)
        _groups_sheet(book, fmt, data, "Per Unit", "Unit di bawahnya", children, units=True)
        _suggestions_sheet(book, fmt, data)
        book.close()
        rows = itertools.islice(respondents, data.sheet_rows)
        # A child unit's NRR shows three decimals, as the NRR row does; an answer is whole.
        values = fmt.precise if data.mean_of_children else fmt.cell
        _splice_respondents(draft, out, data, rows, (fmt.cell.xf_index, values.xf_index))


def _splice_respondents(
    draft: Path,
    out: IO[bytes] | Path,
    data: ReportData,
    respondents: Iterable[tuple[float | None, ...]],
    styles: tuple[int, int],
) -> None:
    """Copy the workbook, streaming the respondent rows into the processing sheet.

    XlsxWriter spends about 10 us per cell; a unit-year of 100,000 responses has a million
    answer cells. The rows are plain numbers in two styles (the row's number, its values),
    so they are written here as the sheet XML they become, straight into the zip, between
    the header row and the footer."""
    footer = f'<row r="{FIRST_ROW + data.sheet_rows + 1}"'.encode()  # rows > 0 where used
    k = len(data.form.elements)
    columns = [xl_col_to_name(i) for i in range(k + 1)]
    column_styles = [styles[0]] + [styles[1]] * k
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
                    sheet.write(
                        _row_xml(FIRST_ROW + number, columns, (number, *answers), column_styles)
                    )
                sheet.write(marker + tail)


def _row_xml(
    row: int, columns: list[str], values: tuple[float | None, ...], styles: list[int]
) -> bytes:
    cells = "".join(
        f'<c r="{col}{row}" s="{style}"/>'
        if value is None
        else f'<c r="{col}{row}" s="{style}"><v>{value}</v></c>'
        for col, value, style in zip(columns, values, styles, strict=True)
    )
    return f'<row r="{row}" spans="1:{len(columns)}">{cells}</row>'.encode()


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.title = book.add_format(
            {"bold": True, "font_size": 12, "text_wrap": True, "valign": "top"}
        )
        self.bold = book.add_format({"bold": True, "valign": "top"})
        self.head = book.add_format(
            {
                "bold": True,
                "border": 1,
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
                "bg_color": "#DDEBF7",
            }
        )
        self.cell = book.add_format({"border": 1, "align": "center", "valign": "top"})
        self.wrap = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        self.note = book.add_format({"text_wrap": True, "valign": "top"})
        self.label = book.add_format({"border": 1, "bold": True})
        self.number = book.add_format({"border": 1, "num_format": "0.00", "align": "center"})
        self.precise = book.add_format({"border": 1, "num_format": "0.000", "align": "center"})
        self.weight = book.add_format({"border": 1, "num_format": "0.000", "bold": True})


# The workbook words the period and the method as the PDF does (app.reports.wording).
def _period_text(data: ReportData) -> str:
    return period_text(data.period)


def _method_text(data: ReportData) -> str:
    return data.method_text


def _value(value: Fraction | Decimal | None) -> float | str:
    return "" if value is None else float(value)


def _rounded(expression: str, decimals: int | None) -> str:
    return expression if decimals is None else f"ROUND({expression},{decimals})"


class _Layout:
    """A sheet's column widths, and what follows from them: its print setup and the height
    of a row whose text wraps across columns."""

    def __init__(self, sheet: Worksheet, widths: Sequence[float]) -> None:
        self.sheet = sheet
        self.widths = widths
        self.last = len(widths) - 1
        self.heights: dict[int, float] = {}  # rows made taller than one line
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)

    def text(
        self,
        row: int,
        first: int,
        last: int,
        text: str,
        style: Format,
        *,
        scale: float = 1.0,
    ) -> None:
        """``text`` wrapped across columns ``first``..``last`` (one merged cell), in a row
        tall enough for its lines; ``scale`` is the text's size against the body text (a
        title in bold capitals at 12 points is about 1.4)."""
        room = sum(self.widths[first : last + 1])
        lines = max(1, math.ceil(len(text) * scale / room))
        height = min(LINE_HEIGHT * scale * lines, MAX_ROW_HEIGHT)
        if height > self.heights.get(row, LINE_HEIGHT):
            self.heights[row] = height
            self.sheet.set_row(row, height)
        if first == last:
            self.sheet.write_string(row, first, text, style)
        else:
            self.sheet.merge_range(row, first, row, last, text, style)

    def cell(self, row: int, col: int, value: Any, style: Format) -> None:
        """One cell; a text in a wrapping style gets a row tall enough for its lines, as
        LibreOffice prints a row at the height the file gives it (one line by default)."""
        if isinstance(value, str) and style.text_wrap:
            self.text(row, col, col, value, style)
        else:
            self.sheet.write(row, col, value, style)

    def print_setup(
        self, data: ReportData, *, last_row: int, landscape: bool, repeat: int | None = None
    ) -> None:
        """A4, as wide as the page (as many pages down as the rows need), the used columns
        only, ``repeat`` (a zero-based row) on every page, and the unit, period and page
        numbers in the page header and footer."""
        sheet = self.sheet
        sheet.set_paper(A4)
        if landscape:
            sheet.set_landscape()
        else:
            sheet.set_portrait()
        sheet.fit_to_pages(1, 0)
        sheet.print_area(0, 0, last_row, self.last)
        if repeat is not None:
            sheet.repeat_rows(repeat)
        sheet.center_horizontally()
        sheet.set_margins(left=0.5, right=0.5, top=0.8, bottom=0.7)
        # "&" starts a header code: a name's own ampersand is written "&&".
        unit = data.unit.name[:HEADER_NAME_MAX].replace("&", "&&")
        period = _period_text(data).replace("&", "&&")
        sheet.set_header(f"&L&A&R{unit}, {period}", {"margin": 0.3})
        sheet.set_footer("&CHalaman &P dari &N", {"margin": 0.3})


def _processing_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Pengolahan Data")
    method, result = data.method, data.result
    table = method.table
    assert table is not None  # build_report names the table the engine graded with
    k = len(data.form.elements)
    # At least nine element columns, so the legend tables below have room for their text.
    span = max(k, MIN_SPAN)
    layout = _Layout(sheet, [LABEL_WIDTH] + [ELEMENT_WIDTH] * span)
    last_col = layout.last
    layout.text(0, 0, last_col, TITLE, fmt.title, scale=1.4)
    for row, (label, text) in enumerate(
        (
            ("Unit pelayanan", data.unit.name),
            ("Alamat", data.unit.address or "-"),
            (
                "Periode / metode",
                f"{_period_text(data)}; {_method_text(data)}; {data.aggregate_text}",
            ),
            ("Cakupan", data.coverage_text),
        ),
        start=2,
    ):
        sheet.write(row, 0, label, fmt.bold)
        layout.text(row, 1, last_col, f": {text}", fmt.note)
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
    sums = fmt.precise if mean else fmt.cell
    for i, column_sum in enumerate(_column_sums(data)):
        sheet.write_formula(row, 1 + i, f"=SUM({cells[i]})", sums, column_sum)
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
    # The legend and its tables start a page of their own rather than break across two.
    sheet.set_h_pagebreaks([row - 1])
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
        f"Metode: {_method_text(data)}",
        f"Agregasi: {data.aggregate_text}",
    ]
    for offset, note in enumerate(notes, start=1):
        layout.text(row + offset, 0, last_col, note, fmt.note)
    row += len(notes) + 2
    # The elements' averages: the name across the middle columns, the value in the last two.
    name_cols, value_cols = (1, last_col - 2), (last_col - 1, last_col)
    sheet.write(row, 0, "No.", fmt.head)
    layout.text(row, *name_cols, "Unsur pelayanan", fmt.head)
    layout.text(row, *value_cols, "Nilai rata-rata", fmt.head)
    for i, form_element in enumerate(data.form.elements):
        nrr_cell = xl_rowcol_to_cell(last + 2, 1 + i)  # the NRR/unsur row
        sheet.write(row + 1 + i, 0, f"U{i + 1}", fmt.cell)
        layout.text(row + 1 + i, *name_cols, form_element.name.id, fmt.wrap)
        sheet.merge_range(row + 1 + i, *value_cols[:1], row + 1 + i, value_cols[1], "", fmt.precise)
        value = _value(result.elements[i].nrr)
        sheet.write_formula(row + 1 + i, value_cols[0], f"={nrr_cell}", fmt.precise, value)
    row += k + 3
    # The grade legend: each column of the regulation's table over columns wide enough.
    spans = ((0, 0), (1, 3), (4, 6), (7, 7), (8, last_col))
    headings = ("Nilai persepsi", "Nilai interval (NI)", "NIK", "Mutu", "Kinerja")
    for offset, line in enumerate((headings, *GRADE_TABLE[table])):
        for (first, end), text in zip(spans, line, strict=True):
            layout.text(row + offset, first, end, text, fmt.head if offset == 0 else fmt.cell)
    layout.print_setup(data, last_row=row + 4, landscape=True, repeat=6)


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
    layout = _Layout(sheet, [6, 42, 16, 9, 9, 15, 9, 8])
    last_col = layout.last
    title = f"IKM per unsur: {data.unit.name}, {_period_text(data)}"
    layout.text(0, 0, last_col, title, fmt.title, scale=1.2)
    method = f"Metode: {_method_text(data)}; {data.aggregate_text}"
    layout.text(1, 0, last_col, method, fmt.note)
    layout.text(2, 0, last_col, f"Cakupan: {data.coverage_text}", fmt.note)
    headings = ("No.", "Unsur pelayanan", "n", "Σ nilai", "NRR", "NRR tertimbang", "NIK", "Mutu")
    for col, heading in enumerate(headings):
        sheet.write(4, col, heading, fmt.head)
    # The values stay exact; the formats show NRR as the regulation's sheet does (three
    # decimals) and the NIK with two.
    styles = (fmt.cell, fmt.wrap, fmt.cell, fmt.cell, fmt.precise, fmt.precise, fmt.number)
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
            layout.cell(row, col, value, styles[col] if col < len(styles) else fmt.cell)
        row += 1
    result = data.result
    for label, value, style in (
        ("Jumlah responden", result.n, fmt.cell),
        ("IKM (Σ NRR tertimbang)", _value(result.ikm), fmt.precise),
        ("IKM unit pelayanan (NIK)", _value(result.nik_rounded), fmt.number),
        ("Mutu pelayanan", result.mutu or "-", fmt.cell),
        ("Kinerja unit pelayanan", result.kinerja or "-", fmt.cell),
    ):
        sheet.write(row + 1, 1, label, fmt.label)
        sheet.write(row + 1, 2, value, style)
        row += 1
    if result.sample is not None:
        sheet.write(row + 1, 1, "Populasi / sampel minimum", fmt.label)
        sheet.write(row + 1, 2, f"{result.sample.population} / {result.sample.minimum}", fmt.cell)
        sheet.write(row + 2, 1, "Jumlah sampel", fmt.label)
        sheet.write(row + 2, 2, result.sample.verdict, fmt.cell)
        row += 2
    layout.print_setup(data, last_row=row, landscape=True)


def _profile_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Profil")
    layout = _Layout(sheet, [36, 14, 14])
    title = f"Profil responden (n = {data.result.n})"
    layout.text(0, 0, layout.last, title, fmt.title, scale=1.2)
    row = 2
    for table in data.profile:
        for col, heading in enumerate((table.title, "Jumlah", "Persentase (%)")):
            sheet.write(row, col, heading, fmt.head)
        for line in table.rows:
            row += 1
            layout.cell(row, 0, line.label, fmt.wrap)
            sheet.write(row, 1, line.count, fmt.cell)
            sheet.write(row, 2, float(line.percent), fmt.number)
        row += 2
    layout.print_setup(data, last_row=max(row - 2, 0), landscape=False)


def _groups_sheet(
    book: xlsxwriter.Workbook,
    fmt: _Formats,
    data: ReportData,
    name: str,
    title: str,
    groups: list[GroupIkm],
    units: bool = False,
) -> None:
    """One row per group; for child units (``units``) also the units each figure pools."""
    sheet = book.add_worksheet(name)
    headings = ["Kode", "Nama", "n", "NIK", "Mutu", "Kinerja"]
    widths: list[float] = [20, 40, 8, 10, 8, 14]
    if units:
        headings += ["Unit dicakup", "Unit dengan responden"]
        widths += [14, 22]
    layout = _Layout(sheet, widths)
    layout.text(0, 0, layout.last, title, fmt.title, scale=1.2)
    for col, heading in enumerate(headings):
        sheet.write(2, col, heading, fmt.head)
    styles = (fmt.wrap, fmt.wrap, fmt.cell, fmt.number)
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
            layout.cell(row, col, value, styles[col] if col < len(styles) else fmt.cell)
    if not groups:
        sheet.write(3, 0, "Tidak ada.")
    layout.print_setup(data, last_row=2 + max(len(groups), 1), landscape=True, repeat=2)


def _suggestions_sheet(book: xlsxwriter.Workbook, fmt: _Formats, data: ReportData) -> None:
    sheet = book.add_worksheet("Saran")
    layout = _Layout(sheet, [6, 90])
    title = "Saran dan masukan responden (terbaru lebih dahulu)"
    layout.text(0, 0, layout.last, title, fmt.title, scale=1.2)
    sheet.write(2, 0, "No.", fmt.head)
    sheet.write(2, 1, "Saran", fmt.head)
    for row, text in enumerate(data.suggestions, start=3):
        sheet.write_number(row, 0, row - 2, fmt.cell)
        # A saran is the citizen's text: never let a spreadsheet read it as a formula.
        layout.text(row, 1, 1, text, fmt.wrap)
    last_row = 2 + max(len(data.suggestions), 1)
    layout.print_setup(data, last_row=last_row, landscape=False, repeat=2)

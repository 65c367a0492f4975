"""The PDF's lampiran processing sheet in the regulation's layout (SKM.md section 5): the
title block, one row per respondent (No. resp, U1..Uk) on landscape pages that repeat the
header row, then Σ nilai/unsur, NRR/unsur, NRR tertimbang/unsur, Σ NRR tertimbang (*), IKM
unit pelayanan (**) = (*) x 25, the legend, the elements' averages and the grade table.

The rows come from an iterator (``report_data.respondents``, read a chunk at a time) and at
most ``ROWS_MAX`` are printed: the pages hold what is drawn, so the cap bounds the memory and
the time; the footer's figures are the engine's over every respondent, and the sheet says
where the full list is (the XLSX's "Pengolahan Data", with live formulas). Cells are drawn
with ``FPDF.text`` and lines rather than ``cell``/``table``: a row is ten values, and a few
thousand rows must stay within the report's time budget.

The sheet's texts (title block, row labels, footer rows) are built by the public functions
below, which the DOCX's lampiran prints too; its sentences are in ``prose``.
"""

import itertools
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from fractions import Fraction

from fpdf import FPDF

from app.core.periods import period_text
from app.reports import prose
from app.reports.wording import grade_bands, number, table_text
from app.services.report_data import ReportData

TITLE = "PENGOLAHAN DATA SURVEI KEPUASAN MASYARAKAT PER RESPONDEN DAN PER UNSUR PELAYANAN"
# Respondent rows printed, about 60 landscape pages. A unit's sample is at most 384 a period
# (Krejcie-Morgan), so a unit's report fits; beyond it is a pooled pemda-wide scope, whose
# rows no one reads on paper: the XLSX holds them all, with live formulas.
ROWS_MAX = 2_000
ROW_HEIGHT = 4.4  # mm, at FONT_SIZE
HEAD_HEIGHT = 6.0
FONT_SIZE = 7.5
LABEL_WIDTH = 42.0  # mm: "IKM unit pelayanan (**)" in bold, and the row number
VALUE_WIDTH_MAX = 22.0  # mm per element: nine of them leave the page's right part empty


def title_lines(data: ReportData) -> list[tuple[str, str]]:
    """The labelled lines under the title: unit, address, period, coverage, aggregation."""
    return [
        ("Unit pelayanan", data.unit.name),
        ("Alamat", data.unit.address or "-"),
        ("Periode", period_text(data.period)),
        ("Cakupan", data.coverage_text),
        ("Agregasi", data.aggregate_text),
    ]


def headings(data: ReportData) -> list[str]:
    """The header row: the row number (a unit's, for a mean of child units), U1..Uk."""
    first = "No. unit" if data.mean_of_children else "No. resp"
    return [first, *(f"U{i}" for i in range(1, len(data.form.elements) + 1))]


def row_texts(
    data: ReportData, rows: Iterable[tuple[float | None, ...]]
) -> Iterator[tuple[str, list[str]]]:
    """Each row's label and values as printed: the respondent's number and whole answers, or
    the averaged child unit's number, code and NRR to three decimals."""
    decimals = 3 if data.mean_of_children else 0
    names = [c.code for c in data.children if c.result.n]  # a mean's rows, in order
    for number_, answers in enumerate(rows, start=1):
        label = (
            f"{number_}. {names[number_ - 1]}"
            if decimals and number_ <= len(names)
            else str(number_)
        )
        yield label, [_value(v, decimals) for v in answers]


def footer_rows(data: ReportData) -> list[tuple[str, list[str]]]:
    """The regulation's footer rows with a value per element, over every respondent (the
    engine's figures): Σ nilai, NRR, NRR tertimbang."""
    mean, elements = data.mean_of_children, data.result.elements
    sums = (
        [_sum_of_children(data, i) for i in range(len(elements))]
        if mean
        else [str(e.sum) for e in elements]
    )
    return [
        ("Σ NRR unit/unsur" if mean else "Σ nilai/unsur", sums),
        ("Rata-rata NRR/unsur" if mean else "NRR/unsur", [number(e.nrr, 3) for e in elements]),
        ("NRR tertimbang/unsur", [number(e.weighted, 4) for e in elements]),
    ]


def total_rows(data: ReportData) -> list[tuple[str, str]]:
    """The footer rows with one value across the elements' columns."""
    result = data.result
    return [
        ("Σ NRR tertimbang (*)", number(result.ikm, 4)),
        ("IKM unit pelayanan (**)", number(result.nik_rounded)),
        ("Mutu pelayanan", f"{result.mutu} ({result.kinerja})" if result.mutu else "-"),
    ]


def draw_processing_sheet(
    pdf: FPDF,
    data: ReportData,
    rows: Iterable[tuple[float | None, ...]],
    *,
    font: str,
) -> int:
    """Draw the sheet from the current (landscape) page on; returns the rows printed."""
    sheet = _Sheet(pdf, data, font)
    sheet.title_block()
    sheet.head()
    printed = sheet.body(itertools.islice(rows, ROWS_MAX))
    sheet.footer(printed)
    sheet.legend()
    return printed


class _Sheet:
    def __init__(self, pdf: FPDF, data: ReportData, font: str) -> None:
        self.pdf, self.data, self.font = pdf, data, font
        self.k = len(data.form.elements)
        self.value_width = min(VALUE_WIDTH_MAX, (pdf.epw - LABEL_WIDTH) / self.k)
        self.width = LABEL_WIDTH + self.k * self.value_width
        self.left = pdf.l_margin
        self.text_widths: dict[str, float] = {}

    def title_block(self) -> None:
        pdf, data = self.pdf, self.data
        pdf.set_font(self.font, "B", 10)
        pdf.multi_cell(0, 5.5, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        for label, text in title_lines(data):
            pdf.set_font(self.font, "", 8)
            pdf.cell(28, 4.5, label)
            pdf.multi_cell(0, 4.5, f": {text}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    def head(self) -> None:
        """The header row, where the page's rows start."""
        pdf = self.pdf
        pdf.set_font(self.font, "B", FONT_SIZE)
        pdf.set_fill_color(221, 235, 247)
        for label, width in zip(headings(self.data), self._widths(), strict=True):
            pdf.cell(width, HEAD_HEIGHT, label, border=1, align="C", fill=True)
        pdf.ln(HEAD_HEIGHT)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_font(self.font, "", FONT_SIZE)

    def _widths(self) -> list[float]:
        return [LABEL_WIDTH, *([self.value_width] * self.k)]

    def body(self, rows: Iterable[tuple[float | None, ...]]) -> int:
        """The respondent rows; a new page (with the header row) when one is full."""
        pdf = self.pdf
        bottom = pdf.h - pdf.b_margin
        page_top = pdf.get_y()
        printed = 0
        pdf.set_font(self.font, "", FONT_SIZE)
        for label, values in row_texts(self.data, rows):
            y = pdf.get_y()
            if y + ROW_HEIGHT > bottom:
                self._grid(page_top, y)
                pdf.add_page(orientation="L")
                self.head()
                page_top, y = pdf.get_y(), pdf.get_y()
            self._text_row(y, label, values)
            pdf.set_y(y + ROW_HEIGHT)
            printed += 1
        self._grid(page_top, pdf.get_y())
        return printed

    def _text_row(self, y: float, label: str, values: Sequence[str]) -> None:
        """One row's texts, centred in their cells; the grid is drawn per page."""
        pdf = self.pdf
        baseline = y + ROW_HEIGHT / 2 + 1.2
        x = self.left
        for text, width in zip((label, *values), self._widths(), strict=True):
            if text:
                pdf.text(x + (width - self._width_of(text)) / 2, baseline, text)
            x += width

    def _width_of(self, text: str) -> float:
        """The printed width of a value: a handful of distinct texts (1..4, row numbers of
        the same digits' width) repeat thousands of times, and measuring costs."""
        found = self.text_widths.get(text)
        if found is None:
            found = self.text_widths[text] = self.pdf.get_string_width(text)
        return found

    def _grid(self, top: float, bottom: float) -> None:
        """The lines of the rows drawn from ``top`` to ``bottom`` on this page."""
        pdf = self.pdf
        if bottom <= top:
            return
        pdf.set_line_width(0.15)
        y = top
        while y <= bottom + 0.01:
            pdf.line(self.left, y, self.left + self.width, y)
            y += ROW_HEIGHT
        x = self.left
        for width in (0.0, *self._widths()):
            x += width
            pdf.line(x, top, x, bottom)
        pdf.set_line_width(0.2)

    def footer(self, printed: int) -> None:
        """The regulation's footer rows over every respondent (the engine's figures)."""
        pdf, data = self.pdf, self.data
        left_out = data.sheet_rows - printed
        needed = 7 * ROW_HEIGHT + (12 if left_out else 0)
        if pdf.get_y() + needed > pdf.h - pdf.b_margin:
            pdf.add_page(orientation="L")
            self.head()
        if left_out:
            pdf.set_font(self.font, "I", FONT_SIZE)
            pdf.multi_cell(
                self.width,
                4,
                prose.sheet_capped(printed, data.sheet_rows),
                border=1,
                new_x="LMARGIN",
                new_y="NEXT",
            )
        pdf.set_font(self.font, "B", FONT_SIZE)
        for label, values in footer_rows(data):
            pdf.cell(LABEL_WIDTH, ROW_HEIGHT, label, border=1)
            pdf.set_font(self.font, "", FONT_SIZE)
            for value in values:
                pdf.cell(self.value_width, ROW_HEIGHT, value, border=1, align="C")
            pdf.set_font(self.font, "B", FONT_SIZE)
            pdf.ln(ROW_HEIGHT)
        span = self.width - LABEL_WIDTH
        for label, value in total_rows(data):
            pdf.cell(LABEL_WIDTH, ROW_HEIGHT, label, border=1)
            pdf.cell(span, ROW_HEIGHT, value, border=1, align="L")
            pdf.ln(ROW_HEIGHT)
        pdf.set_font(self.font, "", FONT_SIZE)

    def legend(self) -> None:
        """The legend box, the elements' averages and the grade table, kept on one page."""
        pdf, data = self.pdf, self.data
        table = data.method.table or "2017"
        # Two notes of up to two lines, then the averages with the grade table beside them.
        height = 3 + 4 * 4 + 2 + (self.k + 1) * ROW_HEIGHT + 2
        if pdf.get_y() + height > pdf.h - pdf.b_margin:
            pdf.add_page(orientation="L")
        pdf.ln(3)
        pdf.set_font(self.font, "", FONT_SIZE)
        for note in prose.sheet_notes(data):
            pdf.multi_cell(self.width, 4, note, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        top = pdf.get_y()
        # The elements' averages at the left, the grade table beside them at the right.
        name_width, value_width = 70.0, 22.0
        pdf.set_font(self.font, "B", FONT_SIZE)
        for text, width in (("No.", 10.0), ("Unsur pelayanan", name_width), ("NRR", value_width)):
            pdf.cell(width, ROW_HEIGHT, text, border=1, align="C")
        pdf.ln(ROW_HEIGHT)
        pdf.set_font(self.font, "", FONT_SIZE)
        for i, (element, found) in enumerate(
            zip(data.form.elements, data.result.elements, strict=True), start=1
        ):
            pdf.cell(10, ROW_HEIGHT, f"U{i}", border=1, align="C")
            pdf.cell(name_width, ROW_HEIGHT, _fit(pdf, element.name.id, name_width), border=1)
            pdf.cell(value_width, ROW_HEIGHT, number(found.nrr, 3), border=1, align="C")
            pdf.ln(ROW_HEIGHT)
        below = pdf.get_y()
        x = self.left + 10 + name_width + value_width + 10
        pdf.set_xy(x, top)
        widths = (14.0, 40.0, 28.0)
        pdf.set_font(self.font, "B", FONT_SIZE)
        for text, width in zip(("Mutu", "Nilai konversi (NIK)", "Kinerja"), widths, strict=True):
            pdf.cell(width, ROW_HEIGHT, text, border=1, align="C")
        for letter, span, kinerja in grade_bands(table):
            pdf.set_xy(x, pdf.get_y() + ROW_HEIGHT)
            pdf.set_font(self.font, "", FONT_SIZE)
            for text, width in zip((letter, span, kinerja), widths, strict=True):
                pdf.cell(width, ROW_HEIGHT, text, border=1, align="C")
        pdf.set_xy(x, pdf.get_y() + ROW_HEIGHT + 1)
        pdf.set_font(self.font, "I", 7)
        pdf.cell(0, 4, table_text(table))
        pdf.set_xy(self.left, max(below, pdf.get_y() + 5))


def _value(value: float | None, decimals: int) -> str:
    """An answer as printed: whole, or a child unit's NRR with three decimals; blank stays blank."""
    if value is None:
        return ""
    if decimals == 0:
        return str(int(value))
    return number(Decimal(str(value)), decimals)


def _sum_of_children(data: ReportData, i: int) -> str:
    """Σ of the averaged children's NRR of element ``i``, as the XLSX's first footer row."""
    total = sum(
        (
            nrr
            for c in data.children
            if c.result.n and (nrr := c.result.elements[i].nrr) is not None
        ),
        Fraction(0),
    )
    return number(total, 3)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` in the current font."""
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "…") > width - 2:
        text = text[:-1]
    return text.rstrip() + "…"

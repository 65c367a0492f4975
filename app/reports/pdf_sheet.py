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
"""

import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

from fpdf import FPDF

from app.core.periods import period_text
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
TIMES = "\N{MULTIPLICATION SIGN}"


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
        lines = [
            ("Unit pelayanan", data.unit.name),
            ("Alamat", data.unit.address or "-"),
            ("Periode", period_text(data.period)),
            ("Cakupan", data.coverage_text),
            ("Agregasi", data.aggregate_text),
        ]
        for label, text in lines:
            pdf.set_font(self.font, "", 8)
            pdf.cell(28, 4.5, label)
            pdf.multi_cell(0, 4.5, f": {text}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    def head(self) -> None:
        """The header row, where the page's rows start."""
        pdf = self.pdf
        pdf.set_font(self.font, "B", FONT_SIZE)
        pdf.set_fill_color(221, 235, 247)
        first = "No. unit" if self.data.mean_of_children else "No. resp"
        labels = [first, *(f"U{i}" for i in range(1, self.k + 1))]
        for label, width in zip(labels, self._widths(), strict=True):
            pdf.cell(width, HEAD_HEIGHT, label, border=1, align="C", fill=True)
        pdf.ln(HEAD_HEIGHT)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_font(self.font, "", FONT_SIZE)

    def _widths(self) -> list[float]:
        return [LABEL_WIDTH, *([self.value_width] * self.k)]

    def body(self, rows: Iterable[tuple[float | None, ...]]) -> int:
        """The respondent rows; a new page (with the header row) when one is full."""
        pdf = self.pdf
        decimals = 3 if self.data.mean_of_children else 0
        names = [c.code for c in self.data.children if c.result.n]  # a mean's rows, in order
        bottom = pdf.h - pdf.b_margin
        page_top = pdf.get_y()
        printed = 0
        pdf.set_font(self.font, "", FONT_SIZE)
        for number_, answers in enumerate(rows, start=1):
            y = pdf.get_y()
            if y + ROW_HEIGHT > bottom:
                self._grid(page_top, y)
                pdf.add_page(orientation="L")
                self.head()
                page_top, y = pdf.get_y(), pdf.get_y()
            label = (
                f"{number_}. {names[number_ - 1]}"
                if decimals and number_ <= len(names)
                else str(number_)
            )
            self._text_row(y, label, [_value(v, decimals) for v in answers])
            pdf.set_y(y + ROW_HEIGHT)
            printed = number_
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
        pdf, data, result = self.pdf, self.data, self.data.result
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
                f"Baris {printed + 1} sampai {data.sheet_rows} ({left_out} baris) tidak dicetak "
                f"di sini: lampiran ini memuat {printed} baris pertama. Daftar lengkap ada pada "
                "lembar Pengolahan Data berkas XLSX laporan ini. Baris-baris di bawah dihitung "
                f"dari seluruh {data.sheet_rows} baris.",
                border=1,
                new_x="LMARGIN",
                new_y="NEXT",
            )
        mean = data.mean_of_children
        elements = result.elements
        sums = (
            [_sum_of_children(data, i) for i in range(self.k)]
            if mean
            else [str(e.sum) for e in elements]
        )
        lines: list[tuple[str, list[str]]] = [
            ("Σ NRR unit/unsur" if mean else "Σ nilai/unsur", sums),
            ("Rata-rata NRR/unsur" if mean else "NRR/unsur", [number(e.nrr, 3) for e in elements]),
            ("NRR tertimbang/unsur", [number(e.weighted, 4) for e in elements]),
        ]
        pdf.set_font(self.font, "B", FONT_SIZE)
        for label, values in lines:
            pdf.cell(LABEL_WIDTH, ROW_HEIGHT, label, border=1)
            pdf.set_font(self.font, "", FONT_SIZE)
            for value in values:
                pdf.cell(self.value_width, ROW_HEIGHT, value, border=1, align="C")
            pdf.set_font(self.font, "B", FONT_SIZE)
            pdf.ln(ROW_HEIGHT)
        span = self.width - LABEL_WIDTH
        for label, value in (
            ("Σ NRR tertimbang (*)", number(result.ikm, 4)),
            ("IKM unit pelayanan (**)", number(result.nik_rounded)),
            ("Mutu pelayanan", f"{result.mutu} ({result.kinerja})" if result.mutu else "-"),
        ):
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
        notes = [
            f"Keterangan: U1 - U{self.k}: unsur pelayanan; NRR: nilai rata-rata unsur "
            "(Σ nilai / jumlah jawaban); NRR tertimbang: NRR "
            f"{TIMES} bobot per unsur; (*) Σ NRR tertimbang = IKM; (**) IKM unit pelayanan = "
            f"(*) {TIMES} 25.",
            f"Metode: {data.method_text}.",
        ]
        for note in notes:
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

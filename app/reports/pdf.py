"""The report as a PDF in the shape of a laporan hasil SKM: cover, kata pengantar, daftar isi,
BAB I-V with the signature block and the questionnaire as an appendix, in Bahasa Indonesia,
with page numbers, the unit's logo on the cover and in the page header.

Drawn with fpdf2 in DejaVu Sans, shipped in ``fonts/`` and embedded as a subset, so any name or
saran prints as written (the PDF core fonts hold Latin-1 only). The method is stated once, in
BAB II; a table carries a note only where its figures were formed differently. The sentences
come from ``prose`` and the tables' cells from ``tables`` (the DOCX prints the same), the
wording of methods, periods and numbers from ``wording`` and ``app.core.periods``.
"""

import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO

from fpdf import FPDF
from fpdf.enums import PageOrientation, ResourceAccessPolicy
from fpdf.outline import OutlineSection

from app.core import ikm
from app.core.periods import long_date, period_text
from app.reports import logo as logos
from app.reports import prose, tables
from app.reports.pdf_sheet import draw_processing_sheet
from app.reports.prose import (
    APPENDIX_FORM,
    APPENDIX_PROFILE,
    APPENDIX_SHEET,
    APPENDIX_SUGGESTIONS,
    DOTS,
    TIMES,
)
from app.reports.wording import default_foreword, differing_methods, grade_bands, nip_text, number
from app.services.report_data import GroupIkm, ReportData

__all__ = ["TIMES", "number", "write_pdf"]

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVu"
BAR_COLOURS = {"A": (46, 125, 50), "B": (25, 118, 210), "C": (245, 124, 0), "D": (198, 40, 40)}
NO_GRADE = (120, 120, 120)
SAMPLE_SUGGESTIONS = 15  # saran quoted in BAB V; the lampiran holds them all
LINE_COLOUR = (33, 33, 33)  # the trend line, dark over the light grade bands
SIGNATURE_WIDTH = 80.0
SECTION_KEEP = 25.0  # mm a section heading keeps below it on its page
TABLE_KEEP = 40.0  # mm: an opening sentence, a table's header row and two rows


def tint(colour: tuple[int, int, int], share: float = 0.22) -> tuple[int, int, int]:
    """``colour`` mixed with white: a band behind a line, light enough to read over."""
    red, green, blue = (round(255 - (255 - c) * share) for c in colour)
    return red, green, blue


def trend_floor(values: Sequence[float], table: ikm.IntervalTable) -> float:
    """The bottom of the trend chart's scale: a round ten below the lowest point (and below
    the C floor, so the band the units fear is in sight), at least 25."""
    c_floor = float(ikm.GRADE_FLOORS[table][2][0])
    return max(25.0, min(10 * ((min(values) - 5) // 10), 10 * (c_floor // 10)))


def write_pdf(
    data: ReportData, respondents: Iterable[tuple[float | None, ...]], out: IO[bytes] | Path
) -> None:
    """Write the report PDF of ``data`` to a path or a binary file. ``respondents`` yields the
    processing sheet's rows (as ``report_data.respondents`` does); it is read once, a row at a
    time, and at most ``pdf_sheet.ROWS_MAX`` rows are printed in the lampiran."""
    pdf = _Report(data)
    pdf.set_creation_date(data.generated_at)
    pdf.cover()
    pdf.foreword()
    pdf.add_page()
    pdf.insert_toc_placeholder(_render_toc, pages=1)
    pdf.bab_1()
    pdf.bab_2()
    pdf.bab_3()
    pdf.bab_4()
    pdf.bab_5()
    pdf.appendix(respondents)
    content = bytes(pdf.output())
    if isinstance(out, Path):
        out.write_bytes(content)
    else:
        out.write(content)


def _render_toc(pdf: FPDF, outline: Sequence[OutlineSection]) -> None:
    pdf.set_xy(pdf.l_margin, pdf.t_margin)  # the page header leaves x at its text
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 10, "DAFTAR ISI", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for section in outline:
        pdf.set_font(FONT, "B" if section.level == 0 else "", 10.5)
        indent = 8 * section.level
        pdf.set_x(pdf.l_margin + indent)
        width = pdf.epw - indent - 15
        pdf.cell(width, 7, section.name)
        pdf.cell(15, 7, str(section.page_number), align="R", new_x="LMARGIN", new_y="NEXT")


class _Report(FPDF):
    def __init__(self, data: ReportData) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.data = data
        self.period_words = period_text(data.period)
        # "pada Semester I Tahun 2026", "pada periode 1 Januari 2026 s.d. 15 Februari 2026"
        self.when = ("pada periode " if data.period.kind == "range" else "pada ") + (
            self.period_words
        )
        self.resource_access_policy = ResourceAccessPolicy.NONE  # a logo loads nothing else
        for style, name in (
            ("", "DejaVuSans"),
            ("B", "DejaVuSans-Bold"),
            ("I", "DejaVuSans-Oblique"),
        ):
            self.add_font(FONT, style, FONTS / f"{name}.ttf")
        self.set_margins(25, 25, 20)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_title(prose.title(data))
        self.set_subject(prose.subject(data))
        self.set_author(data.unit.name)
        self.set_lang("id")
        self.set_creator("skm")
        self.alias_nb_pages()

    # --- page furniture ---

    def header(self) -> None:
        if self.page_no() == 1:
            return  # the cover has its own layout
        data, top = self.data, 9.0
        x = self.l_margin
        if data.logo is not None:
            logos.draw(self, data.logo, x=x, y=top, h=11)
            x += 11 * logos.aspect(data.logo) + 3
        self.set_xy(x, top)
        self.set_font(FONT, "B", 8.5)
        self.cell(self.w - self.r_margin - x, 4.5, data.unit.name, new_x="LEFT", new_y="NEXT")
        self.set_font(FONT, "", 8)
        above = data.parents[0].name if data.parents else ""
        self.cell(self.w - self.r_margin - x, 4, above, new_x="LEFT", new_y="NEXT")
        self.set_draw_color(150, 150, 150)
        self.line(self.l_margin, 21.5, self.w - self.r_margin, 21.5)
        self.set_draw_color(0, 0, 0)
        self.set_xy(self.l_margin, self.t_margin)

    def footer(self) -> None:
        if self.page_no() == 1:
            return  # the cover carries no number
        self.set_y(-14)
        self.set_font(FONT, "I", 7.5)
        self.cell(0, 6, prose.running_footer(self.data))
        self.set_x(self.l_margin)
        self.cell(0, 6, prose.page_of(str(self.page_no()), "{nb}"), align="R")

    def chapter(self, title: str, *, landscape: bool = False) -> None:
        orientation = PageOrientation.LANDSCAPE if landscape else PageOrientation.PORTRAIT
        # The table of contents leaves a fresh page behind; a landscape part needs its own.
        if self.y > self.t_margin + 1 or self.cur_orientation is not orientation:
            self.add_page(orientation=orientation.value)
        self.start_section(title, level=0)
        self.set_font(FONT, "B", 14)
        self.multi_cell(0, 8, title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def section(self, title: str) -> None:
        """A numbered heading; never the last line of a page (what follows needs room)."""
        if self.get_y() + 2 + 7 + SECTION_KEEP > self.h - self.b_margin:
            self.add_page()
        self.ln(2)
        self.start_section(title, level=1)
        self.set_font(FONT, "B", 11)
        self.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")

    def para(self, body: str) -> None:
        self.set_font(FONT, "", 10)
        self.multi_cell(0, 5.5, body, align="J", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def caption(self, body: str) -> None:
        self.set_font(FONT, "I", 8)
        self.multi_cell(0, 4.5, body, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def grid(self, grid: tables.Grid) -> None:
        """A table; ``bold_last`` rows at the bottom are its totals; the first ``names``
        columns hold names, whatever their width."""
        headings, rows, widths = grid.headings, grid.rows, grid.widths
        bold_last, names = grid.bold_last, grid.names
        self.set_font(FONT, "", 9)
        self.set_fill_color(255, 255, 255)  # charts leave their bar colour behind
        # Name columns (wide) read best left-aligned, figures centred.
        align = tuple(
            "LEFT" if width >= 45 or i < names else "CENTER" for i, width in enumerate(widths)
        )
        with self.table(
            col_widths=tuple(widths),
            text_align=align,
            line_height=5.5,
            first_row_as_headings=True,
        ) as table:
            table.row(list(headings))
            for i, row in enumerate(rows):
                if i >= len(rows) - bold_last:
                    self.set_font(FONT, "B", 9)
                table.row(list(row))
        self.set_font(FONT, "", 9)
        self.ln(2)

    def signature_height(self, width: float = SIGNATURE_WIDTH) -> float:
        """The height of the signature block, to keep it on one page with what leads to it."""
        signer = self.data.signer
        self.set_font(FONT, "", 10)
        lines = 3 + self.lines(width, signer.title) + self.lines(width, signer.name or DOTS)
        return 5.5 * lines + 20

    def closing(self, body: str, *, gap: float, with_nip: bool = True) -> None:
        """The last paragraph and the signature block under it, on one page: a signature
        alone on a page signs nothing the reader can see."""
        self.set_font(FONT, "", 10)
        needed = 5.5 * self.lines(self.epw, body) + 2 + gap + self.signature_height()
        if self.get_y() + needed > self.h - self.b_margin:
            self.add_page()
        self.para(body)
        self.ln(gap)
        self.signature(with_nip=with_nip)

    def signature(self, *, with_nip: bool = True) -> None:
        """The signature block at the right: place and date, jabatan, then the name over the
        NIP, with lines to fill in for what the unit's settings leave open."""
        signer = self.data.signer
        width = SIGNATURE_WIDTH
        if self.get_y() + self.signature_height(width) > self.h - self.b_margin:
            self.add_page()
        left = self.w - self.r_margin - width
        self.set_font(FONT, "", 10)
        place = signer.city or DOTS[:20]
        for line in (f"{place}, {long_date(self.data.sign_date)}", signer.title):
            self.set_x(left)
            self.multi_cell(width, 5.5, line, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(20)  # room to sign and stamp
        self.set_x(left)
        if signer.name:
            self.set_font(FONT, "BU", 10)  # bold and underlined, as signed names are printed
            self.multi_cell(width, 5.5, signer.name, align="C", new_x="LMARGIN", new_y="NEXT")
        else:
            self.multi_cell(width, 5.5, f"({DOTS})", align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 10)
        if with_nip and (signer.nip or not signer.name):
            nip = nip_text(signer.nip) if signer.nip else DOTS
            self.set_x(left)
            self.multi_cell(width, 5.5, f"NIP. {nip}", align="C", new_x="LMARGIN", new_y="NEXT")

    def lines(self, width: float, body: str) -> int:
        """How many lines ``body`` takes in a cell ``width`` wide, in the current font."""
        found = self.multi_cell(width, 5, body, dry_run=True, output="LINES")
        assert isinstance(found, list)  # output="LINES" gives the lines
        return len(found)

    # --- pages ---

    def cover(self) -> None:
        data, result = self.data, self.data.result
        self.add_page()
        self.set_y(25)
        if data.logo is not None:
            height = 32.0
            width = height * logos.aspect(data.logo)
            if width > 80:  # a wide logo: keep it within the title's width
                height, width = height * 80 / width, 80.0
            logos.draw(self, data.logo, x=(self.w - width) / 2, y=self.get_y(), h=height)
            self.set_y(self.get_y() + height + 10)
        else:
            self.ln(20)
        self.set_font(FONT, "B", 18)
        self.multi_cell(
            0,
            10,
            "LAPORAN HASIL\nSURVEI KEPUASAN MASYARAKAT",
            align="C",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.ln(8)
        self.set_font(FONT, "B", 15)
        self.multi_cell(0, 8, data.unit.name.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 11)
        below = prose.cover_scope(data)
        if below:
            self.multi_cell(0, 6, below, align="C", new_x="LMARGIN", new_y="NEXT")
        for parent in reversed(data.parents):
            self.multi_cell(0, 6, parent.name, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(6)
        self.set_font(FONT, "B", 13)
        self.multi_cell(0, 7, self.period_words.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
        if data.period.kind != "range":
            self.set_font(FONT, "", 10)
            span = f"{long_date(data.period.start)} s.d. {long_date(data.period.end)}"
            self.multi_cell(0, 6, span, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(12)
        self.set_font(FONT, "B", 12)
        self.cell(0, 8, "INDEKS KEPUASAN MASYARAKAT", align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "B", 36)
        self.cell(0, 18, number(result.nik_rounded), align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "B", 13)
        self.cell(0, 8, prose.cover_grade(data), align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 10)
        self.cell(0, 6, f"{result.n} responden", align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_y(-35)
        self.set_font(FONT, "I", 8.5)
        self.multi_cell(0, 5, prose.made_on(data), align="C", new_x="LMARGIN")

    def foreword(self) -> None:
        data = self.data
        self.add_page()
        self.start_section("KATA PENGANTAR", level=0)
        self.set_font(FONT, "B", 14)
        self.cell(0, 10, "KATA PENGANTAR", align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)
        body = data.foreword or default_foreword(
            unit=data.unit.name, period=self.period_words, regulation=data.form.regulation.id
        )
        paragraphs = [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]
        for paragraph in paragraphs[:-1]:
            self.para(paragraph)
        if paragraphs:
            self.closing(paragraphs[-1], gap=6)
        else:
            self.signature()

    def bab_1(self) -> None:
        self.chapter("BAB I PENDAHULUAN")
        self.section("1.1 Latar Belakang")
        self.para(prose.latar_belakang(self.data))
        self.section("1.2 Dasar Hukum")
        for line in prose.DASAR_HUKUM:
            self.para(line)
        self.section("1.3 Maksud dan Tujuan")
        self.para(prose.MAKSUD_TUJUAN)

    def bab_2(self) -> None:
        data = self.data
        self.chapter("BAB II PENGUMPULAN DATA")
        self.section("2.1 Pelaksana")
        self.para(prose.pelaksana(data))
        self.section("2.2 Metode Pengumpulan dan Pengolahan Data")
        for body in prose.metode(data):
            self.para(body)
        self.section("2.3 Lokasi dan Waktu")
        self.para(prose.lokasi_waktu(data))
        self.section("2.4 Cakupan dan Agregasi")
        self.para(prose.coverage(data))
        self.section("2.5 Penentuan Jumlah Responden")
        self.para(prose.jumlah_responden(data))
        if len(data.unit_samples) > 1:
            self.unit_sample_table()

    def unit_sample_table(self) -> None:
        """Each unit's own respondents against its own population and minimum sample."""
        if self.get_y() + TABLE_KEEP > self.h - self.b_margin:
            self.add_page()  # the sentence that opens the table stays with it
        self.para(prose.unit_samples_intro(self.data))
        self.grid(tables.unit_samples(self.data))

    def bab_3(self) -> None:
        data, result = self.data, self.data.result
        self.chapter("BAB III HASIL PENGOLAHAN DATA")
        self.section("3.1 Profil Responden")
        self.para(prose.profile_summary(data))
        self.section("3.2 Indeks Kepuasan Masyarakat per Unsur")
        self.grid(tables.elements(data))
        if data.mean_of_children:
            self.caption(prose.mean_of_children_note(data))
        self.para(prose.verdict(data))
        self.bar_chart(
            prose.ELEMENT_CHART,
            [
                (f"U{i} {data.element_name(e.code)}", e.nik_rounded, e.mutu)
                for i, e in enumerate(result.elements, start=1)
            ],
            prose.ELEMENT_SCALE,
        )
        numbers = iter(range(3, 10))
        for title, found in (
            ("IKM per Jenis Layanan", data.services),
            ("IKM per Loket", data.counters),
        ):
            if found:
                self.section(f"3.{next(numbers)} {title}")
                self.grid(tables.groups(found))
                self.method_note(found)
        if data.children:
            self.section(f"3.{next(numbers)} Peringkat IKM Unit di Bawahnya")
            self.ranking()

    def method_note(self, groups: Sequence[GroupIkm]) -> None:
        note = differing_methods(
            self.data.method,
            ((g.name, g.result.method) for g in groups if g.result.n),
            len(self.data.form.elements),
        )
        if note:
            self.caption(note)

    def ranking(self) -> None:
        """The child units best to worst: n, IKM, grade, sample verdict and weakest element,
        then the same as bars, so the head of the pemda sees at once who lags."""
        ranked = self.data.ranked
        self.grid(tables.ranking(self.data))
        self.caption(prose.RANKING_NOTE)
        self.method_note(ranked)
        self.bar_chart(
            prose.UNIT_CHART,
            [(g.name, g.result.nik_rounded, g.result.mutu) for g in ranked],
            prose.UNIT_SCALE,
        )

    def grade_legend(self, *, tinted: bool = False) -> None:
        """The colours of the grades: each with its NIK range and kinerja; ``tinted`` as
        the trend chart's bands."""
        table = self.data.method.table or "2017"
        self.set_font(FONT, "", 7.5)
        column = self.epw / 2
        for i, (letter, span, kinerja) in enumerate(grade_bands(table)):
            x = self.l_margin + (i % 2) * column
            y = self.get_y()
            colour = BAR_COLOURS[letter]
            self.set_fill_color(*(tint(colour) if tinted else colour))
            self.rect(x, y + 1, 3.5, 3.5, style="DF" if tinted else "F")
            self.set_xy(x + 5, y)
            self.cell(column - 5, 5.5, f"{letter} ({kinerja}): {span}")
            self.set_xy(self.l_margin, y + (5.5 if i % 2 else 0))
        self.set_fill_color(255, 255, 255)
        self.ln(2)

    def bar_chart(
        self, title: str, bars: Sequence[tuple[str, Decimal | None, str | None]], scale_note: str
    ) -> None:
        """Horizontal bars of (label, value on 0-100, grade) on a 0-100 scale, coloured by
        grade, with the scale and the grade legend."""
        label_width, value_width, line = 62.0, 14.0, 3.6
        self.set_font(FONT, "", 8)
        heights = [max(6.0, line * self.lines(label_width - 2, label) + 1.5) for label, *_ in bars]
        # The whole chart on one page while it fits one; a long one runs on (pemda-wide).
        total = min(sum(heights), 150) + 6 + 8 + 12 + 10
        if self.get_y() + total > self.h - self.b_margin:
            self.add_page()
        self.set_font(FONT, "B", 10)
        self.cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
        left = self.l_margin + label_width
        span = self.epw - label_width - value_width
        scale = span / 100
        start = 0
        while start < len(bars):
            top = self.get_y() + 1
            room = self.h - self.b_margin - top - 12
            end = start
            used = 0.0
            while end < len(bars) and (end == start or used + heights[end] <= room):
                used += heights[end]
                end += 1
            self.bar_block(bars[start:end], heights[start:end], left, top, scale, span)
            start = end
            if start < len(bars):
                self.add_page()
        self.set_font(FONT, "I", 7.5)
        self.cell(
            0,
            4,
            prose.bar_legend(scale_note, self.data.method.table),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.grade_legend()

    def bar_block(
        self,
        bars: Sequence[tuple[str, Decimal | None, str | None]],
        heights: Sequence[float],
        left: float,
        top: float,
        scale: float,
        span: float,
    ) -> None:
        """The bars that fit on this page, over a light line every 10 points."""
        label_width, value_width, line = left - self.l_margin, 14.0, 3.6
        bottom = top + sum(heights)
        self.set_draw_color(215, 215, 215)
        for tick in range(0, 101, 10):
            self.line(left + tick * scale, top, left + tick * scale, bottom)
        self.set_draw_color(0, 0, 0)
        self.line(left, bottom, left + span, bottom)
        self.set_font(FONT, "", 7)
        for tick in range(0, 101, 20):
            self.set_xy(left + tick * scale - 5, bottom + 0.5)
            self.cell(10, 4, str(tick), align="C")
        y = top
        for (label, value, grade), height in zip(bars, heights, strict=True):
            self.set_font(FONT, "", 8)
            self.set_xy(self.l_margin, y + (height - line * round((height - 1.5) / line)) / 2)
            self.multi_cell(label_width - 2, line, label, align="L", new_x="LMARGIN", new_y="NEXT")
            if value is not None:
                self.set_fill_color(*BAR_COLOURS.get(grade or "", NO_GRADE))
                self.rect(left, y + height / 2 - 2, float(value) * scale, 4, style="F")
                self.set_xy(left + float(value) * scale + 1, y + height / 2 - 3)
                self.set_font(FONT, "", 7.5)
                self.cell(value_width, 6, number(value))
            y += height
        self.set_xy(self.l_margin, bottom + 5)

    def trend_chart(self) -> None:
        """The NIK of each period as a line over the grade bands of the report's interval
        table, on a scale of NIK, with the periods below and a legend."""
        points = [p for p in self.data.trend if p.result.nik_rounded is not None]
        if len(points) < 2:
            return
        table = self.data.method.table or "2017"
        values = [float(p.result.nik_rounded or 0) for p in points]
        low = trend_floor(values, table)
        height, axis = 60.0, 12.0
        if self.get_y() + height + 42 > self.h - self.b_margin:
            self.add_page()
        self.set_font(FONT, "B", 10)
        self.cell(0, 6, prose.TREND_CHART, new_x="LMARGIN", new_y="NEXT")
        top = self.get_y() + 3
        left = self.l_margin + axis
        width = self.epw - axis - 2

        def y_of(value: float) -> float:
            return top + height * (100 - value) / (100 - low)

        # The grade bands behind everything, in light tints of the bar colours.
        ceiling = 100.0
        for floor, letter in (*ikm.GRADE_FLOORS[table], (Decimal(25), "D")):
            bottom_value = max(float(floor), low)
            if ceiling > low:
                self.set_fill_color(*tint(BAR_COLOURS[letter]))
                band_top, band_bottom = y_of(ceiling), y_of(bottom_value)
                self.rect(left, band_top, width, band_bottom - band_top, style="F")
                self.set_font(FONT, "B", 7)
                self.set_text_color(*BAR_COLOURS[letter])
                if band_bottom - band_top >= 4:
                    self.set_xy(left + width - 8, band_top + 0.5)
                    self.cell(7, 3.5, letter, align="R")
                self.set_text_color(0, 0, 0)
            ceiling = float(floor) - 0.01
        # The scale at the left: every 10 points, a light line across.
        self.set_font(FONT, "", 7)
        self.set_draw_color(190, 190, 190)
        tick = 10 * int(-(-low // 10))
        while tick <= 100:
            y = y_of(tick)
            self.line(left, y, left + width, y)
            self.set_xy(self.l_margin, y - 2)
            self.cell(axis - 1.5, 4, str(tick), align="R")
            tick += 10
        self.set_draw_color(0, 0, 0)
        self.line(left, top, left, top + height)
        self.line(left, top + height, left + width, top + height)
        # The line and its points, each labelled with its value; the periods below.
        step = width / len(points)
        xs = [left + step * (i + 0.5) for i in range(len(points))]
        self.set_draw_color(*LINE_COLOUR)
        self.set_line_width(0.7)
        for i in range(1, len(points)):
            self.line(xs[i - 1], y_of(values[i - 1]), xs[i], y_of(values[i]))
        self.set_line_width(0.2)
        self.set_draw_color(0, 0, 0)
        for x, value, point in zip(xs, values, points, strict=True):
            self.set_fill_color(*LINE_COLOUR)
            self.ellipse(x - 1.3, y_of(value) - 1.3, 2.6, 2.6, style="F")
            self.set_font(FONT, "B", 8)
            self.set_xy(x - step / 2, y_of(value) - 6)
            self.cell(
                step, 4, f"{number(point.result.nik_rounded)} ({point.result.mutu})", align="C"
            )
            self.set_font(FONT, "", 7)
            self.set_xy(x - step / 2, top + height + 1)
            self.multi_cell(step, 3.5, period_text(point.period), align="C")
        self.set_fill_color(255, 255, 255)
        self.set_xy(self.l_margin, top + height + 10)
        self.set_font(FONT, "I", 7.5)
        self.set_fill_color(*LINE_COLOUR)
        self.rect(self.l_margin, self.get_y() + 1.8, 6, 0.9, style="F")
        self.set_x(self.l_margin + 8)
        self.cell(0, 4, prose.trend_legend(table), new_x="LMARGIN", new_y="NEXT")
        self.grade_legend(tinted=True)

    def bab_4(self) -> None:
        data = self.data
        self.chapter("BAB IV ANALISIS")
        self.section("4.1 Unsur Terendah dan Tertinggi")
        if data.weakest:
            self.para(prose.WEAKEST_INTRO)
            self.grid(tables.element_lines(data, data.weakest))
            self.para(prose.STRONGEST_INTRO)
            self.grid(tables.element_lines(data, data.strongest))
        else:
            self.para(prose.NOTHING_TO_ANALYSE)
        numbers = iter(range(2, 10))
        if data.elements_across_units:
            self.section(f"4.{next(numbers)} Unsur Lemah di Unit-Unit")
            self.across_units()
        self.section(f"4.{next(numbers)} Rencana Tindak Lanjut")
        self.para(prose.RTL_RECORDED if data.followup else prose.RTL_INTRO)
        self.grid(tables.rtl(data))
        if data.previous_followup and data.previous_period is not None:
            done = sum(1 for f in data.previous_followup if f.status == "selesai")
            words = period_text(data.previous_period)
            self.para(prose.previous_rtl(words, done, len(data.previous_followup)))
            self.grid(tables.previous_rtl(data))
        self.section(f"4.{next(numbers)} Tren")
        if len([p for p in data.trend if p.result.n]) > 1:
            self.grid(tables.trend(data))
            note = differing_methods(
                data.method,
                ((period_text(p.period), p.result.method) for p in data.trend if p.result.n),
                len(data.form.elements),
            )
            if note:
                self.caption(note)
            self.trend_chart()
        else:
            self.para(prose.NO_EARLIER_PERIODS)

    def across_units(self) -> None:
        """Each element over the child units, most units graded C or D first.

        What a Bagian Organisasi acts on: an element graded C/D in many units is a shared
        cause (procedures, the complaint channel, waiting times) that calls for one measure
        across the pemda, while an element weak in one unit is that unit's own RTL item;
        the lowest unit says where to start and whom to ask."""
        self.para(prose.across_units_intro(self.data))
        self.grid(tables.across_units(self.data))
        self.caption(prose.across_units_note(self.data))

    def bab_5(self) -> None:
        data = self.data
        self.chapter("BAB V PENUTUP")
        self.section("5.1 Kesimpulan")
        for point in prose.kesimpulan(data):
            self.para(point)
        self.section("5.2 Saran")
        quoted = data.suggestions[:SAMPLE_SUGGESTIONS]
        if quoted:
            self.para(prose.suggestions_intro(data, len(quoted)))
            for item in quoted:
                self.para(f"- {item[:300]}")
        else:
            self.para(prose.NO_SUGGESTIONS)
        self.ln(4)
        self.closing(prose.CLOSING, gap=4)

    def appendix(self, respondents: Iterable[tuple[float | None, ...]]) -> None:
        data = self.data
        form = data.form
        self.chapter(APPENDIX_FORM)
        self.para(f"{form.title.id} ({form.regulation.id})")
        for i, element in enumerate(form.elements, start=1):
            self.set_font(FONT, "B", 10)
            self.multi_cell(0, 5.5, f"U{i}. {element.name.id}", new_x="LMARGIN", new_y="NEXT")
            self.para(element.question.id)
            self.caption(prose.answer_labels(element))
        self.chapter(APPENDIX_SHEET, landscape=True)
        draw_processing_sheet(self, data, itertools.islice(respondents, data.sheet_rows), font=FONT)
        self.chapter(APPENDIX_PROFILE)
        for table in data.profile:
            self.grid(tables.profile(table))
        self.chapter(APPENDIX_SUGGESTIONS)
        if not data.suggestions:
            self.para(prose.NO_SUGGESTIONS)
            return
        self.para(prose.suggestions_list_intro(data))
        self.set_font(FONT, "", 9)
        for i, item in enumerate(data.suggestions, start=1):
            self.set_x(self.l_margin)
            self.cell(10, 5, f"{i}.")
            self.multi_cell(0, 5, item, new_x="LMARGIN", new_y="NEXT")
            self.ln(0.8)

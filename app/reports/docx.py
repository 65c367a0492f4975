"""The report as an editable Word document (DOCX), chapter for chapter the PDF: cover, kata
pengantar with the signature block, daftar isi, BAB I-V with the closing paragraph and the
signature, and the lampiran (questionnaire, processing sheet on landscape pages, profile
tables, saran), from the same ``ReportData``, for a unit head to adjust in Word or LibreOffice
Writer and sign.

Built with python-docx rather than a docxtpl template: the report is mostly loops over tables
whose rows and columns depend on the data (elements, services, child units, periods), which is
code either way, and a binary template in the repository would be a second place for the
layout that no diff shows. Everything a Word user expects to work does: chapters and sections
in the built-in styles Heading 1 and Heading 2 (navigation pane, outline) and a TOC field over
them that Word fills in on opening (``updateFields``), tables whose header row repeats on every
page, page numbers from PAGE/NUMPAGES fields, A4 with the PDF's margins, the logo on the cover
and in the header, the charts as PNG pictures (``charts``) with alternative text, the
processing sheet in a landscape section of its own.

The text is set in DejaVu Sans, as in the PDF (it covers Indonesian and the other Latin
letters, quotes and arrows that names and saran hold); a computer without it substitutes a
sans-serif, and the characters themselves are stored as written. The sentences come from
``prose`` and the tables' cells from ``tables``, as the PDF's do; the processing sheet's texts
and its row cap from ``pdf_sheet``.

One method per part, in the PDF's order (``_Report.cover`` ... ``appendix``), so that a part
the PDF gains is added here beside its namesake.
"""

import copy
import io
import itertools
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from PIL import Image

from app.core.periods import long_date, period_text
from app.reports import charts, pdf_sheet, prose, tables
from app.reports.logo import SVG, Logo
from app.reports.pdf import BAR_COLOURS, LINE_COLOUR, SAMPLE_SUGGESTIONS, tint
from app.reports.prose import (
    APPENDIX_FORM,
    APPENDIX_PROFILE,
    APPENDIX_SHEET,
    APPENDIX_SUGGESTIONS,
    DOTS,
)
from app.reports.wording import (
    default_foreword,
    differing_methods,
    grade_bands,
    nip_text,
    number,
    table_text,
)
from app.services.report_data import GroupIkm, ReportData

FONT = "DejaVu Sans"
PAGE_W, PAGE_H = 210.0, 297.0  # A4, millimetres
LEFT, RIGHT, TOP, BOTTOM = 25.0, 20.0, 25.0, 20.0  # the PDF's margins
TEXT_W = PAGE_W - LEFT - RIGHT
SIGNATURE_W = 80.0
LANGUAGE = "id-ID"
SHEET_CELL = "Sheet Cell"  # the processing sheet's cell style: small, centred, no spacing
SHEET_LABEL_W = 42.0  # mm, the PDF sheet's: "IKM unit pelayanan (**)" and the row number
SHEET_VALUE_W_MAX = 22.0


def write_docx(
    data: ReportData, respondents: Iterable[tuple[float | None, ...]], out: IO[bytes] | Path
) -> None:
    """Write the report DOCX of ``data`` to a path or a binary file. ``respondents`` yields the
    processing sheet's rows (as ``report_data.respondents`` does); it is read once, a row at a
    time, and at most ``pdf_sheet.ROWS_MAX`` rows are printed in the lampiran, as in the PDF."""
    report = _Report(data)
    report.cover()
    report.foreword()
    report.contents()
    report.bab_1()
    report.bab_2()
    report.bab_3()
    report.bab_4()
    report.bab_5()
    report.appendix(respondents)
    content = report.finish()
    if isinstance(out, Path):
        out.write_bytes(content)
    else:
        out.write(content)


class _Report:
    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.period_words = period_text(data.period)
        self.doc = Document()
        self.headings: list[tuple[int, str]] = []  # for the TOC field's first showing
        self.toc_anchor: Paragraph | None = None
        self._styles()
        self._page()
        properties = self.doc.core_properties
        properties.title = prose.title(data)
        properties.subject = prose.subject(data)
        properties.author = properties.last_modified_by = data.unit.name
        properties.language = LANGUAGE
        properties.comments = ""
        properties.keywords = "SKM; IKM"
        made = data.generated_at.replace(tzinfo=None)
        properties.created = properties.modified = made
        properties.revision = 1

    # --- document set-up ---

    def _styles(self) -> None:
        styles = self.doc.styles
        _fonts(styles.element.find(qn("w:docDefaults")), FONT)  # every style inherits it
        normal = styles["Normal"]
        normal.font.size = Pt(10)
        normal.paragraph_format.space_after = Pt(4)
        normal.paragraph_format.line_spacing = 1.15
        for name, size, centred in (("Heading 1", 14, True), ("Heading 2", 11, False)):
            style = styles[name]
            _fonts(style.element, FONT)
            style.font.size = Pt(size)
            style.font.bold = True
            style.font.italic = False
            style.font.color.rgb = RGBColor(0, 0, 0)
            fmt = style.paragraph_format
            fmt.space_before = Pt(0 if centred else 8)
            fmt.space_after = Pt(12 if centred else 4)
            fmt.keep_with_next = True
            if centred:
                fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
                fmt.page_break_before = True  # each chapter on a new page, as in the PDF
        heading = styles["TOC Heading"]
        _fonts(heading.element, FONT)
        heading.font.size, heading.font.bold = Pt(14), True
        heading.font.color.rgb = RGBColor(0, 0, 0)
        heading.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        heading.paragraph_format.page_break_before = True
        heading.paragraph_format.space_after = Pt(12)
        for level in (1, 2):  # Word's built-in names, which its TOC field writes with
            style = styles.add_style(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = normal
            style.font.bold = level == 1
            style.paragraph_format.left_indent = Mm(8 * (level - 1))
            style.paragraph_format.space_after = Pt(2)
            style.paragraph_format.tab_stops.add_tab_stop(
                Mm(TEXT_W), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS
            )
        caption = styles["Caption"]
        _fonts(caption.element, FONT)
        caption.font.size, caption.font.italic, caption.font.bold = Pt(8), True, False
        caption.font.color.rgb = RGBColor(0, 0, 0)
        for name in ("Header", "Footer"):
            styles[name].font.size = Pt(8)
        cell = styles.add_style(SHEET_CELL, WD_STYLE_TYPE.PARAGRAPH)
        cell.base_style = normal
        cell.font.size = Pt(pdf_sheet.FONT_SIZE)
        cell.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        cell.paragraph_format.space_after = Pt(0)
        cell.paragraph_format.line_spacing = 1.0

    def _page(self) -> None:
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
        section.left_margin, section.right_margin = Mm(LEFT), Mm(RIGHT)
        section.top_margin, section.bottom_margin = Mm(TOP), Mm(BOTTOM)
        section.header_distance, section.footer_distance = Mm(9), Mm(8)
        section.different_first_page_header_footer = True  # the cover has neither
        self._header(section.header.paragraphs[0])
        self._footer(section.footer.paragraphs[0])

    def _header(self, first: Paragraph) -> None:
        """The logo (when set) beside the unit's name and the name above it, over a line."""
        data = self.data
        above = data.parents[0].name if data.parents else ""
        if data.logo is None or data.logo.media_type == SVG:
            name = first
            name.add_run(data.unit.name).bold = True
            name.paragraph_format.space_after = Pt(0)
            last = _after(name)
            last.add_run(above)
            _bottom_border(last)
            return
        header = self.doc.sections[0].header
        table = header.add_table(rows=1, cols=2, width=Mm(TEXT_W))
        width = 11 * _aspect(data.logo) + 3
        _widths(table, (width, TEXT_W - width))
        _logo(table.cell(0, 0).paragraphs[0].add_run(), data.logo, height_mm=11)
        names = table.cell(0, 1).paragraphs[0]
        names.add_run(data.unit.name).bold = True
        names.add_run().add_break()
        names.add_run(above)
        _table_borders(table, bottom=True)
        # A header ends with a paragraph; the first one, before the table, is the one to drop.
        first._p.getparent().remove(first._p)

    def _footer(self, paragraph: Paragraph, width: float = TEXT_W) -> None:
        """The running footer, the page number at the right edge of ``width`` mm of text."""
        paragraph.paragraph_format.tab_stops.add_tab_stop(Mm(width), WD_TAB_ALIGNMENT.RIGHT)
        paragraph.add_run(f"{prose.running_footer(self.data)}\t{prose.PAGE} ")
        _field(paragraph, "PAGE", "1")
        paragraph.add_run(f" {prose.OF} ")
        _field(paragraph, "NUMPAGES", "1")
        for run in paragraph.runs:
            run.italic = True

    def finish(self) -> bytes:
        self._fill_contents()
        settings = self.doc.settings.element
        update = OxmlElement("w:updateFields")
        update.set(qn("w:val"), "true")  # Word fills in the TOC (page numbers) on opening
        settings.append(update)
        raw = io.BytesIO()
        self.doc.save(raw)
        return _fixed_zip(raw.getvalue(), self.data.generated_at)

    # --- building blocks ---

    def chapter(self, title: str, *, first_in_section: bool = False) -> None:
        self.headings.append((1, title))
        heading = self.doc.add_paragraph(title, style="Heading 1")
        if first_in_section:  # the section break has begun the page
            heading.paragraph_format.page_break_before = False

    def section(self, title: str) -> None:
        self.headings.append((2, title))
        self.doc.add_paragraph(title, style="Heading 2")

    def para(self, body: str, *, justify: bool = True) -> Paragraph:
        paragraph = self.doc.add_paragraph(body)
        if justify:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        return paragraph

    def caption(self, body: str) -> None:
        self.doc.add_paragraph(body, style="Caption")

    def centred(self, body: str, size: float, *, bold: bool = False, after: float = 2) -> None:
        paragraph = self.doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(after)
        run = paragraph.add_run(body)
        run.font.size, run.bold = Pt(size), bold

    def grid(self, grid: tables.Grid) -> Table:
        """A table whose header row repeats on every page; ``bold_last`` rows at the bottom
        are its totals. Widths in millimetres, as the PDF's."""
        headings, rows, widths = grid.headings, grid.rows, grid.widths
        bold_last = grid.bold_last
        table: Table = self.doc.add_table(rows=1 + len(rows), cols=len(headings))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _widths(table, widths)
        _cell_margins(table, 1.0)  # the PDF's padding: Writer's 1.9 mm wraps "Responden"
        _repeat_header(table)
        # Name columns (wide) read best left-aligned, figures centred.
        aligns = [
            WD_ALIGN_PARAGRAPH.LEFT if width >= 45 or i < grid.names else WD_ALIGN_PARAGRAPH.CENTER
            for i, width in enumerate(widths)
        ]
        for r, values in enumerate((headings, *rows)):
            bold = r == 0 or r > len(rows) - bold_last
            cells = table.rows[r].cells
            for cell, value, align in zip(cells, values, aligns, strict=True):
                paragraph = cell.paragraphs[0]
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if r == 0 else align
                paragraph.paragraph_format.space_after = Pt(0)
                paragraph.paragraph_format.line_spacing = 1.0
                # A table that fits on a page stays on one (a longer one breaks between
                # rows, its header row repeated).
                paragraph.paragraph_format.keep_with_next = r < len(rows)
                run = paragraph.add_run(value)
                run.font.size, run.bold = Pt(9), bold
                if r == 0:
                    _shade(cell, "E6E6E6")
        self.doc.add_paragraph().paragraph_format.space_after = Pt(2)
        return table

    def picture(self, chart: charts.Chart) -> None:
        paragraph = self.doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        shape = paragraph.add_run().add_picture(io.BytesIO(chart.png), width=Mm(chart.width_mm))
        shape._inline.docPr.set("descr", chart.description)

    def grade_legend(self, *, tinted: bool = False) -> None:
        """The colours of the grades: each with its NIK range and kinerja; ``tinted`` as the
        trend chart's bands."""
        paragraph = self.doc.add_paragraph()
        for i, (letter, span, kinerja) in enumerate(grade_bands(self.data.method.table or "2017")):
            if i:
                paragraph.add_run("   ")
            square = paragraph.add_run("\N{BLACK SQUARE} ")
            colour = BAR_COLOURS[letter]
            square.font.color.rgb = RGBColor(*(tint(colour) if tinted else colour))
            paragraph.add_run(f"{letter} ({kinerja}): {span}")
        for run in paragraph.runs:
            run.font.size = Pt(7.5)

    def signature(self, *, with_nip: bool = True) -> None:
        """The signature block at the right: place and date, jabatan, then the name over the
        NIP, with lines to fill in for what the unit's settings leave open."""
        signer = self.data.signer
        place = signer.city or DOTS[:20]
        lines: list[tuple[str, str]] = [
            (f"{place}, {long_date(self.data.sign_date)}", ""),
            (signer.title, "room"),
            (signer.name or f"({DOTS})", "name" if signer.name else ""),
        ]
        if with_nip and (signer.nip or not signer.name):
            lines.append((f"NIP. {nip_text(signer.nip) if signer.nip else DOTS}", ""))
        for i, (text, kind) in enumerate(lines):
            paragraph = self.doc.add_paragraph()
            fmt = paragraph.paragraph_format
            fmt.left_indent = Mm(TEXT_W - SIGNATURE_W)
            fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
            fmt.space_before = Pt(12) if i == 0 else Pt(0)
            fmt.space_after = Pt(56) if kind == "room" else Pt(0)  # room to sign and stamp
            fmt.keep_with_next = i < len(lines) - 1  # the block stays on one page
            fmt.keep_together = True
            run = paragraph.add_run(text)
            if kind == "name":  # bold and underlined, as signed names are printed
                run.bold = run.underline = True

    # --- pages ---

    def cover(self) -> None:
        data, result = self.data, self.data.result
        if data.logo is not None and data.logo.media_type != SVG:
            paragraph = self.doc.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.paragraph_format.space_after = Pt(28)
            height = 32.0
            if height * _aspect(data.logo) > 80:  # a wide logo: keep it within the title's width
                height = 80 / _aspect(data.logo)
            _logo(paragraph.add_run(), data.logo, height_mm=height)
        else:
            self.doc.add_paragraph().paragraph_format.space_before = Pt(56)
        self.centred("LAPORAN HASIL", 18, bold=True, after=0)
        self.centred("SURVEI KEPUASAN MASYARAKAT", 18, bold=True, after=22)
        self.centred(data.unit.name.upper(), 15, bold=True)
        below = prose.cover_scope(data)
        if below:
            self.centred(below, 11)
        for parent in reversed(data.parents):
            self.centred(parent.name, 11)
        self.centred("", 6)
        self.centred(self.period_words.upper(), 13, bold=True)
        if data.period.kind != "range":
            self.centred(f"{long_date(data.period.start)} s.d. {long_date(data.period.end)}", 10)
        self.centred("", 22)
        self.centred("INDEKS KEPUASAN MASYARAKAT", 12, bold=True)
        self.centred(number(result.nik_rounded), 36, bold=True, after=0)
        self.centred(prose.cover_grade(data), 13, bold=True)
        self.centred(f"{result.n} responden", 10, after=60)
        made = self.doc.add_paragraph()
        made.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = made.add_run(prose.made_on(data))
        run.italic, run.font.size = True, Pt(8.5)

    def foreword(self) -> None:
        data = self.data
        self.chapter("KATA PENGANTAR")
        body = data.foreword or default_foreword(
            unit=data.unit.name, period=self.period_words, regulation=data.form.regulation.id
        )
        for paragraph in body.split("\n\n"):
            if paragraph.strip():
                self.para(" ".join(paragraph.split()))
        self.signature(with_nip=True)

    def contents(self) -> None:
        """DAFTAR ISI: a TOC field over Heading 1-2. Its first showing lists the headings
        without page numbers (only a word processor can count pages); Word fills them in on
        opening, LibreOffice on Tools > Update."""
        self.doc.add_paragraph("DAFTAR ISI", style="TOC Heading")
        self.toc_anchor = self.doc.add_paragraph()

    def _fill_contents(self) -> None:
        """The TOC field, once the headings are known: its instruction opens the first entry
        and it closes after the last."""
        paragraph = self.toc_anchor
        assert paragraph is not None  # contents() came first
        _field_begin(paragraph, r'TOC \o "1-2" \h \z \u')
        for i, (level, title) in enumerate(self.headings):
            if i:
                paragraph = _after(paragraph)
            paragraph.style = self.doc.styles[f"toc {level}"]
            paragraph.add_run(title)
        _field_end(paragraph)

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
        self.para(prose.unit_samples_intro(self.data)).paragraph_format.keep_with_next = True
        self.grid(tables.unit_samples(self.data))

    def bab_3(self) -> None:
        data = self.data
        self.chapter("BAB III HASIL PENGOLAHAN DATA")
        self.section("3.1 Profil Responden")
        self.para(prose.profile_summary(data))
        self.section("3.2 Indeks Kepuasan Masyarakat per Unsur")
        self.grid(tables.elements(data))
        if data.mean_of_children:
            self.caption(prose.mean_of_children_note(data))
        self.para(prose.verdict(data))
        self.bar_chart(prose.ELEMENT_CHART, charts.element_bars(data, TEXT_W), prose.ELEMENT_SCALE)
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
        then the same as bars."""
        self.grid(tables.ranking(self.data))
        self.caption(prose.RANKING_NOTE)
        self.method_note(self.data.ranked)
        self.bar_chart(prose.UNIT_CHART, charts.unit_bars(self.data, TEXT_W), prose.UNIT_SCALE)

    def chart_title(self, title: str) -> None:
        paragraph = self.para(title, justify=False)
        paragraph.runs[0].bold = True
        paragraph.paragraph_format.keep_with_next = True

    def bar_chart(self, title: str, chart: charts.Chart, scale: str) -> None:
        self.chart_title(title)
        self.picture(chart)
        self.caption(prose.bar_legend(scale, self.data.method.table))
        self.grade_legend()

    def trend_chart(self) -> None:
        """The trend line over the grade bands, its line's sample and the band legend."""
        chart = charts.trend_line(self.data, TEXT_W)
        if chart is None:
            return
        self.chart_title(prose.TREND_CHART)
        self.picture(chart)
        legend = self.doc.add_paragraph(style="Caption")
        line = legend.add_run("\N{EM DASH}\N{EM DASH} ")  # the line's colour, as its sample
        line.font.color.rgb = RGBColor(*LINE_COLOUR)
        line.font.bold = True
        legend.add_run(prose.trend_legend(self.data.method.table or "2017"))
        self.grade_legend(tinted=True)

    def bab_4(self) -> None:
        data = self.data
        self.chapter("BAB IV ANALISIS")
        self.section("4.1 Unsur Terendah dan Tertinggi")
        if data.weakest:
            self.para(prose.WEAKEST_INTRO).paragraph_format.keep_with_next = True
            self.grid(tables.element_lines(data, data.weakest))
            self.para(prose.STRONGEST_INTRO).paragraph_format.keep_with_next = True
            self.grid(tables.element_lines(data, data.strongest))
        else:
            self.para(prose.NOTHING_TO_ANALYSE)
        numbers = iter(range(2, 10))
        if data.elements_across_units:
            self.section(f"4.{next(numbers)} Unsur Lemah di Unit-Unit")
            self.across_units()
        self.section(f"4.{next(numbers)} Rencana Tindak Lanjut")
        self.para(
            prose.RTL_RECORDED if data.followup else prose.RTL_INTRO
        ).paragraph_format.keep_with_next = True
        self.grid(tables.rtl(data))
        if data.previous_followup and data.previous_period is not None:
            done = sum(1 for f in data.previous_followup if f.status == "selesai")
            words = period_text(data.previous_period)
            self.para(
                prose.previous_rtl(words, done, len(data.previous_followup))
            ).paragraph_format.keep_with_next = True
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
        """Each element over the child units, most units graded C or D first (the PDF's
        ``across_units`` says why)."""
        self.para(prose.across_units_intro(self.data)).paragraph_format.keep_with_next = True
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
                self.para(f"- {item[:300]}", justify=False)
        else:
            self.para(prose.NO_SUGGESTIONS)
        closing = self.para(prose.CLOSING)
        closing.paragraph_format.space_before = Pt(8)
        closing.paragraph_format.keep_with_next = True  # the signature signs what it follows
        self.signature()

    def appendix(self, respondents: Iterable[tuple[float | None, ...]]) -> None:
        data = self.data
        form = data.form
        self.chapter(APPENDIX_FORM)
        self.para(f"{form.title.id} ({form.regulation.id})")
        for i, element in enumerate(form.elements, start=1):
            name = self.para(f"U{i}. {element.name.id}", justify=False)
            name.runs[0].bold = True
            name.paragraph_format.keep_with_next = True
            question = self.para(element.question.id)
            question.paragraph_format.keep_with_next = True
            self.caption(prose.answer_labels(element))
        self.landscape_section()
        self.chapter(APPENDIX_SHEET, first_in_section=True)
        self.processing_sheet(itertools.islice(respondents, data.sheet_rows))
        self.portrait_section()
        self.chapter(APPENDIX_PROFILE, first_in_section=True)
        for table in data.profile:
            self.grid(tables.profile(table))
        self.chapter(APPENDIX_SUGGESTIONS)
        if not data.suggestions:
            self.para(prose.NO_SUGGESTIONS)
            return
        self.para(prose.suggestions_list_intro(data))
        for i, item in enumerate(data.suggestions, start=1):
            paragraph = self.para(f"{i}.\t{item}", justify=False)
            fmt = paragraph.paragraph_format
            fmt.left_indent, fmt.first_line_indent = Mm(10), Mm(-10)
            fmt.tab_stops.add_tab_stop(Mm(10))
            fmt.space_after = Pt(2)
            paragraph.runs[0].font.size = Pt(9)

    # --- the processing sheet (Lampiran 2) ---

    def landscape_section(self) -> None:
        """A new section on landscape A4 pages with the same margins, header and footer."""
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(PAGE_H), Mm(PAGE_W)
        self._continue(section, PAGE_H - LEFT - RIGHT)

    def portrait_section(self) -> None:
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
        self._continue(section, TEXT_W)

    def _continue(self, section: Section, width: float) -> None:
        """A section after the first: its pages numbered on, the first section's header on
        every page (the cover's blank first page is the first section's alone), a footer of
        its own whose page number stands at the right of its ``width`` mm of text."""
        section.different_first_page_header_footer = False
        section.left_margin, section.right_margin = Mm(LEFT), Mm(RIGHT)
        section.top_margin, section.bottom_margin = Mm(TOP), Mm(BOTTOM)
        section.footer.is_linked_to_previous = False
        self._footer(section.footer.paragraphs[0], width)

    def processing_sheet(self, rows: Iterable[tuple[float | None, ...]]) -> None:
        """The PDF's Lampiran 2 as one table: the title block, the header row (repeated on
        each page), at most ``pdf_sheet.ROWS_MAX`` respondent rows, the footer rows over every
        respondent, the legend, the elements' averages and the grade table.

        The respondent rows are written as XML copied from one row, not through python-docx's
        cell API: a few thousand rows of ten cells must stay within the report's time."""
        data = self.data
        self.centred(pdf_sheet.TITLE, 10, bold=True, after=4)
        for label, text in pdf_sheet.title_lines(data):
            paragraph = self.doc.add_paragraph()
            paragraph.paragraph_format.tab_stops.add_tab_stop(Mm(28))
            paragraph.paragraph_format.space_after = Pt(0)
            run = paragraph.add_run(f"{label}\t: {text}")
            run.font.size = Pt(8)
        self.doc.add_paragraph().paragraph_format.space_after = Pt(0)
        k = len(data.form.elements)
        page_text_w = PAGE_H - LEFT - RIGHT
        value_w = min(SHEET_VALUE_W_MAX, (page_text_w - SHEET_LABEL_W) / k)
        widths = [SHEET_LABEL_W, *([value_w] * k)]
        table: Table = self.doc.add_table(rows=1, cols=1 + k)
        table.style = self.doc.styles["Table Grid"]
        _widths(table, widths)
        _repeat_header(table)
        for cell, text in zip(table.rows[0].cells, pdf_sheet.headings(data), strict=True):
            paragraph = cell.paragraphs[0]
            paragraph.style = self.doc.styles[SHEET_CELL]
            paragraph.add_run(text).bold = True
            _shade(cell, "DDEBF7")
        printed = _append_rows(
            table, pdf_sheet.row_texts(data, itertools.islice(rows, pdf_sheet.ROWS_MAX))
        )
        if printed < data.sheet_rows:  # where the rest are, before the rows over all of them
            row = _add_row(table)
            merged = row.cells[0].merge(row.cells[-1])
            _sheet_cells([merged], [prose.sheet_capped(printed, data.sheet_rows)])
            merged.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.LEFT
            merged.paragraphs[0].runs[0].italic = True
        for label, values in pdf_sheet.footer_rows(data):
            row = _add_row(table)
            _sheet_cells(row.cells, [label, *values], bold_first=True)
        for label, value in pdf_sheet.total_rows(data):
            row = _add_row(table)
            merged = row.cells[1].merge(row.cells[-1])
            _sheet_cells([row.cells[0], merged], [label, value], bold_first=True)
            merged.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.LEFT
        spacer = self.doc.add_paragraph()
        spacer.paragraph_format.space_after = Pt(2)
        for note in prose.sheet_notes(data):
            paragraph = self.doc.add_paragraph()
            paragraph.paragraph_format.space_after = Pt(1)
            paragraph.paragraph_format.keep_with_next = True
            paragraph.add_run(note).font.size = Pt(pdf_sheet.FONT_SIZE)
        self.sheet_legend()

    def sheet_legend(self) -> None:
        """The elements' averages at the left and the grade table beside them, as the PDF's:
        two tables in the cells of a borderless one."""
        data = self.data
        table_code = data.method.table or "2017"
        outer: Table = self.doc.add_table(rows=1, cols=2)
        _table_borders(outer, bottom=False)
        _widths(outer, (110, 100))
        averages = outer.cell(0, 0).add_table(rows=0, cols=3)
        averages.style = self.doc.styles["Table Grid"]
        rows = [("No.", "Unsur pelayanan", "NRR")] + [
            (f"U{i}", element.name.id, number(found.nrr, 3))
            for i, (element, found) in enumerate(
                zip(data.form.elements, data.result.elements, strict=True), start=1
            )
        ]
        for r, values in enumerate(rows):
            _sheet_cells(_add_row(averages).cells, list(values), bold_all=r == 0)
        _widths(averages, (10, 70, 22))
        grades = outer.cell(0, 1).add_table(rows=0, cols=3)
        grades.style = self.doc.styles["Table Grid"]
        for r, values in enumerate(
            [("Mutu", "Nilai konversi (NIK)", "Kinerja"), *grade_bands(table_code)]
        ):
            _sheet_cells(_add_row(grades).cells, list(values), bold_all=r == 0)
        _widths(grades, (14, 40, 28))
        note = outer.cell(0, 1).add_paragraph(table_text(table_code))
        note.runs[0].italic = True
        note.runs[0].font.size = Pt(7)
        for cell in (outer.cell(0, 0), outer.cell(0, 1)):
            first = cell.paragraphs[0]
            if not first.text:  # a cell starts with an empty paragraph, before the table
                first._p.getparent().remove(first._p)
        for row in outer.rows:  # the two stay together on one page
            split = OxmlElement("w:cantSplit")
            split.set(qn("w:val"), "true")
            row._tr.get_or_add_trPr().append(split)


# --- WordprocessingML helpers (python-docx has no API for these) ---


def _fonts(element: BaseOxmlElement, name: str) -> None:
    """Set ``name`` for every script in the run properties of a style (or of the document
    defaults), dropping the theme fonts that would otherwise win over it, in Indonesian."""
    parent = element.find(qn("w:rPrDefault")) if element.tag == qn("w:docDefaults") else element
    assert parent is not None  # python-docx's template has its rPrDefault
    r_pr = parent.find(qn("w:rPr"))
    if r_pr is None:
        r_pr = OxmlElement("w:rPr")
        parent.append(r_pr)
    fonts = r_pr.get_or_add_rFonts()
    for attr in [a for a in fonts.attrib if a.lower().endswith("theme")]:
        del fonts.attrib[attr]
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), name)
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        r_pr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")
    lang.set(qn("w:val"), LANGUAGE)


def _after(paragraph: Paragraph) -> Paragraph:
    """A new paragraph right after ``paragraph`` (in a header, a cell or the body alike)."""
    new = OxmlElement("w:p")
    paragraph._p.addnext(new)
    return Paragraph(new, paragraph._parent)


def _field(paragraph: Paragraph, instruction: str, shown: str) -> None:
    """A complete field (PAGE, NUMPAGES) with ``shown`` as its text until it is updated."""
    _field_begin(paragraph, instruction)
    paragraph.add_run(shown)
    _field_end(paragraph)


def _fld_char(run: Run, kind: str) -> None:
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    if kind == "begin":
        char.set(qn("w:dirty"), "true")  # stale until the word processor computes it
    run._r.append(char)


def _field_begin(paragraph: Paragraph, instruction: str) -> None:
    """Open a field in ``paragraph``: what follows, up to ``_field_end``, is its result."""
    _fld_char(paragraph.add_run(), "begin")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    paragraph.add_run()._r.append(code)
    _fld_char(paragraph.add_run(), "separate")


def _field_end(paragraph: Paragraph) -> None:
    _fld_char(paragraph.add_run(), "end")


def _repeat_header(table: Table) -> None:
    """Mark the first row as the header row Word and Writer repeat on each page."""
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)
    for row in table.rows:  # a row is not split across pages either
        split = OxmlElement("w:cantSplit")
        split.set(qn("w:val"), "true")
        row._tr.get_or_add_trPr().insert(0, split)


def _sheet_cells(
    cells: Sequence[_Cell],
    texts: Sequence[str],
    *,
    bold_first: bool = False,
    bold_all: bool = False,
) -> None:
    """Texts into the processing sheet's cells, in its small centred style."""
    for i, (cell, text) in enumerate(zip(cells, texts, strict=True)):
        paragraph = cell.paragraphs[0]
        paragraph.style = SHEET_CELL
        run = paragraph.add_run(text)
        run.bold = bold_all or (bold_first and i == 0)


def _add_row(table: Table) -> _Row:
    row: _Row = table.add_row()  # type: ignore[no-untyped-call]  # python-docx: unannotated
    return row


def _append_rows(table: Table, rows: Iterable[tuple[str, list[str]]]) -> int:
    """Append the respondent rows (label, values) as copies of one row of plain cells;
    returns how many. An empty answer stays an empty cell."""
    template = _add_row(table)
    _sheet_cells(template.cells, ["0"] * len(template.cells))
    tr = template._tr
    tr.getparent().remove(tr)
    body, count = table._tbl, 0
    for label, values in rows:
        row = copy.deepcopy(tr)
        for t, text in zip(row.iterfind(f".//{qn('w:t')}"), (label, *values), strict=True):
            t.text = text
        body.append(row)
        count += 1
    return count


def _widths(table: Table, widths: Sequence[float]) -> None:
    """Fixed column widths in millimetres (Word reads the cells', Writer the grid's)."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Mm(width)
        for cell in column.cells:
            cell.width = Mm(width)


def _cell_margins(table: Table, mm: float) -> None:
    """Left and right padding of every cell of ``table``."""
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        margin = OxmlElement(f"w:{edge}")
        margin.set(qn("w:w"), str(round(mm * 1440 / 25.4)))  # twentieths of a point
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    # In the schema's order, which Word holds to (Writer forgives).
    table._tbl.tblPr.insert_element_before(
        margins, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange"
    )


def _shade(cell: _Cell, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _table_borders(table: Table, *, bottom: bool) -> None:
    """No borders, or only a line under the table (the page header's rule)."""
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        line = OxmlElement(f"w:{edge}")
        drawn = bottom and edge == "bottom"
        line.set(qn("w:val"), "single" if drawn else "nil")
        if drawn:
            line.set(qn("w:sz"), "4")
            line.set(qn("w:color"), "969696")
        borders.append(line)
    table._tbl.tblPr.insert_element_before(
        borders,
        "w:shd",
        "w:tblLayout",
        "w:tblCellMar",
        "w:tblLook",
        "w:tblCaption",
        "w:tblDescription",
        "w:tblPrChange",
    )


def _bottom_border(paragraph: Paragraph) -> None:
    """The rule under the page header, as the PDF draws it."""
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    line = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "4"), ("space", "1"), ("color", "969696")):
        line.set(qn(f"w:{key}"), value)
    borders.append(line)
    p_pr.insert_element_before(
        borders,
        "w:shd",
        "w:tabs",
        "w:suppressAutoHyphens",
        "w:spacing",
        "w:ind",
        "w:jc",
        "w:rPr",
        "w:sectPr",
    )


def _aspect(logo: Logo) -> float:
    """Width over height of a PNG or JPEG logo."""
    with Image.open(io.BytesIO(logo.content)) as image:
        return image.width / image.height


def _logo(run: Run, logo: Logo, *, height_mm: float) -> None:
    shape = run.add_picture(io.BytesIO(logo.content), height=Mm(height_mm))
    shape._inline.docPr.set("descr", "Logo")


def _fixed_zip(content: bytes, when: datetime) -> bytes:
    """The package with every member stamped ``when`` instead of the moment it was written:
    the same data on the same day makes the same bytes (one ETag from every worker)."""
    stamp = (max(when.year, 1980), when.month, when.day, 0, 0, 0)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, source.read(member))
    return out.getvalue()

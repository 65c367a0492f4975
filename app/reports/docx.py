"""The report as an editable Word document (DOCX), chapter for chapter the PDF: cover, kata
pengantar with the signature block, daftar isi, BAB I-V, and the questionnaire as an appendix,
from the same ``ReportData``, for a unit head to adjust in Word or LibreOffice Writer and sign.

Built with python-docx rather than a docxtpl template: the report is mostly loops over tables
whose rows and columns depend on the data (elements, services, child units, periods), which is
code either way, and a binary template in the repository would be a second place for the
layout that no diff shows. Everything a Word user expects to work does: chapters and sections
in the built-in styles Heading 1 and Heading 2 (navigation pane, outline) and a TOC field over
them that Word fills in on opening (``updateFields``), tables whose header row repeats on every
page, page numbers from PAGE/NUMPAGES fields, A4 with the PDF's margins, the logo on the cover
and in the header, the charts as PNG pictures (``charts``) with alternative text.

The text is set in DejaVu Sans, as in the PDF (it covers Indonesian and the other Latin
letters, quotes and arrows that names and saran hold); a computer without it substitutes a
sans-serif, and the characters themselves are stored as written. The sentences come from
``prose``, numbers from ``wording.number``.

One method per part, in the PDF's order (``_Report.cover`` ... ``appendix``), so that a part
the PDF gains is added here beside its namesake.
"""

import io
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from PIL import Image

from app.core.periods import long_date, period_text
from app.reports import charts, prose
from app.reports.logo import SVG, Logo
from app.reports.pdf import BAR_COLOURS, DOTS, SAMPLE_SUGGESTIONS
from app.reports.prose import TIMES
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


def write_docx(data: ReportData, out: IO[bytes] | Path) -> None:
    """Write the report DOCX of ``data`` to a path or a binary file."""
    report = _Report(data)
    report.cover()
    report.foreword()
    report.contents()
    report.bab_1()
    report.bab_2()
    report.bab_3()
    report.bab_4()
    report.bab_5()
    report.appendix()
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
        properties.title = (
            f"Laporan Hasil Survei Kepuasan Masyarakat {data.unit.name} {self.period_words}"
        )
        properties.subject = f"Indeks Kepuasan Masyarakat {self.period_words}"
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

    def _footer(self, paragraph: Paragraph) -> None:
        paragraph.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_W), WD_TAB_ALIGNMENT.RIGHT)
        italic = paragraph.add_run(
            f"Laporan Hasil SKM {self.data.unit.name}, {self.period_words}\tHalaman "
        )
        italic.italic = True
        _field(paragraph, "PAGE", "1")
        paragraph.add_run(" dari ").italic = True
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

    def chapter(self, title: str) -> None:
        self.headings.append((1, title))
        self.doc.add_paragraph(title, style="Heading 1")

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

    def grid(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        bold_last: int = 0,
    ) -> Table:
        """A table whose header row repeats on every page; ``bold_last`` rows at the bottom
        are its totals. Widths in millimetres, as the PDF's."""
        table: Table = self.doc.add_table(rows=1 + len(rows), cols=len(headings))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _widths(table, widths)
        _repeat_header(table)
        # Name columns (wide) read best left-aligned, figures centred.
        aligns = [
            WD_ALIGN_PARAGRAPH.LEFT if width >= 45 else WD_ALIGN_PARAGRAPH.CENTER
            for width in widths
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

    def grade_legend(self) -> None:
        """The colours of the bars: each grade with its NIK range and kinerja."""
        paragraph = self.doc.add_paragraph()
        for i, (letter, span, kinerja) in enumerate(grade_bands(self.data.method.table or "2017")):
            if i:
                paragraph.add_run("   ")
            square = paragraph.add_run("\N{BLACK SQUARE} ")
            square.font.color.rgb = RGBColor(*BAR_COLOURS[letter])
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
        self.section("2.4 Penentuan Jumlah Responden")
        self.para(prose.jumlah_responden(data))

    def bab_3(self) -> None:
        data, result = self.data, self.data.result
        self.chapter("BAB III HASIL PENGOLAHAN DATA")
        self.section("3.1 Profil Responden")
        for table in data.profile:
            self.grid(
                (table.title, "Jumlah", "Persentase"),
                [(row.label, str(row.count), f"{number(row.percent)}%") for row in table.rows],
                (90, 30, 40),
            )
        self.section("3.2 Indeks Kepuasan Masyarakat per Unsur")
        rows = [
            (
                f"U{i}",
                data.element_name(e.code),
                number(e.nrr, 3),
                number(e.weighted, 4),
                number(e.nik_rounded),
                e.mutu or "-",
            )
            for i, e in enumerate(result.elements, start=1)
        ]
        rows.append(("", "Σ NRR tertimbang = IKM", "", number(result.ikm, 4), "", ""))
        rows.append(
            (
                "",
                f"IKM unit pelayanan (IKM {TIMES} 25)",
                "",
                "",
                number(result.nik_rounded),
                result.mutu or "-",
            )
        )
        self.grid(
            ("No.", "Unsur pelayanan", "NRR", "NRR tertimbang", f"NRR {TIMES} 25", "Mutu"),
            rows,
            (12, 63, 20, 27, 25, 18),
            bold_last=2,
        )
        if data.mean_of_children:
            self.caption(prose.mean_of_children_note(data))
        self.para(prose.verdict(data))
        self.bar_chart()
        groups = [
            ("3.3 IKM per Jenis Layanan", data.services, False),
            ("3.4 IKM per Loket", data.counters, False),
            ("3.5 IKM Unit di Bawahnya", data.children, True),  # each pools its subtree
        ]
        for title, found, units in groups:
            if found:
                self.section(title)
                self.group_table(found, units=units)

    def group_table(self, groups: Sequence[GroupIkm], units: bool = False) -> None:
        """Name, respondents, NIK and grade; for child units also the units each pools."""
        rows: list[tuple[str, ...]]
        if not units:
            rows = [
                (g.name, str(g.result.n), number(g.result.nik_rounded), g.result.mutu or "-")
                for g in groups
            ]
            self.grid(("Nama", "Responden", "IKM", "Mutu"), rows, (90, 25, 25, 20))
        else:
            rows = [
                (
                    g.name,
                    str(g.result.coverage.units if g.result.coverage else 1),
                    str(g.result.n),
                    number(g.result.nik_rounded),
                    g.result.mutu or "-",
                )
                for g in groups
            ]
            self.grid(("Nama", "Unit", "Responden", "IKM", "Mutu"), rows, (75, 15, 25, 25, 20))
            if self.data.mean_of_children:
                self.caption(
                    "Catatan: nilai setiap unit di tabel ini adalah gabungan responden unit itu "
                    "beserta unit di bawahnya."
                )
        note = differing_methods(
            self.data.method,
            ((g.name, g.result.method) for g in groups if g.result.n),
            len(self.data.form.elements),
        )
        if note:
            self.caption(note)

    def bar_chart(self) -> None:
        title = self.para(f"Grafik nilai per unsur (NRR {TIMES} 25)", justify=False)
        title.runs[0].bold = True
        title.paragraph_format.keep_with_next = True
        self.picture(charts.element_bars(self.data, TEXT_W))
        self.caption(
            f"Nilai unsur = NRR {TIMES} 25 (25 sampai 100); warna batang menurut mutu "
            f"pelayanan ({table_text(self.data.method.table)}):"
        )
        self.grade_legend()

    def trend_chart(self) -> None:
        chart = charts.trend_bars(self.data, TEXT_W)
        if chart is None:
            return
        self.picture(chart)
        self.grade_legend()

    def bab_4(self) -> None:
        data = self.data
        self.chapter("BAB IV ANALISIS")
        self.section("4.1 Unsur Terendah dan Tertinggi")
        headings = ("Unsur pelayanan", "NRR", f"NRR {TIMES} 25")
        if data.weakest:
            for intro, lines in (
                (
                    "Tiga unsur dengan nilai terendah, yang menjadi prioritas perbaikan:",
                    data.weakest,
                ),
                ("Tiga unsur dengan nilai tertinggi, yang perlu dipertahankan:", data.strongest),
            ):
                self.para(intro)
                rows = [
                    (
                        data.element_name(line.code),
                        number(line.result.nrr, 3),
                        number(line.result.nik_rounded),
                    )
                    for line in lines
                ]
                self.grid(headings, rows, (100, 30, 30))
        else:
            self.para("Belum ada jawaban untuk dianalisis.")
        self.section("4.2 Rencana Tindak Lanjut")
        self.para(prose.RTL_INTRO)
        rtl = [
            (str(i), data.element_name(line.code), "", "", "")
            for i, line in enumerate(data.weakest, start=1)
        ]
        self.grid(
            ("No.", "Prioritas unsur", "Program/kegiatan", "Waktu", "Penanggung jawab"),
            rtl or [("-", "-", "", "", "")],
            (10, 45, 50, 25, 35),
        )
        self.section("4.3 Tren")
        if len([p for p in data.trend if p.result.n]) > 1:
            trend = [
                (
                    period_text(p.period),
                    str(p.result.n),
                    number(p.result.nik_rounded),
                    p.result.mutu or "-",
                )
                for p in data.trend
            ]
            self.grid(("Periode", "Responden", "IKM", "Mutu"), trend, (70, 30, 30, 20))
            note = differing_methods(
                data.method,
                ((period_text(p.period), p.result.method) for p in data.trend if p.result.n),
                len(data.form.elements),
            )
            if note:
                self.caption(note)
            self.trend_chart()
        else:
            self.para("Belum ada data periode sebelumnya untuk dibandingkan.")

    def bab_5(self) -> None:
        data = self.data
        self.chapter("BAB V PENUTUP")
        self.section("5.1 Kesimpulan")
        for point in prose.kesimpulan(data):
            self.para(point)
        self.section("5.2 Saran")
        quoted = data.suggestions[:SAMPLE_SUGGESTIONS]
        if quoted:
            self.para(
                f"Saran responden ({len(quoted)} dari {len(data.suggestions)} terbaru; "
                "selengkapnya di lembar Saran pada berkas XLSX):"
            )
            for item in quoted:
                self.para(f"- {item[:300]}", justify=False)
        else:
            self.para("Tidak ada saran tertulis dari responden pada periode ini.")
        self.signature()

    def appendix(self) -> None:
        form = self.data.form
        self.chapter("LAMPIRAN: KUESIONER")
        self.para(f"{form.title.id} ({form.regulation.id})")
        for i, element in enumerate(form.elements, start=1):
            name = self.para(f"U{i}. {element.name.id}", justify=False)
            name.runs[0].bold = True
            name.paragraph_format.keep_with_next = True
            question = self.para(element.question.id)
            question.paragraph_format.keep_with_next = True
            self.caption(
                "   ".join(
                    f"({value}) {label.id}" for value, label in enumerate(element.answers, start=1)
                )
            )


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


def _widths(table: Table, widths: Sequence[float]) -> None:
    """Fixed column widths in millimetres (Word reads the cells', Writer the grid's)."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Mm(width)
        for cell in column.cells:
            cell.width = Mm(width)


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
    table._tbl.tblPr.append(borders)


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

"""The report as a PDF in the shape of a laporan hasil SKM: cover, kata pengantar, daftar isi,
BAB I-V with the signature block and the questionnaire as an appendix, in Bahasa Indonesia,
with page numbers, the unit's logo on the cover and in the page header.

Drawn with fpdf2 in DejaVu Sans, shipped in ``fonts/`` and embedded as a subset, so any name or
saran prints as written (the PDF core fonts hold Latin-1 only). The method is stated once, in
BAB II; a table carries a note only where its figures were formed differently. The wording
(method, periods, numbers) comes from ``wording`` and ``app.core.periods``.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import IO

from fpdf import FPDF
from fpdf.enums import ResourceAccessPolicy
from fpdf.outline import OutlineSection

from app.core.periods import long_date, period_text
from app.reports import logo as logos
from app.reports.wording import (
    default_foreword,
    differing_methods,
    grade_bands,
    nip_text,
    number,
    table_text,
)
from app.services.report_data import GroupIkm, ReportData

__all__ = ["number", "write_pdf"]

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVu"
BAR_COLOURS = {"A": (46, 125, 50), "B": (25, 118, 210), "C": (245, 124, 0), "D": (198, 40, 40)}
NO_GRADE = (120, 120, 120)
SAMPLE_SUGGESTIONS = 15  # saran quoted in BAB V; the XLSX holds them all
DOTS = "................................"
TIMES = "\N{MULTIPLICATION SIGN}"  # printed, not the letter x


def write_pdf(data: ReportData, out: IO[bytes] | Path) -> None:
    """Write the report PDF of ``data`` to a path or a binary file."""
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
    pdf.appendix()
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
        title = f"Laporan Hasil Survei Kepuasan Masyarakat {data.unit.name} {self.period_words}"
        self.set_title(title)
        self.set_subject(f"Indeks Kepuasan Masyarakat {self.period_words}")
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
        self.cell(0, 6, f"Laporan Hasil SKM {self.data.unit.name}, {self.period_words}")
        self.set_x(self.l_margin)
        self.cell(0, 6, f"Halaman {self.page_no()} dari {{nb}}", align="R")

    def chapter(self, title: str) -> None:
        if self.y > self.t_margin + 1:  # the table of contents leaves a fresh page behind
            self.add_page()
        self.start_section(title, level=0)
        self.set_font(FONT, "B", 14)
        self.multi_cell(0, 8, title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def section(self, title: str) -> None:
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

    def grid(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[int],
        bold_last: int = 0,
    ) -> None:
        """A table; ``bold_last`` rows at the bottom are its totals."""
        self.set_font(FONT, "", 9)
        self.set_fill_color(255, 255, 255)  # charts leave their bar colour behind
        # Name columns (wide) read best left-aligned, figures centred.
        align = tuple("LEFT" if width >= 45 else "CENTER" for width in widths)
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

    def signature(self, *, with_nip: bool = True) -> None:
        """The signature block at the right: place and date, jabatan, then the name over the
        NIP, with lines to fill in for what the unit's settings leave open."""
        signer = self.data.signer
        width = 80.0
        self.set_font(FONT, "", 10)
        lines = 3 + self.lines(width, signer.title) + self.lines(width, signer.name or DOTS)
        if self.get_y() + 5.5 * lines + 20 > self.h - self.b_margin:
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
        coverage = result.coverage
        if data.mean_of_children:
            below = f"rata-rata nilai unit di bawahnya ({result.aggregate.children} unit)"
        elif data.include_children and coverage is not None and coverage.units > 1:
            below = f"beserta unit di bawahnya ({coverage.units - 1} unit)"
        else:
            below = ""
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
        grade = (
            f"Mutu pelayanan {result.mutu} ({result.kinerja})" if result.mutu else "Belum ada data"
        )
        self.cell(0, 8, grade, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 10)
        self.cell(0, 6, f"{result.n} responden", align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_y(-35)
        self.set_font(FONT, "I", 8.5)
        made = f"Disusun dengan aplikasi SKM pada {long_date(data.generated_at)}."
        self.multi_cell(0, 5, made, align="C", new_x="LMARGIN")

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
        for paragraph in body.split("\n\n"):
            if paragraph.strip():
                self.para(" ".join(paragraph.split()))
        self.ln(6)
        self.signature(with_nip=True)

    def bab_1(self) -> None:
        name = self.data.unit.name
        self.chapter("BAB I PENDAHULUAN")
        self.section("1.1 Latar Belakang")
        self.para(
            "Pelayanan publik yang baik menjadi hak setiap warga negara. Untuk mengetahui "
            f"tingkat kepuasan masyarakat atas pelayanan di {name}, dilaksanakan Survei Kepuasan "
            "Masyarakat (SKM) secara berkala. Hasilnya menjadi bahan evaluasi dan perbaikan "
            "kualitas pelayanan."
        )
        self.section("1.2 Dasar Hukum")
        for line in (
            "1. Undang-Undang Nomor 25 Tahun 2009 tentang Pelayanan Publik;",
            "2. Peraturan Pemerintah Nomor 96 Tahun 2012 tentang Pelaksanaan Undang-Undang "
            "Nomor 25 Tahun 2009 tentang Pelayanan Publik;",
            "3. Peraturan Menteri Pendayagunaan Aparatur Negara dan Reformasi Birokrasi Nomor 14 "
            "Tahun 2017 tentang Pedoman Penyusunan Survei Kepuasan Masyarakat Unit "
            "Penyelenggara Pelayanan Publik.",
        ):
            self.para(line)
        self.section("1.3 Maksud dan Tujuan")
        self.para(
            "Survei ini dimaksudkan untuk mengukur tingkat kepuasan masyarakat sebagai pengguna "
            "layanan, dan bertujuan mengetahui kelemahan dan kekuatan setiap unsur pelayanan "
            "sebagai dasar rencana tindak lanjut perbaikan pelayanan."
        )

    def bab_2(self) -> None:
        data, result = self.data, self.data.result
        k = len(data.form.elements)
        self.chapter("BAB II PENGUMPULAN DATA")
        self.section("2.1 Pelaksana")
        self.para(
            f"Survei dilaksanakan oleh {data.unit.name}"
            + (f", {data.unit.address}." if data.unit.address else ".")
        )
        self.section("2.2 Metode Pengumpulan dan Pengolahan Data")
        self.para(
            f"Data dikumpulkan dengan kuesioner {k} unsur pelayanan sesuai "
            f"{data.form.regulation.id}, diisi responden melalui kode QR di loket, tablet (kiosk) "
            "atau formulir kertas. Setiap jawaban bernilai 1 (tidak baik) sampai 4 (sangat baik)."
        )
        self.para(
            "Nilai rata-rata (NRR) setiap unsur adalah jumlah nilai unsur itu dibagi jumlah "
            "responden yang menjawabnya. NRR tertimbang adalah NRR dikalikan bobot unsur; "
            "jumlah NRR tertimbang seluruh unsur adalah IKM (1 sampai 4), dan IKM unit pelayanan "
            "adalah IKM dikalikan 25 (25 sampai 100). "
            f"Metode perhitungan: {data.method_text}. Nilai IKM dihitung sebagai "
            f"{data.aggregate_text}. Seluruh tabel dan grafik dalam laporan ini memakai metode "
            "tersebut kecuali bila dicatat lain di bawahnya."
        )
        self.section("2.3 Lokasi dan Waktu")
        loket = ", ".join(g.name for g in data.counters) or "seluruh loket pelayanan"
        if data.include_children and data.children:
            below = ", ".join(g.name for g in data.children)
            joined = "dirata-ratakan" if data.mean_of_children else "digabungkan"
            loket += f"; beserta unit di bawahnya ({below}), yang hasilnya {joined}"
        waktu = (
            self.period_words
            if data.period.kind == "range"
            else f"{self.period_words} ({long_date(data.period.start)} s.d. "
            f"{long_date(data.period.end)})"
        )
        self.para(f"Lokasi: {loket}. Waktu: {waktu}. Cakupan: {data.coverage_text}.")
        self.section("2.4 Penentuan Jumlah Responden")
        sample = result.sample
        if sample is None:
            self.para(
                f"Jumlah responden {result.n} orang. Jumlah populasi (pengguna layanan) "
                "periode ini belum dicatat, sehingga kecukupan sampel menurut tabel Krejcie "
                "dan Morgan belum dapat dinilai."
            )
        else:
            self.para(
                f"Populasi (pengguna layanan) periode ini {sample.population} orang"
                + (" (jumlah populasi unit-unit yang digabungkan)" if data.include_children else "")
                + ". Menurut tabel "
                f"Krejcie dan Morgan, sampel minimum {sample.minimum} responden. Jumlah responden "
                f"{sample.n} orang: jumlah sampel {sample.verdict}."
            )

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
            self.caption(
                "Catatan: NRR setiap unsur adalah rata-rata NRR "
                f"{result.aggregate.children} unit di bawahnya (rerata unit), bukan gabungan "
                "jawaban responden."
            )
        verdict = (
            f"Nilai IKM {data.unit.name} {self.when} adalah "
            f"{number(result.nik_rounded)} dengan mutu pelayanan {result.mutu} dan kinerja unit "
            f"pelayanan {result.kinerja}, dari {result.n} responden."
            if result.mutu
            else "Belum ada jawaban yang cukup untuk menghitung IKM periode ini."
        )
        if result.mutu and data.mean_of_children:
            verdict += f" Nilai ini adalah {data.aggregate_text}."
        self.para(verdict)
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

    def grade_legend(self) -> None:
        """The colours of the bars: each grade with its NIK range and kinerja."""
        table = self.data.method.table or "2017"
        self.set_font(FONT, "", 7.5)
        column = self.epw / 2
        for i, (letter, span, kinerja) in enumerate(grade_bands(table)):
            x = self.l_margin + (i % 2) * column
            y = self.get_y()
            self.set_fill_color(*BAR_COLOURS[letter])
            self.rect(x, y + 1, 3.5, 3.5, style="F")
            self.set_xy(x + 5, y)
            self.cell(column - 5, 5.5, f"{letter} ({kinerja}): {span}")
            self.set_xy(self.l_margin, y + (5.5 if i % 2 else 0))
        self.set_fill_color(255, 255, 255)
        self.ln(2)

    def bar_chart(self) -> None:
        """Horizontal bars of each element's NRR x 25 on a 0-100 scale, coloured by grade."""
        elements = self.data.result.elements
        label_width, value_width, line = 62.0, 14.0, 3.6
        self.set_font(FONT, "", 8)
        labels = [f"U{i} {self.data.element_name(e.code)}" for i, e in enumerate(elements, start=1)]
        heights = [max(6.0, line * self.lines(label_width - 2, label) + 1.5) for label in labels]
        total = sum(heights) + 6 + 8 + 12 + 10
        if self.get_y() + total > self.h - self.b_margin:
            self.add_page()
        self.set_font(FONT, "B", 10)
        self.cell(0, 6, f"Grafik nilai per unsur (NRR {TIMES} 25)", new_x="LMARGIN", new_y="NEXT")
        left = self.l_margin + label_width
        span = self.epw - label_width - value_width
        scale = span / 100
        top = self.get_y() + 1
        bottom = top + sum(heights)
        # The scale: a light line every 10 points, labelled every 20, under the bars.
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
        for label, height, element in zip(labels, heights, elements, strict=True):
            self.set_font(FONT, "", 8)
            self.set_xy(self.l_margin, y + (height - line * round((height - 1.5) / line)) / 2)
            self.multi_cell(label_width - 2, line, label, align="L", new_x="LMARGIN", new_y="NEXT")
            if element.nik_rounded is not None:
                value = float(element.nik_rounded)
                self.set_fill_color(*BAR_COLOURS.get(element.mutu or "", NO_GRADE))
                self.rect(left, y + height / 2 - 2, value * scale, 4, style="F")
                self.set_xy(left + value * scale + 1, y + height / 2 - 3)
                self.set_font(FONT, "", 7.5)
                self.cell(value_width, 6, number(element.nik_rounded))
            y += height
        self.set_xy(self.l_margin, bottom + 5)
        self.set_font(FONT, "I", 7.5)
        self.cell(
            0,
            4,
            f"Nilai unsur = NRR {TIMES} 25 (25 sampai 100); warna batang menurut mutu "
            f"pelayanan ({table_text(self.data.method.table)}):",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.grade_legend()

    def trend_chart(self) -> None:
        points = [p for p in self.data.trend if p.result.nik_rounded is not None]
        if len(points) < 2:
            return
        height, top = 50.0, self.get_y() + 4
        if top + height + 34 > self.h - self.b_margin:
            self.add_page()
            top = self.get_y() + 4
        width = (self.epw - 10) / len(points)
        low = 25
        left = self.l_margin + 8
        # The scale at the left: 25 to 100, every 25.
        self.set_font(FONT, "", 7)
        self.set_draw_color(215, 215, 215)
        for tick in (25, 50, 75, 100):
            y = top + height - height * (tick - low) / (100 - low)
            self.line(left, y, left + width * len(points), y)
            self.set_xy(self.l_margin, y - 2)
            self.cell(7, 4, str(tick), align="R")
        self.set_draw_color(0, 0, 0)
        for i, point in enumerate(points):
            assert point.result.nik_rounded is not None
            value = float(point.result.nik_rounded)
            bar = height * (value - low) / (100 - low)
            x = left + i * width
            self.set_fill_color(*BAR_COLOURS.get(point.result.mutu or "", NO_GRADE))
            self.rect(x + width * 0.2, top + height - bar, width * 0.6, bar, style="F")
            self.set_font(FONT, "", 8)
            self.set_xy(x, top + height - bar - 5)
            self.cell(width, 5, number(point.result.nik_rounded), align="C")
            self.set_font(FONT, "", 7)
            self.set_xy(x, top + height + 1)
            self.multi_cell(width, 3.5, period_text(point.period), align="C")
        self.set_xy(self.l_margin, top + height + 10)
        self.grade_legend()

    def bab_4(self) -> None:
        data = self.data
        self.chapter("BAB IV ANALISIS")
        self.section("4.1 Unsur Terendah dan Tertinggi")
        weakest = [
            (
                data.element_name(line.code),
                number(line.result.nrr, 3),
                number(line.result.nik_rounded),
            )
            for line in data.weakest
        ]
        strongest = [
            (
                data.element_name(line.code),
                number(line.result.nrr, 3),
                number(line.result.nik_rounded),
            )
            for line in data.strongest
        ]
        if weakest:
            self.para("Tiga unsur dengan nilai terendah, yang menjadi prioritas perbaikan:")
            self.grid(("Unsur pelayanan", "NRR", f"NRR {TIMES} 25"), weakest, (100, 30, 30))
            self.para("Tiga unsur dengan nilai tertinggi, yang perlu dipertahankan:")
            self.grid(("Unsur pelayanan", "NRR", f"NRR {TIMES} 25"), strongest, (100, 30, 30))
        else:
            self.para("Belum ada jawaban untuk dianalisis.")
        self.section("4.2 Rencana Tindak Lanjut")
        self.para(
            "Rencana tindak lanjut atas unsur prioritas, diisi dan dibahas dalam forum "
            "konsultasi publik:"
        )
        rows = [
            (str(i), data.element_name(line.code), "", "", "")
            for i, line in enumerate(data.weakest, start=1)
        ]
        self.grid(
            ("No.", "Prioritas unsur", "Program/kegiatan", "Waktu", "Penanggung jawab"),
            rows or [("-", "-", "", "", "")],
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
        data, result = self.data, self.data.result
        self.chapter("BAB V PENUTUP")
        self.section("5.1 Kesimpulan")
        if result.mutu:
            weakest = ", ".join(data.element_name(line.code) for line in data.weakest)
            self.para(
                f"1. IKM {data.unit.name} {self.when} adalah "
                f"{number(result.nik_rounded)}, mutu pelayanan {result.mutu}, kinerja unit "
                f"pelayanan {result.kinerja}."
            )
            self.para(f"2. Unsur yang perlu diperbaiki lebih dahulu: {weakest}.")
            if result.sample is not None:
                self.para(
                    f"3. Jumlah sampel {result.sample.verdict} ({result.sample.n} dari "
                    f"minimum {result.sample.minimum})."
                )
        else:
            self.para("Belum ada jawaban yang cukup untuk menyimpulkan hasil survei periode ini.")
        self.section("5.2 Saran")
        quoted = data.suggestions[:SAMPLE_SUGGESTIONS]
        if quoted:
            self.para(
                f"Saran responden ({len(quoted)} dari {len(data.suggestions)} terbaru; "
                "selengkapnya di lembar Saran pada berkas XLSX):"
            )
            for item in quoted:
                self.para(f"- {item[:300]}")
        else:
            self.para("Tidak ada saran tertulis dari responden pada periode ini.")
        self.ln(8)
        self.signature()

    def appendix(self) -> None:
        form = self.data.form
        self.chapter("LAMPIRAN: KUESIONER")
        self.para(f"{form.title.id} ({form.regulation.id})")
        for i, element in enumerate(form.elements, start=1):
            self.set_font(FONT, "B", 10)
            self.multi_cell(0, 5.5, f"U{i}. {element.name.id}", new_x="LMARGIN", new_y="NEXT")
            self.para(element.question.id)
            labels = "   ".join(
                f"({value}) {label.id}" for value, label in enumerate(element.answers, start=1)
            )
            self.caption(labels)

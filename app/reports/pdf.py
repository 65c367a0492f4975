"""The report as a PDF in the shape of a laporan hasil SKM: cover, daftar isi, BAB I-V and the
questionnaire as an appendix, in Bahasa Indonesia, with page numbers.

Drawn with fpdf2's core fonts (no font files, no network). Charts are plain rectangles. The
method label is printed under every table and chart that shows a figure.
"""

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

from fpdf import FPDF
from fpdf.outline import OutlineSection

from app.services.report_data import GroupIkm, ReportData

MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
# Characters outside Latin-1 (the core fonts' range) that reports commonly hold.
REPLACEMENTS = str.maketrans(
    {
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u03a3": "Jumlah ",  # sigma
        "\u2265": ">=",
        "\u2264": "<=",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
    }
)
BAR_COLOURS = {"A": (46, 125, 50), "B": (25, 118, 210), "C": (245, 124, 0), "D": (198, 40, 40)}
SAMPLE_SUGGESTIONS = 15  # saran quoted in BAB V; the XLSX holds them all


def write_pdf(data: ReportData, out: IO[bytes] | Path) -> None:
    """Write the report PDF of ``data`` to a path or a binary file."""
    pdf = _Report(data)
    pdf.set_creation_date(data.generated_at)
    pdf.cover()
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


def text(value: str) -> str:
    """Text the core fonts can draw: common symbols spelled out, anything else as '?'."""
    return value.translate(REPLACEMENTS).encode("latin-1", "replace").decode("latin-1")


def number(value: Fraction | Decimal | float | None, decimals: int = 2) -> str:
    """A figure as Indonesian texts print it: decimal comma, half-up rounding, '-' if none."""
    if value is None:
        return "-"
    quantum = Decimal(1).scaleb(-decimals)
    exact = (
        Decimal(value.numerator) / Decimal(value.denominator)
        if isinstance(value, Fraction)
        else Decimal(str(value))
    )
    return f"{exact.quantize(quantum, rounding='ROUND_HALF_UP'):.{decimals}f}".replace(".", ",")


def long_date(day: Any) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _render_toc(pdf: FPDF, outline: Sequence[OutlineSection]) -> None:
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, "DAFTAR ISI", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for section in outline:
        pdf.set_font("Helvetica", "B" if section.level == 0 else "", 11)
        indent = 8 * section.level
        pdf.set_x(pdf.l_margin + indent)
        width = pdf.epw - indent - 15
        pdf.cell(width, 7, text(section.name))
        pdf.cell(15, 7, str(section.page_number), align="R", new_x="LMARGIN", new_y="NEXT")


class _Report(FPDF):
    def __init__(self, data: ReportData) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.data = data
        self.set_margins(25, 20, 20)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_title(text(f"Laporan Hasil SKM {data.unit.name} {data.period.label}"))
        self.set_creator("skm")
        self.alias_nb_pages()

    # --- page furniture ---

    def footer(self) -> None:
        if self.page_no() == 1:
            return  # the cover carries no number
        self.set_y(-14)
        self.set_font("Helvetica", "I", 8)
        self.cell(
            0, 6, text(f"Laporan Hasil SKM {self.data.unit.name}, periode {self.data.period.label}")
        )
        self.set_x(self.l_margin)
        self.cell(0, 6, f"Halaman {self.page_no()} dari {{nb}}", align="R")

    def chapter(self, title: str) -> None:
        if self.y > self.t_margin + 1:  # the table of contents leaves a fresh page behind
            self.add_page()
        self.start_section(text(title), level=0)
        self.set_font("Helvetica", "B", 14)
        self.multi_cell(0, 8, text(title), align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def section(self, title: str) -> None:
        self.ln(2)
        self.start_section(text(title), level=1)
        self.set_font("Helvetica", "B", 11)
        self.multi_cell(0, 7, text(title), new_x="LMARGIN", new_y="NEXT")

    def para(self, body: str) -> None:
        self.set_font("Helvetica", "", 10.5)
        self.multi_cell(0, 5.5, text(body), align="J", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def caption(self, body: str) -> None:
        self.set_font("Helvetica", "I", 8.5)
        self.multi_cell(0, 4.5, text(body), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def method_note(self) -> None:
        note = f"Metode perhitungan: {self.data.method.label}."
        if self.data.mean_of_children:
            note += f" Agregasi: {self.data.aggregate_text}."
        self.caption(note)

    def grid(
        self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]
    ) -> None:
        self.set_font("Helvetica", "", 9.5)
        self.set_fill_color(255, 255, 255)  # charts leave their bar colour behind
        # Name columns (wide) read best left-aligned, figures centred.
        align = tuple("LEFT" if width >= 45 else "CENTER" for width in widths)
        with self.table(
            col_widths=tuple(widths),
            text_align=align,
            line_height=5.5,
            first_row_as_headings=True,
        ) as table:
            table.row([text(h) for h in headings])
            for row in rows:
                table.row([text(cell) for cell in row])
        self.ln(2)

    # --- pages ---

    def cover(self) -> None:
        data, result = self.data, self.data.result
        self.add_page()
        self.set_font("Helvetica", "B", 18)
        self.ln(25)
        self.multi_cell(
            0,
            10,
            "LAPORAN HASIL\nSURVEI KEPUASAN MASYARAKAT",
            align="C",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.ln(10)
        self.set_font("Helvetica", "B", 15)
        self.multi_cell(
            0, 8, text(data.unit.name.upper()), align="C", new_x="LMARGIN", new_y="NEXT"
        )
        self.set_font("Helvetica", "", 11)
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
            self.multi_cell(0, 6, text(parent.name), align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(6)
        self.set_font("Helvetica", "", 12)
        span = f"{long_date(data.period.start)} - {long_date(data.period.end)}"
        self.multi_cell(
            0,
            7,
            text(f"Periode {data.period.label} ({span})"),
            align="C",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.ln(18)
        self.set_font("Helvetica", "B", 13)
        self.cell(0, 8, "INDEKS KEPUASAN MASYARAKAT", align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "B", 40)
        self.cell(0, 20, number(result.nik_rounded), align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "B", 14)
        grade = (
            f"Mutu pelayanan {result.mutu} ({result.kinerja})" if result.mutu else "Belum ada data"
        )
        self.cell(0, 8, text(grade), align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 10)
        self.cell(0, 6, f"{result.n} responden", align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_y(-45)
        self.set_font("Helvetica", "I", 9)
        made = f"Disusun dengan aplikasi SKM pada {long_date(data.generated_at)}."
        self.multi_cell(
            0, 5, text(f"{made} Metode: {data.method.label}."), align="C", new_x="LMARGIN"
        )

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
        self.chapter("BAB II PENGUMPULAN DATA")
        self.section("2.1 Pelaksana")
        self.para(
            f"Survei dilaksanakan oleh {data.unit.name}"
            + (f", {data.unit.address}." if data.unit.address else ".")
        )
        self.section("2.2 Metode Pengumpulan Data")
        self.para(
            f"Data dikumpulkan dengan kuesioner {len(data.form.elements)} unsur pelayanan sesuai "
            f"{data.form.regulation.id}, diisi responden melalui kode QR di loket, tablet (kiosk) "
            "atau formulir kertas. Setiap jawaban bernilai 1 (tidak baik) sampai 4 (sangat baik). "
            f"Metode perhitungan: {data.method.label}. Nilai IKM dihitung sebagai "
            f"{data.aggregate_text}."
        )
        self.section("2.3 Lokasi dan Waktu")
        loket = ", ".join(g.name for g in data.counters) or "seluruh loket pelayanan"
        if data.include_children and data.children:
            below = ", ".join(g.name for g in data.children)
            joined = "dirata-ratakan" if data.mean_of_children else "digabungkan"
            loket += f"; beserta unit di bawahnya ({below}), yang hasilnya {joined}"
        self.para(
            f"Lokasi: {loket}. Waktu: {long_date(data.period.start)} sampai "
            f"{long_date(data.period.end)} (periode {data.period.label}). Cakupan: "
            f"{data.coverage_text}."
        )
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
                number(e.weighted, 3),
                number(e.nik_rounded),
                e.mutu or "-",
            )
            for i, e in enumerate(result.elements, start=1)
        ]
        rows.append(
            (
                "",
                "IKM unit pelayanan",
                number(result.ikm, 3),
                "",
                number(result.nik_rounded),
                result.mutu or "-",
            )
        )
        self.grid(
            ("No.", "Unsur pelayanan", "NRR", "NRR tertimbang", "NIK", "Mutu"),
            rows,
            (12, 70, 20, 28, 20, 15),
        )
        self.method_note()
        verdict = (
            f"Nilai IKM {data.unit.name} periode {data.period.label} adalah "
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
            self.grid(("Nama", "Responden", "NIK", "Mutu"), rows, (90, 25, 25, 20))
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
            self.grid(("Nama", "Unit", "Responden", "NIK", "Mutu"), rows, (75, 15, 25, 25, 20))
        self.method_note()

    def bar_chart(self) -> None:
        """Horizontal bars of each element's NIK (NRR x 25) on a 0-100 scale."""
        elements = self.data.result.elements
        height = 6.0 * len(elements) + 12
        if self.get_y() + height > self.h - 25:
            self.add_page()
        self.set_font("Helvetica", "B", 10)
        self.cell(0, 6, "Grafik nilai per unsur (NRR x 25)", new_x="LMARGIN", new_y="NEXT")
        left, scale = self.l_margin + 55, (self.epw - 70) / 100
        self.set_font("Helvetica", "", 8.5)
        for i, element in enumerate(elements, start=1):
            y = self.get_y()
            self.cell(55, 6, text(f"U{i} {self.data.element_name(element.code)}"[:38]))
            if element.nik_rounded is not None:
                self.set_fill_color(*BAR_COLOURS.get(element.mutu or "D", (120, 120, 120)))
                self.rect(left, y + 1, float(element.nik_rounded) * scale, 4, style="F")
                self.set_xy(left + float(element.nik_rounded) * scale + 1, y)
                self.cell(15, 6, number(element.nik_rounded))
            self.set_xy(self.l_margin, y + 6)
        self.method_note()

    def trend_chart(self) -> None:
        points = [p for p in self.data.trend if p.result.nik_rounded is not None]
        if len(points) < 2:
            return
        height, top = 50.0, self.get_y() + 4
        if top + height + 20 > self.h - 25:
            self.add_page()
            top = self.get_y() + 4
        width = (self.epw - 10) / len(points)
        low = 25
        self.set_font("Helvetica", "", 8)
        for i, point in enumerate(points):
            assert point.result.nik_rounded is not None
            value = float(point.result.nik_rounded)
            bar = height * (value - low) / (100 - low)
            x = self.l_margin + 5 + i * width
            self.set_fill_color(*BAR_COLOURS.get(point.result.mutu or "D", (120, 120, 120)))
            self.rect(x + width * 0.2, top + height - bar, width * 0.6, bar, style="F")
            self.set_xy(x, top + height - bar - 5)
            self.cell(width, 5, number(point.result.nik_rounded), align="C")
            self.set_xy(x, top + height + 1)
            self.cell(width, 5, text(point.period.label), align="C")
        self.set_xy(self.l_margin, top + height + 8)
        self.method_note()

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
            self.grid(("Unsur pelayanan", "NRR", "NIK"), weakest, (100, 30, 30))
            self.para("Tiga unsur dengan nilai tertinggi, yang perlu dipertahankan:")
            self.grid(("Unsur pelayanan", "NRR", "NIK"), strongest, (100, 30, 30))
            self.method_note()
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
            (10, 45, 50, 20, 35),
        )
        self.section("4.3 Tren")
        if len([p for p in data.trend if p.result.n]) > 1:
            trend = [
                (
                    p.period.label,
                    str(p.result.n),
                    number(p.result.nik_rounded),
                    p.result.mutu or "-",
                )
                for p in data.trend
            ]
            self.grid(("Periode", "Responden", "NIK", "Mutu"), trend, (40, 30, 30, 20))
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
                f"1. IKM {data.unit.name} periode {data.period.label} adalah "
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
        if self.get_y() > self.h - 70:
            self.add_page()
        self.set_x(self.w - self.r_margin - 75)
        self.set_font("Helvetica", "", 10.5)
        signature = (
            f"..................., {long_date(data.generated_at)}\nKepala {data.unit.name}"
            "\n\n\n\n(.................................)\nNIP. ............................"
        )
        self.multi_cell(75, 6, text(signature), align="C", new_x="LMARGIN", new_y="NEXT")

    def appendix(self) -> None:
        form = self.data.form
        self.chapter("LAMPIRAN: KUESIONER")
        self.para(text(f"{form.title.id} ({form.regulation.id})"))
        for i, element in enumerate(form.elements, start=1):
            self.set_font("Helvetica", "B", 10)
            self.multi_cell(0, 5.5, text(f"U{i}. {element.name.id}"), new_x="LMARGIN", new_y="NEXT")
            self.para(element.question.id)
            labels = "   ".join(
                f"({value}) {label.id}" for value, label in enumerate(element.answers, start=1)
            )
            self.caption(labels)

"""The report's sentences, section by section, apart from any layout: what the cover, BAB I-V
and the lampiran say about a ``ReportData``. The one home of the report's wording: the PDF
(``pdf``, ``pdf_sheet``) and the DOCX (``docx``) both write these, so they say the same words.
Table headings and rows are in ``tables``; numbers, the method and periods in ``wording`` and
``app.core.periods``.
"""

from app.core import ikm
from app.core.forms import Element as FormElement
from app.core.periods import long_date, period_text
from app.reports.wording import number, table_text
from app.services.report_data import SUGGESTIONS_MAX, GroupIkm, ReportData, UnitSample

TIMES = "\N{MULTIPLICATION SIGN}"  # printed, not the letter x
DOTS = "................................"  # a line to fill in by hand

APPENDIX_FORM = "LAMPIRAN 1: KUESIONER"
APPENDIX_SHEET = "LAMPIRAN 2: PENGOLAHAN DATA"
APPENDIX_PROFILE = "LAMPIRAN 3: PROFIL RESPONDEN"
APPENDIX_SUGGESTIONS = "LAMPIRAN 4: SARAN DAN MASUKAN"

DASAR_HUKUM = (
    "1. Undang-Undang Nomor 25 Tahun 2009 tentang Pelayanan Publik;",
    "2. Peraturan Pemerintah Nomor 96 Tahun 2012 tentang Pelaksanaan Undang-Undang "
    "Nomor 25 Tahun 2009 tentang Pelayanan Publik;",
    "3. Peraturan Menteri Pendayagunaan Aparatur Negara dan Reformasi Birokrasi Nomor 14 "
    "Tahun 2017 tentang Pedoman Penyusunan Survei Kepuasan Masyarakat Unit "
    "Penyelenggara Pelayanan Publik.",
)
MAKSUD_TUJUAN = (
    "Survei ini dimaksudkan untuk mengukur tingkat kepuasan masyarakat sebagai pengguna "
    "layanan, dan bertujuan mengetahui kelemahan dan kekuatan setiap unsur pelayanan "
    "sebagai dasar rencana tindak lanjut perbaikan pelayanan."
)
RTL_INTRO = (
    "Rencana tindak lanjut atas unsur prioritas, diisi dan dibahas dalam forum konsultasi publik:"
)
RTL_RECORDED = "Rencana tindak lanjut atas unsur prioritas, sebagaimana tercatat dalam register:"


def previous_rtl(period_words: str, done: int, total: int) -> str:
    """BAB IV: the sentence before the previous period's actions."""
    return (
        f"Tindak lanjut atas hasil survei {period_words}: {done} dari {total} kegiatan "
        "telah selesai."
    )


WEAKEST_INTRO = "Tiga unsur dengan nilai terendah, yang menjadi prioritas perbaikan:"
STRONGEST_INTRO = "Tiga unsur dengan nilai tertinggi, yang perlu dipertahankan:"
NOTHING_TO_ANALYSE = "Belum ada jawaban untuk dianalisis."
NO_EARLIER_PERIODS = "Belum ada data periode sebelumnya untuk dibandingkan."
NO_SUGGESTIONS = "Tidak ada saran tertulis dari responden pada periode ini."
CLOSING = (
    "Demikian laporan hasil Survei Kepuasan Masyarakat ini disusun sebagai bahan "
    "evaluasi dan perbaikan kualitas pelayanan publik."
)
RANKING_NOTE = (
    "Urutan dari IKM tertinggi. Nilai setiap unit adalah gabungan responden unit itu "
    "beserta unit di bawahnya; sampel dinilai atas jumlah populasi unit-unit itu. Unsur "
    f"terendah: unsur dengan NRR terendah di unit itu (nilai NRR {TIMES} 25)."
)

# The charts: a title above, and the scale in words before the grade legend below.
ELEMENT_CHART = f"Grafik nilai per unsur (NRR {TIMES} 25)"
ELEMENT_SCALE = f"Nilai unsur = NRR {TIMES} 25 (25 sampai 100)"
UNIT_CHART = "Grafik IKM unit (terbaik ke terendah)"
UNIT_SCALE = "IKM unit pelayanan (25 sampai 100)"
TREND_CHART = "Grafik tren IKM"


def bar_legend(scale: str, table: ikm.IntervalTable | None) -> str:
    """The line under a bar chart, before its grade legend."""
    return f"{scale}; warna batang menurut mutu pelayanan ({table_text(table)}):"


def trend_legend(table: ikm.IntervalTable) -> str:
    """The line under the trend chart (after its line's sample), before the band legend."""
    return f"IKM unit pelayanan per periode; latar menurut mutu pelayanan ({table_text(table)}):"


def title(data: ReportData) -> str:
    """The document's title (its metadata)."""
    return f"Laporan Hasil Survei Kepuasan Masyarakat {data.unit.name} {period_text(data.period)}"


def subject(data: ReportData) -> str:
    return f"Indeks Kepuasan Masyarakat {period_text(data.period)}"


def running_footer(data: ReportData) -> str:
    """The text at the foot of every page but the cover, before the page number."""
    return f"Laporan Hasil SKM {data.unit.name}, {period_text(data.period)}"


PAGE, OF = "Halaman", "dari"  # "Halaman 2 dari 30": a DOCX puts page fields between them


def page_of(page: str, pages: str) -> str:
    return f"{PAGE} {page} {OF} {pages}"


def when(data: ReportData) -> str:
    """``pada Semester I Tahun 2026``, ``pada periode 1 Januari 2026 s.d. 15 Februari 2026``."""
    return ("pada periode " if data.period.kind == "range" else "pada ") + period_text(data.period)


def cover_scope(data: ReportData) -> str:
    """The line under the unit's name on the cover, or "" for a unit alone."""
    result, coverage = data.result, data.result.coverage
    if data.mean_of_children:
        return f"rata-rata nilai unit di bawahnya ({result.aggregate.children} unit)"
    if data.include_children and coverage is not None and coverage.units > 1:
        return f"beserta unit di bawahnya ({coverage.units - 1} unit)"
    return ""


def cover_grade(data: ReportData) -> str:
    result = data.result
    return f"Mutu pelayanan {result.mutu} ({result.kinerja})" if result.mutu else "Belum ada data"


def latar_belakang(data: ReportData) -> str:
    return (
        "Pelayanan publik yang baik menjadi hak setiap warga negara. Untuk mengetahui "
        f"tingkat kepuasan masyarakat atas pelayanan di {data.unit.name}, dilaksanakan Survei "
        "Kepuasan Masyarakat (SKM) secara berkala. Hasilnya menjadi bahan evaluasi dan "
        "perbaikan kualitas pelayanan."
    )


def pelaksana(data: ReportData) -> str:
    return f"Survei dilaksanakan oleh {data.unit.name}" + (
        f", {data.unit.address}." if data.unit.address else "."
    )


def metode(data: ReportData) -> tuple[str, str]:
    """BAB II 2.2: how the data were collected, then how they were processed (the method is
    stated here, once, for the whole report)."""
    k = len(data.form.elements)
    return (
        f"Data dikumpulkan dengan kuesioner {k} unsur pelayanan sesuai "
        f"{data.form.regulation.id}, diisi responden melalui kode QR di loket, tablet (kiosk) "
        "atau formulir kertas. Setiap jawaban bernilai 1 (tidak baik) sampai 4 (sangat baik).",
        "Nilai rata-rata (NRR) setiap unsur adalah jumlah nilai unsur itu dibagi jumlah "
        "responden yang menjawabnya. NRR tertimbang adalah NRR dikalikan bobot unsur; "
        "jumlah NRR tertimbang seluruh unsur adalah IKM (1 sampai 4), dan IKM unit pelayanan "
        "adalah IKM dikalikan 25 (25 sampai 100). "
        f"Metode perhitungan: {data.method_text}. Nilai IKM dihitung sebagai "
        f"{data.aggregate_text}. Seluruh tabel dan grafik dalam laporan ini memakai metode "
        "tersebut kecuali bila dicatat lain di bawahnya.",
    )


def lokasi_waktu(data: ReportData) -> str:
    loket = ", ".join(g.name for g in data.counters) or "seluruh loket pelayanan"
    if data.include_children and data.children:
        below = ", ".join(g.name for g in data.children)
        joined = "dirata-ratakan" if data.mean_of_children else "digabungkan"
        loket += f"; beserta unit di bawahnya ({below}), yang hasilnya {joined}"
    words = period_text(data.period)
    waktu = (
        words
        if data.period.kind == "range"
        else f"{words} ({long_date(data.period.start)} s.d. {long_date(data.period.end)})"
    )
    return f"Lokasi: {loket}. Waktu: {waktu}. Cakupan: {data.coverage_text}."


def jumlah_responden(data: ReportData) -> str:
    result, sample = data.result, data.result.sample
    if sample is None:
        return (
            f"Jumlah responden {result.n} orang. Jumlah populasi (pengguna layanan) "
            "periode ini belum dicatat, sehingga kecukupan sampel menurut tabel Krejcie "
            "dan Morgan belum dapat dinilai."
        )
    return (
        f"Populasi (pengguna layanan) periode ini {sample.population} orang"
        + (" (jumlah populasi unit-unit yang digabungkan)" if data.include_children else "")
        + ". Menurut tabel "
        f"Krejcie dan Morgan, sampel minimum {sample.minimum} responden. Jumlah responden "
        f"{sample.n} orang: jumlah sampel {sample.verdict}."
    )


def coverage(data: ReportData) -> str:
    """BAB II 2.4: which units the figures include and how they were combined."""
    result = data.result
    if not data.include_children:
        return f"Laporan ini memuat responden {data.unit.name} sendiri, tanpa unit di bawahnya."
    units = data.unit_samples
    answered = [u for u in units if u.n]
    text = (
        f"Laporan ini mencakup {len(units)} unit: "
        + ", ".join(u.name for u in units)
        + f". Sebanyak {len(answered)} unit memiliki responden sendiri pada periode ini."
    )
    if data.mean_of_children:
        left_out = (result.aggregate.of or 0) - (result.aggregate.children or 0)
        text += (
            f" Nilai IKM laporan adalah rerata unit: rata-rata nilai "
            f"{result.aggregate.children} unit langsung di bawahnya, setiap unit berbobot "
            "sama tanpa memandang jumlah respondennya"
            + (f"; {left_out} unit tanpa responden tidak diikutkan" if left_out else "")
            + ". Nilai setiap unit itu sendiri adalah gabungan respondennya dan unit di "
            "bawahnya."
        )
    elif len(answered) > 1:
        text += (
            " Nilai IKM laporan adalah gabungan seluruh responden unit-unit tersebut "
            "(jumlah nilai dibagi jumlah jawaban), sehingga unit dengan responden lebih "
            "banyak berpengaruh lebih besar; nilai setiap unit ada pada BAB III."
        )
    return text


def unit_samples_intro(data: ReportData) -> str:
    """The sentence opening BAB II's per-unit sample table."""
    judged = [u.sample for u in data.unit_samples if u.sample is not None]
    met = sum(1 for s in judged if s.sufficient)
    return (
        "Kecukupan sampel setiap unit dinilai atas responden dan populasi unit itu "
        f"sendiri: {met} dari {len(judged)} unit yang mencatat populasinya memenuhi "
        "sampel minimum."
    )


def unit_sample_verdict(unit: UnitSample) -> str:
    """A unit's cell in the per-unit sample table's last column."""
    if unit.sample is not None:
        return unit.sample.verdict
    return "tidak ada responden" if not unit.n else "populasi belum dicatat"


def profile_summary(data: ReportData) -> str:
    """BAB III 3.1: the respondents' profile in a sentence per table; the tables are in the
    lampiran."""
    parts = []
    for table in data.profile:
        shown = [row for row in table.rows if row.label != "Tidak diisi" and row.count]
        if not shown:
            continue
        top = max(shown, key=lambda row: row.count)
        parts.append(f"{table.title.lower()} terbanyak {top.label} ({number(top.percent)}%)")
    if not parts or not data.result.n:
        return "Belum ada responden pada periode ini."
    return (
        f"Dari {data.result.n} responden, "
        + "; ".join(parts)
        + ". Jumlah dan persentase responden menurut jenis kelamin, pendidikan, pekerjaan, "
        "usia dan jenis layanan ada pada Lampiran 3 (Profil Responden)."
    )


def sample_words(group: GroupIkm) -> str:
    """A ranked unit's sample verdict, short enough for a table cell."""
    sample = group.result.sample
    if sample is None:
        return "populasi belum dicatat"
    return f"{sample.verdict} (min. {sample.minimum})"


def across_units_intro(data: ReportData) -> str:
    """BAB IV: the sentence opening the elements-across-units table."""
    lines = data.elements_across_units
    of = len(lines[0].units) if lines else 0
    return (
        f"Setiap unsur pada {of} unit di bawahnya yang memiliki responden, diurutkan "
        "dari unsur yang bermutu C atau D di paling banyak unit. Unsur yang lemah di "
        "banyak unit memerlukan langkah bersama yang dikoordinasikan (misalnya standar "
        "pelayanan, sistem pengaduan atau waktu layanan); unsur yang lemah di satu unit "
        "menjadi rencana tindak lanjut unit itu."
    )


def across_units_note(data: ReportData) -> str:
    return (
        f"Nilai: NRR {TIMES} 25 unsur itu pada seluruh cakupan laporan; mutu unsur setiap "
        f"unit menurut NRR {TIMES} 25 unit itu ({table_text(data.method.table)})."
    )


def mean_of_children_note(data: ReportData) -> str:
    return (
        "Catatan: NRR setiap unsur adalah rata-rata NRR "
        f"{data.result.aggregate.children} unit di bawahnya (rerata unit), bukan gabungan "
        "jawaban responden."
    )


def verdict(data: ReportData) -> str:
    """BAB III: the IKM, grade and kinerja in one sentence."""
    result = data.result
    if not result.mutu:
        return "Belum ada jawaban yang cukup untuk menghitung IKM periode ini."
    text = (
        f"Nilai IKM {data.unit.name} {when(data)} adalah "
        f"{number(result.nik_rounded)} dengan mutu pelayanan {result.mutu} dan kinerja unit "
        f"pelayanan {result.kinerja}, dari {result.n} responden."
    )
    if data.mean_of_children:
        text += f" Nilai ini adalah {data.aggregate_text}."
    return text


def kesimpulan(data: ReportData) -> tuple[str, ...]:
    """BAB V 5.1, numbered."""
    result = data.result
    if not result.mutu:
        return ("Belum ada jawaban yang cukup untuk menyimpulkan hasil survei periode ini.",)
    weakest = ", ".join(data.element_name(line.code) for line in data.weakest)
    points = [
        f"1. IKM {data.unit.name} {when(data)} adalah {number(result.nik_rounded)}, mutu "
        f"pelayanan {result.mutu}, kinerja unit pelayanan {result.kinerja}.",
        f"2. Unsur yang perlu diperbaiki lebih dahulu: {weakest}.",
    ]
    if result.sample is not None:
        points.append(
            f"3. Jumlah sampel {result.sample.verdict} ({result.sample.n} dari "
            f"minimum {result.sample.minimum})."
        )
    return tuple(points)


def answer_labels(element: FormElement) -> str:
    """Lampiran 1: an element's answers with their values, on one line."""
    return "   ".join(
        f"({value}) {label.id}" for value, label in enumerate(element.answers, start=1)
    )


def made_on(data: ReportData) -> str:
    return f"Disusun dengan aplikasi SKM pada {long_date(data.generated_at)}."


def suggestions_intro(data: ReportData, quoted: int) -> str:
    """BAB V 5.2: the sentence before the ``quoted`` newest saran."""
    return (
        f"Saran responden ({quoted} dari {len(data.suggestions)} terbaru; "
        "selengkapnya pada Lampiran 4 (Saran dan Masukan)):"
    )


def suggestions_list_intro(data: ReportData) -> str:
    """Lampiran 4: the sentence before the list of saran."""
    more = len(data.suggestions) >= SUGGESTIONS_MAX
    return (
        f"{len(data.suggestions)} saran tertulis responden"
        + (" terbaru" if more else "")
        + ", dari yang terbaru"
        + ("; saran yang lebih lama ada pada data responden (berkas CSV)." if more else ".")
    )


def sheet_capped(printed: int, total: int) -> str:
    """Lampiran 2, when the respondent rows were cut at the cap: where the rest are."""
    return (
        f"Baris {printed + 1} sampai {total} ({total - printed} baris) tidak dicetak "
        f"di sini: lampiran ini memuat {printed} baris pertama. Daftar lengkap ada pada "
        "lembar Pengolahan Data berkas XLSX laporan ini. Baris-baris di bawah dihitung "
        f"dari seluruh {total} baris."
    )


def sheet_notes(data: ReportData) -> tuple[str, str]:
    """Lampiran 2's legend under the footer rows: the terms, then the method."""
    k = len(data.form.elements)
    return (
        f"Keterangan: U1 - U{k}: unsur pelayanan; NRR: nilai rata-rata unsur "
        "(Σ nilai / jumlah jawaban); NRR tertimbang: NRR "
        f"{TIMES} bobot per unsur; (*) Σ NRR tertimbang = IKM; (**) IKM unit pelayanan = "
        f"(*) {TIMES} 25.",
        f"Metode: {data.method_text}.",
    )

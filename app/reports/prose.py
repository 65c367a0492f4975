"""The report's sentences, section by section, apart from any layout: what BAB I-V say about a
``ReportData``. The DOCX renderer writes these; they are the PDF's wording word for word (the
PDF still holds its own copy, to be switched over to this module; see ``docx``'s docstring).
"""

from app.core.periods import long_date, period_text
from app.reports.wording import number
from app.services.report_data import ReportData

TIMES = "\N{MULTIPLICATION SIGN}"  # printed, not the letter x

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


def made_on(data: ReportData) -> str:
    return f"Disusun dengan aplikasi SKM pada {long_date(data.generated_at)}."

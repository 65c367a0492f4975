"""How the reports say things in Bahasa Indonesia: numbers, the method, the aggregation, the
grade bands, a NIP. Pure functions over core values, shared by every renderer (PDF, XLSX).

A period in words is ``app.core.periods.period_text`` (beside ``Period``); a date is
``app.core.periods.long_date``.
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from app.core import ikm

# The regulation each interval table comes from (SKM.md section 3).
TABLE_SOURCES: dict[str, str] = {
    "2017": "PermenPAN-RB 14/2017",
    "2004": "KepmenPAN 25/2004",
}
NIP_GROUPS = (8, 6, 1, 3)  # birth date, appointment month, sex, serial: how a NIP is printed
DASH = "\N{EN DASH}"  # between the ends of a range


def number(value: Fraction | Decimal | float | str | None, decimals: int = 2) -> str:
    """A figure as Indonesian texts print it: decimal comma, half-up rounding, '-' if none."""
    if value is None:
        return "-"
    quantum = Decimal(1).scaleb(-decimals)
    exact = (
        Decimal(value.numerator) / Decimal(value.denominator)
        if isinstance(value, Fraction)
        else Decimal(str(value))
    )
    return f"{exact.quantize(quantum, rounding=ROUND_HALF_UP):.{decimals}f}".replace(".", ",")


def weight_text(method: ikm.Method, k: int) -> str:
    """``bobot 1/9 tanpa pembulatan`` (exact) or ``bobot 0,111`` (a published fixed weight)."""
    if method.weight == "exact":
        return f"bobot 1/{k} tanpa pembulatan"
    return f"bobot {method.weight.replace('.', ',')}"


def table_text(table: ikm.IntervalTable | None) -> str:
    """The grade interval table by its regulation."""
    if table is None:
        return "tabel interval sesuai kuesioner"
    return f"tabel interval {TABLE_SOURCES[table]}"


def method_text(method: ikm.Method, k: int) -> str:
    """The whole method in one line, e.g. ``bobot 1/9 tanpa pembulatan; tabel interval
    PermenPAN-RB 14/2017`` or ``bobot 0,111; NRR dibulatkan 3 desimal; tabel interval
    KepmenPAN 25/2004``. ``k`` is the number of elements (unsur) of the form."""
    parts = [weight_text(method, k)]
    for what, decimals in (
        ("NRR per unsur", method.round_nrr),
        ("NRR tertimbang per unsur", method.round_weighted),
        ("jumlah NRR tertimbang", method.round_total),
    ):
        if decimals is not None:
            parts.append(f"{what} dibulatkan {decimals} desimal")
    parts.append(table_text(method.table))
    return "; ".join(parts)


def aggregate_text(aggregate: ikm.Aggregate) -> str:
    """How a figure over several units was formed, as the report says it."""
    if aggregate.kind == "pooled":
        return (
            "gabungan seluruh responden yang dicakup (jumlah nilai dibagi jumlah jawaban, "
            "bukan rata-rata nilai unit)"
        )
    left_out = (aggregate.of or 0) - (aggregate.children or 0)
    return (
        f"rerata unit: rata-rata nilai {aggregate.children} unit di bawahnya (setiap unit "
        "berbobot sama)"
        + (f"; {left_out} unit tanpa responden tidak diikutkan" if left_out else "")
    )


def differing_methods(
    main: ikm.Method, others: Iterable[tuple[str, ikm.Method]], k: int
) -> str | None:
    """A note for a table whose rows were not all computed as the report's headline figure
    (e.g. an earlier period graded on another table), or None when they all were."""
    differ = [(name, method) for name, method in others if method != main]
    if not differ:
        return None
    listed = "; ".join(f"{name}: {method_text(method, k)}" for name, method in differ)
    return f"Catatan: berbeda dari metode pada BAB II: {listed}."


def grade_bands(table: ikm.IntervalTable) -> tuple[tuple[str, str, str], ...]:
    """The grades of a table, best first: (mutu, NIK range, kinerja), such as
    ``("A", "88,31 – 100,00", "Sangat baik")``."""  # noqa: RUF002 (the en dash printed)
    floors = ikm.GRADE_FLOORS[table]
    top = Decimal("100.00")
    bands = []
    for floor, letter in (*floors, (Decimal(ikm.NIK_FACTOR), "D")):
        bands.append((letter, f"{number(floor)} {DASH} {number(top)}", ikm.KINERJA[letter]))
        top = floor - Decimal("0.01")
    return tuple(bands)


def nip_text(nip: str) -> str:
    """A stored 18-digit NIP as it is printed: ``19800101 200501 1 001``."""
    if len(nip) != sum(NIP_GROUPS) or not nip.isdigit():
        return nip
    parts, start = [], 0
    for size in NIP_GROUPS:
        parts.append(nip[start : start + size])
        start += size
    return " ".join(parts)


def default_foreword(*, unit: str, period: str, regulation: str) -> str:
    """The standard kata pengantar, for a unit that has not written its own; paragraphs are
    separated by blank lines, as in a stored one. ``period`` is in words (``period_text``)."""
    return (
        "Puji syukur kami panjatkan ke hadirat Tuhan Yang Maha Esa, karena atas rahmat-Nya "
        f"Laporan Hasil Survei Kepuasan Masyarakat (SKM) {unit} {period} dapat diselesaikan."
        "\n\n"
        f"Survei ini dilaksanakan berdasarkan {regulation} untuk mengetahui tingkat kepuasan "
        "masyarakat atas pelayanan yang diberikan, serta unsur pelayanan yang masih perlu "
        "diperbaiki. Hasilnya menjadi bahan evaluasi dan dasar rencana tindak lanjut "
        "peningkatan kualitas pelayanan publik."
        "\n\n"
        "Kami menyampaikan terima kasih kepada masyarakat pengguna layanan yang telah bersedia "
        "mengisi kuesioner, serta kepada semua pihak yang telah membantu pelaksanaan survei "
        "ini. Kami menyadari laporan ini masih jauh dari sempurna; saran dan masukan untuk "
        "perbaikan pelayanan kami terima dengan senang hati. Semoga laporan ini bermanfaat."
    )

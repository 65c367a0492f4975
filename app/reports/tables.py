"""The report's tables as text, apart from any layout: the headings, the rows (figures as
``wording.number`` prints them) and the column widths of each table the PDF and the DOCX show,
so both renderers print the same cells from one place. Widths are millimetres on the
portrait page's text width (165 mm); a renderer lays a ``Grid`` out with its own ``grid``.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.followup import STATUS_WORDS
from app.core.periods import long_date, period_text
from app.reports import prose
from app.reports.prose import TIMES
from app.reports.wording import number
from app.services.report_data import ElementLine, GroupIkm, ProfileTable, ReportData


@dataclass(frozen=True)
class Grid:
    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]
    bold_last: int = 0  # rows at the bottom that are its totals
    names: int = 0  # leading columns holding names, left-aligned whatever their width


def unit_samples(data: ReportData) -> Grid:
    """BAB II: each unit's own respondents against its own population and minimum sample,
    indented by depth in the tree."""
    rows = []
    for u in data.unit_samples:
        name = "   " * u.depth + u.name
        verdict = prose.unit_sample_verdict(u)
        if u.sample is None:
            rows.append((name, "-", "-", str(u.n), verdict))
        else:
            s = u.sample
            rows.append((name, str(s.population), str(s.minimum), str(s.n), verdict))
    return Grid(
        ("Unit", "Populasi", "Sampel minimum", "Responden", "Kecukupan sampel"),
        tuple(rows),
        (61, 22, 24, 24, 34),
    )


def elements(data: ReportData) -> Grid:
    """BAB III: each element's NRR, weighted NRR, NRR x 25 and grade, then the sums."""
    result = data.result
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
    return Grid(
        ("No.", "Unsur pelayanan", "NRR", "NRR tertimbang", f"NRR {TIMES} 25", "Mutu"),
        tuple(rows),
        (12, 63, 20, 27, 25, 18),
        bold_last=2,
    )


def groups(found: Sequence[GroupIkm]) -> Grid:
    """BAB III: name, respondents, NIK and grade of each service or counter."""
    rows = tuple(
        (g.name, str(g.result.n), number(g.result.nik_rounded), g.result.mutu or "-") for g in found
    )
    return Grid(("Nama", "Responden", "IKM", "Mutu"), rows, (90, 25, 25, 20))


def ranking(data: ReportData) -> Grid:
    """BAB III: the child units best to worst (``ReportData.ranked``) with n, IKM, grade,
    the sample verdict and each unit's weakest element."""
    rows = []
    for place, g in enumerate(data.ranked, start=1):
        r = g.result
        rated = [e for e in r.elements if e.nrr is not None]
        weakest = min(rated, key=lambda e: (e.nrr or 0, e.code)) if rated else None
        rows.append(
            (
                str(place) if r.nik is not None else "-",
                g.name,
                str(r.n),
                number(r.nik_rounded),
                r.mutu or "-",
                prose.sample_words(g),
                f"{data.element_name(weakest.code)} ({number(weakest.nik_rounded)})"
                if weakest is not None
                else "-",
            )
        )
    return Grid(
        ("No.", "Unit", "Responden", "IKM", "Mutu", "Sampel", "Unsur terendah"),
        tuple(rows),
        (9, 45, 22, 15, 12, 26, 36),
    )


def element_lines(data: ReportData, lines: Sequence[ElementLine]) -> Grid:
    """BAB IV 4.1: the weakest or the strongest elements."""
    rows = tuple(
        (data.element_name(line.code), number(line.result.nrr, 3), number(line.result.nik_rounded))
        for line in lines
    )
    return Grid(("Unsur pelayanan", "NRR", f"NRR {TIMES} 25"), rows, (100, 30, 30))


def across_units(data: ReportData) -> Grid:
    """BAB IV: each element over the child units, most units graded C or D first."""
    rows = []
    for line in data.elements_across_units:
        weak = line.weak
        lowest = line.units[0] if line.units else None
        rows.append(
            (
                line.name,
                number(line.result.nik_rounded),
                f"{len(weak)} dari {len(line.units)}",
                ", ".join(u.name for u in weak) if weak else "-",
                f"{lowest.name} ({number(lowest.result.nik_rounded)})" if lowest else "-",
            )
        )
    return Grid(
        (
            "Unsur pelayanan",
            f"Nilai ({TIMES} 25)",
            "Unit mutu C/D",
            "Unit bermutu C/D",
            "Unit terendah (nilai)",
        ),
        tuple(rows),
        (38, 18, 19, 45, 45),
        names=1,
    )


def rtl(data: ReportData) -> Grid:
    """BAB IV: the follow-up plan: the actions recorded in the register for the period, else
    one row per priority element, left to fill in."""
    if data.followup:
        return Grid(
            ("No.", "Prioritas unsur", "Program/kegiatan", "Waktu", "Penanggung jawab"),
            tuple(
                (str(i), f.elements, f.action, long_date(f.target), f.responsible)
                for i, f in enumerate(data.followup, start=1)
            ),
            (10, 40, 55, 25, 35),
        )
    rows = tuple(
        (str(i), data.element_name(line.code), "", "", "")
        for i, line in enumerate(data.weakest, start=1)
    )
    return Grid(
        ("No.", "Prioritas unsur", "Program/kegiatan", "Waktu", "Penanggung jawab"),
        rows or (("-", "-", "", "", ""),),
        (10, 45, 50, 25, 35),
    )


def previous_rtl(data: ReportData) -> Grid:
    """BAB IV: the previous period's actions and what became of them."""
    return Grid(
        ("No.", "Unsur", "Program/kegiatan", "Target", "Status"),
        tuple(
            (
                str(i),
                f.elements,
                f.action,
                long_date(f.target),
                STATUS_WORDS.get(f.status, f.status),
            )
            for i, f in enumerate(data.previous_followup, start=1)
        ),
        (10, 40, 60, 25, 30),
    )


def trend(data: ReportData) -> Grid:
    """BAB IV: each period's respondents, IKM and grade, oldest first."""
    rows = tuple(
        (period_text(p.period), str(p.result.n), number(p.result.nik_rounded), p.result.mutu or "-")
        for p in data.trend
    )
    return Grid(("Periode", "Responden", "IKM", "Mutu"), rows, (70, 30, 30, 20))


def profile(table: ProfileTable) -> Grid:
    """Lampiran 3: one profile table, count and share of each option."""
    rows = tuple((row.label, str(row.count), f"{number(row.percent)}%") for row in table.rows)
    return Grid((table.title, "Jumlah", "Persentase"), rows, (90, 30, 40))

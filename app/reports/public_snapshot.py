"""A PDF copy of a unit's public results page as it stood on a day, for the Zona Integritas
evidence pack: the address, the moment of the copy, the published figures, the elements and
the follow-up actions, as the page shows them. Rendering only: callers pass the texts."""

import io
from dataclasses import dataclass
from pathlib import Path

FONTS = Path(__file__).parent / "fonts"


@dataclass(frozen=True)
class SnapshotPage:
    url: str
    taken: str  # e.g. "3 Desember 2026 pukul 14.05 WITA"
    unit_name: str
    period_words: str
    published_on: str
    headline: str  # e.g. "IKM 82,35 - mutu B (Baik) - 410 responden"
    elements: tuple[tuple[str, str, str], ...]  # name, NRR x 25, mutu
    actions: tuple[tuple[str, str, str, str], ...]  # elements, action, target, status
    history: tuple[str, ...]  # "Triwulan II Tahun 2026: IKM 80,10 (B)"


def snapshot_pdf(page: SnapshotPage) -> bytes:
    """One or more A4 pages, in the order the web page reads."""
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Salinan halaman hasil SKM {page.unit_name}")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float = 10, style: str = "", height: float = 5.5) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(width, height, text, new_x="LMARGIN", new_y="NEXT")

    line("Salinan halaman publik hasil Survei Kepuasan Masyarakat", 9)
    line(f"Alamat: {page.url}", 9)
    line(f"Disalin: {page.taken}", 9)
    pdf.ln(3)
    line(page.unit_name, 16, "B", 8)
    line(page.period_words, 12, "B", 7)
    line(f"Dipublikasikan {page.published_on}", 9)
    pdf.ln(2)
    line(page.headline, 12, "B", 7)
    pdf.ln(3)
    line("Nilai per unsur pelayanan", 11, "B", 7)
    with pdf.table(col_widths=(110, 40, 20), text_align=("LEFT", "RIGHT", "CENTER")) as table:
        pdf.set_font("DejaVu", "", 9)
        table.row(("Unsur", "Nilai (NRR \u00d7 25)", "Mutu"))
        for row in page.elements:
            table.row(row)
    pdf.ln(3)
    line("Tindak lanjut perbaikan", 11, "B", 7)
    if page.actions:
        with pdf.table(col_widths=(40, 80, 30, 25)) as table:
            pdf.set_font("DejaVu", "", 9)
            table.row(("Unsur", "Kegiatan", "Target", "Status"))
            for action in page.actions:
                table.row(action)
    else:
        line("Rencana tindak lanjut untuk periode ini sedang disusun.", 9)
    if page.history:
        pdf.ln(3)
        line("Periode yang dipublikasikan", 11, "B", 7)
        for entry in page.history:
            line(f"• {entry}", 9)
    pdf.ln(3)
    line("Saran masyarakat tidak dipublikasikan karena dapat memuat nama orang.", 8, "", 4.5)
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()

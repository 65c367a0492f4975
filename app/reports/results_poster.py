"""The results poster (poster hasil SKM) for a notice board, one A4 or A3 portrait page: the
unit and the period, the NIK, grade and kinerja in large type, the elements as bars on the
0-100 scale coloured by grade, the first follow-up actions, and a QR code to the unit's public
results page. Rendering only: callers pass the texts, nothing here touches the database.

The page is laid out once in A4 millimetres and every measure, font size included, is
multiplied by the width ratio, so an A3 print is the A4 one enlarged. A text that would not
fit is wrapped to a few lines and then cut with an ellipsis: the poster never runs onto a
second page.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from app.core import ikm
from app.reports.qr import qr_png
from app.reports.wording import number

# fpdf and the report renderer (for its fonts and grade colours) are imported where a poster is
# drawn: the publication service imports this module in every server worker, and fpdf alone
# took a fifth of a worker's start-up.
if TYPE_CHECKING:
    from fpdf import FPDF

PAPER_SIZES = {"a4": (210, 297), "a3": (297, 420)}
A4_WIDTH = 210
TITLE = "HASIL SURVEI KEPUASAN MASYARAKAT"
SCAN = "Pindai untuk melihat hasil lengkap"
NO_ACTIONS = "Rencana tindak lanjut sedang disusun."
MAX_ACTIONS = 3
ELLIPSIS = "…"
Colour = tuple[int, int, int]
INK = (33, 33, 33)
WHITE = (255, 255, 255)
MUTED = (97, 97, 97)
BAND = (13, 71, 161)  # the heading band: a sober government blue, apart from the grade colours
TRACK = (236, 239, 241)  # the empty part of a bar
RULE = (207, 216, 220)

# The A4 grid, in mm: the margins, the fixed blocks and the strip at the foot.
MARGIN = 15.0
INNER = A4_WIDTH - 2 * MARGIN
BAND_HEIGHT = 20.0
BOX_HEIGHT = 54.0
FOOT = 281.0  # the rule above "Dipublikasikan ..."
BOTTOM_TOP = 220.0  # where the follow-up actions and the QR panel start
PANEL_WIDTH = 68.0
QR_SIZE = 44.0  # 4.4 cm: a phone reads it from an arm's length off a notice board
ROW_MAX = 9.8  # the height of an element's row when there is room
UNIT_LINES = 3
TICKS = (0, 25, 50, 75, 100)  # the scale under the bars
ACTION_LINES = 3


@dataclass(frozen=True)
class PosterElement:
    name: str  # e.g. "Waktu penyelesaian"
    nik: Decimal | None  # NRR x 25, two decimals (0-100 scale)
    mutu: str | None  # "A".."D"


@dataclass(frozen=True)
class ResultsPoster:
    unit_name: str
    parent_name: str | None  # the OPD or pemda above, printed small above the unit name
    period_words: str  # e.g. "Triwulan III Tahun 2026" (already written out)
    nik: Decimal  # e.g. Decimal("82.35")
    mutu: str  # "A".."D"
    kinerja: str  # e.g. "Baik"
    n: int  # respondents
    elements: tuple[PosterElement, ...]  # nine usually, in form order
    actions: tuple[str, ...]  # top follow-up actions (up to 3 printed), may be empty
    url: str  # the public results page; printed under the QR and encoded in it
    published_on: str  # e.g. "2 Desember 2026"


def results_poster_pdf(poster: ResultsPoster, size: str = "a4") -> bytes:
    """The poster as a one-page PDF; ``size`` is a key of ``PAPER_SIZES`` (``a4``, ``a3``)."""
    if size not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {size!r}: a4 or a3")
    from fpdf import FPDF

    from app.reports.pdf import FONT, FONTS

    width, height = PAPER_SIZES[size]
    pdf = FPDF(orientation="portrait", unit="mm", format=(width, height))
    for style, name in (("", "DejaVuSans"), ("B", "DejaVuSans-Bold")):
        pdf.add_font(FONT, style, FONTS / f"{name}.ttf")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(0, 0, 0)  # every position below is absolute
    pdf.set_title(f"Hasil SKM {poster.unit_name} {poster.period_words}")
    pdf.set_lang("id")
    pdf.add_page()
    page = _Page(pdf, width / A4_WIDTH, FONT)
    y = _heading(page, poster)
    y = _headline(page, poster, y + 4)
    _elements(page, poster.elements, y + 7, BOTTOM_TOP - 7)
    _actions(page, poster.actions[:MAX_ACTIONS], BOTTOM_TOP)
    _qr_panel(page, poster.url, BOTTOM_TOP)
    page.line(MARGIN, FOOT, MARGIN + INNER, FOOT, RULE, 0.3)
    page.text(
        MARGIN, FOOT + 2, INNER, 6, f"Dipublikasikan {poster.published_on}", 9, "", MUTED, "C"
    )
    return bytes(pdf.output())


@dataclass(frozen=True)
class _Page:
    """The PDF with the A4 grid: positions and sizes in A4 millimetres and points, scaled."""

    pdf: "FPDF"
    k: float  # paper width / A4 width
    font: str

    def use(self, size: float, style: str = "", colour: Colour = INK) -> None:
        self.pdf.set_font(self.font, style, size * self.k)
        self.pdf.set_text_color(*colour)

    def width_of(self, text: str) -> float:
        """The text's width in A4 mm, in the current font."""
        return self.pdf.get_string_width(text) / self.k

    def text(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        text: str,
        size: float,
        style: str = "",
        colour: Colour = INK,
        align: str = "L",
    ) -> None:
        """One line in a box, cut with an ellipsis if it is wider than the box."""
        self.use(size, style, colour)
        self.pdf.set_xy(x * self.k, y * self.k)
        self.pdf.cell(w * self.k, h * self.k, self.fit(text, w), align=align)

    def fit(self, text: str, width: float) -> str:
        """``text`` on one line of ``width`` (A4 mm) in the current font, cut after a whole
        word where it can be, with an ellipsis."""
        if self.width_of(text) <= width:
            return text
        low, high = 0, len(text)  # the longest prefix that fits with the ellipsis
        while low < high:
            middle = (low + high + 1) // 2
            if self.width_of(text[:middle].rstrip() + ELLIPSIS) <= width:
                low = middle
            else:
                high = middle - 1
        cut = text[:low]
        if " " in cut.strip() and not text[low].isspace():
            cut = cut[: cut.rstrip().rfind(" ")]
        return cut.rstrip() + ELLIPSIS

    def lines(self, text: str, width: float, most: int) -> list[str]:
        """``text`` wrapped to ``width`` (A4 mm) in the current font, at most ``most`` lines,
        the last cut with an ellipsis if the text goes on."""
        from fpdf.enums import MethodReturnValue

        # With output=LINES alone, multi_cell returns just the lines; its annotation is the union.
        wrapped = cast(
            list[str],
            self.pdf.multi_cell(
                width * self.k, 1, text, dry_run=True, output=MethodReturnValue.LINES
            ),
        )
        if len(wrapped) <= most:
            return wrapped
        return [*wrapped[: most - 1], self.fit(" ".join(wrapped[most - 1 :]), width)]

    def rect(self, x: float, y: float, w: float, h: float, fill: Colour, radius: float = 0) -> None:
        self.pdf.set_fill_color(*fill)
        k = self.k
        self.pdf.rect(
            x * k, y * k, w * k, h * k, "F", round_corners=radius > 0, corner_radius=radius * k
        )

    def line(
        self, x1: float, y1: float, x2: float, y2: float, colour: Colour, width: float
    ) -> None:
        self.pdf.set_draw_color(*colour)
        self.pdf.set_line_width(width * self.k)
        k = self.k
        self.pdf.line(x1 * k, y1 * k, x2 * k, y2 * k)


def _grade_colour(mutu: str | None) -> Colour:
    from app.reports.pdf import BAR_COLOURS, NO_GRADE

    return BAR_COLOURS.get(mutu or "", NO_GRADE)


def _heading(page: _Page, poster: ResultsPoster) -> float:
    """The band, the parent, the unit (wrapped) and the period; returns the y below them."""
    page.rect(0, 0, A4_WIDTH, BAND_HEIGHT, BAND)
    page.text(0, 0, A4_WIDTH, BAND_HEIGHT, TITLE, 19, "B", WHITE, "C")
    y = BAND_HEIGHT + 5
    if poster.parent_name:
        page.text(MARGIN, y, INNER, 6, poster.parent_name, 12, "", MUTED, "C")
        y += 6.5
    page.use(22, "B")
    for line in page.lines(poster.unit_name, INNER, UNIT_LINES):
        page.text(MARGIN, y, INNER, 9.5, line, 22, "B", INK, "C")
        y += 9.5
    page.text(MARGIN, y + 0.5, INNER, 7, poster.period_words, 14, "", INK, "C")
    return y + 7.5


def _headline(page: _Page, poster: ResultsPoster, top: float) -> float:
    """The box with the NIK, the respondents, the grade and kinerja; returns the y below."""
    from app.reports.pdf import tint

    colour = _grade_colour(poster.mutu)
    page.rect(MARGIN, top, INNER, BOX_HEIGHT, tint(colour, 0.12), radius=3)
    # The figure on the left, the grade on a block of its colour on the right.
    left_width = INNER - 72
    page.text(MARGIN, top + 5, left_width, 7, "Indeks Kepuasan Masyarakat", 14, "B", INK, "C")
    page.text(MARGIN, top + 13, left_width, 26, number(poster.nik), 72, "B", colour, "C")
    count = f"{poster.n:,}".replace(",", ".")
    page.text(MARGIN, top + 41, left_width, 7, f"dari {count} responden", 13, "", MUTED, "C")
    block_x, block_w = MARGIN + left_width, 66.0
    page.rect(block_x, top + 6, block_w, BOX_HEIGHT - 12, colour, radius=2.5)
    # One run, so that a reader of the text (or a screen reader) meets "Mutu B" in that order.
    page.text(block_x + 2, top + 12, block_w - 4, 18, f"Mutu {poster.mutu}", 40, "B", WHITE, "C")
    page.text(
        block_x + 2, top + 35, block_w - 4, 8, f"Kinerja: {poster.kinerja}", 14, "B", WHITE, "C"
    )
    return top + BOX_HEIGHT


def _elements(page: _Page, elements: Sequence[PosterElement], top: float, bottom: float) -> None:
    """The heading with the grade legend, a row per element and the scale below the bars."""
    page.text(MARGIN, top, 80, 7, "Nilai per unsur pelayanan", 13, "B")
    # The legend: which colour is which grade, right-aligned on the heading's line.
    legend = [(letter, f"{letter} {ikm.KINERJA[letter]}") for letter in "ABCD"]
    page.use(8)
    gap, swatch = 3.0, 3.0
    x = MARGIN + INNER - sum(swatch + 1 + page.width_of(text) + gap for _, text in legend) + gap
    for letter, text in legend:
        page.rect(x, top + 2, swatch, swatch, _grade_colour(letter), radius=0.6)
        width = page.width_of(text)
        page.text(x + swatch + 1, top + 0.5, width + 0.5, 6, text, 8, "", MUTED)
        x += swatch + 1 + width + gap
    if not elements:
        return
    label_w, value_w, badge = 78.0, 18.0, 6.0
    bar_x = MARGIN + label_w + 2
    bar_w = INNER - label_w - 2 - 3 - value_w - 2 - badge
    first = top + 9
    row = min(ROW_MAX, (bottom - 6 - first) / len(elements))
    size = min(10.5, row * 1.1)
    bar_h = row * 0.52
    for index, element in enumerate(elements):
        y = first + index * row
        colour = _grade_colour(element.mutu)
        page.rect(bar_x, y + (row - bar_h) / 2, bar_w, bar_h, TRACK)
        for tick in TICKS:  # over the track and under the bar: a bar's end reads off the scale
            tick_x = bar_x + bar_w * tick / 100
            page.line(tick_x, y, tick_x, y + row, RULE, 0.2)
        if element.nik is not None:
            share = min(max(float(element.nik), 0.0), 100.0) / 100
            page.rect(bar_x, y + (row - bar_h) / 2, bar_w * share, bar_h, colour)
        page.use(size)
        names = page.lines(element.name, label_w, 2 if row >= 7 else 1)
        line_h = row / 2.4 if len(names) == 2 else row
        name_size = size * 0.9 if len(names) == 2 else size
        name_top = y + (row - line_h * len(names)) / 2
        for place, name in enumerate(names):
            page.text(MARGIN, name_top + place * line_h, label_w, line_h, name, name_size)
        value_x = bar_x + bar_w + 3
        page.text(value_x, y, value_w, row, number(element.nik), size, "B", INK, "R")
        badge_x, badge_y = value_x + value_w + 2, y + (row - badge) / 2
        page.rect(badge_x, badge_y, badge, badge, colour, radius=1)
        page.text(badge_x, badge_y, badge, badge, element.mutu or "-", size * 0.9, "B", WHITE, "C")
    scale_y = first + row * len(elements) + 0.5
    for tick in TICKS:
        page.text(bar_x + bar_w * tick / 100 - 5, scale_y, 10, 4, str(tick), 7, "", MUTED, "C")


def _actions(page: _Page, actions: Sequence[str], top: float) -> None:
    """The follow-up actions as a numbered list, left of the QR panel."""
    width = INNER - PANEL_WIDTH - 6
    page.text(MARGIN, top, width, 7, "Tindak lanjut perbaikan", 13, "B")
    y = top + 9
    if not actions:
        page.text(MARGIN, y, width, 5, NO_ACTIONS, 10.5, "", MUTED)
        return
    number_w, line_h = 7.0, 4.7
    for index, action in enumerate(actions, 1):
        page.text(MARGIN, y, number_w, line_h, f"{index}.", 10.5, "B")
        page.use(10.5)
        for line in page.lines(action, width - number_w, ACTION_LINES):
            page.text(MARGIN + number_w, y, width - number_w, line_h, line, 10.5)
            y += line_h
        y += 2.0


def _qr_panel(page: _Page, url: str, top: float) -> None:
    """The QR code to the public page, the call to scan and the address under it."""
    x = MARGIN + INNER - PANEL_WIDTH
    height = FOOT - 3 - top
    page.rect(x, top, PANEL_WIDTH, height, (232, 240, 254), radius=2.5)
    # qr_png brings its own white quiet zone, which reads as a card on the panel.
    k = page.k
    qr_x = x + (PANEL_WIDTH - QR_SIZE) / 2
    page.pdf.image(io.BytesIO(qr_png(url)), x=qr_x * k, y=(top + 2) * k, w=QR_SIZE * k)
    page.text(x, top + QR_SIZE + 3, PANEL_WIDTH, 5, SCAN, 8.5, "B", INK, "C")
    # The address on one line, in a smaller type if it must, two lines if even that is too wide.
    inner = PANEL_WIDTH - 4
    for size in (8.5, 8.0, 7.5, 7.0, 6.5):
        page.use(size)
        if page.width_of(url) <= inner:
            page.text(x + 2, top + QR_SIZE + 8.5, inner, 4, url, size, "", MUTED, "C")
            return
    for place, line in enumerate(page.lines(url, inner, 2)):
        page.text(x + 2, top + QR_SIZE + 8.5 + place * 3.2, inner, 3.2, line, 6.5, "", MUTED, "C")

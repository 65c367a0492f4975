"""The report's charts as PNG pictures, for a document that embeds images rather than drawing
(the DOCX): the same figures, scales and grade colours as the charts the PDF draws itself.

Drawn with Pillow in DejaVu Sans (the fonts shipped in ``fonts/``), at ``PX_PER_MM`` pixels a
millimetre (about 200 dpi, sharp when printed), sized in millimetres like the PDF's charts so a
renderer can place them at their natural width. Pure functions of ``ReportData``: the same data
gives the same bytes.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from app.core import ikm
from app.core.periods import period_text
from app.reports import prose
from app.reports.pdf import BAR_COLOURS, FONTS, LINE_COLOUR, NO_GRADE, tint, trend_floor
from app.reports.wording import number
from app.services.report_data import ReportData

PX_PER_MM = 8
PT_MM = 25.4 / 72  # a typographic point in millimetres
GRID = (215, 215, 215)
SCALE = (190, 190, 190)  # the trend chart's lines across, over the bands
INK = (0, 0, 0)
WHITE = (255, 255, 255)

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Chart:
    """A picture and the width it is meant to be printed at."""

    png: bytes
    width_mm: float
    description: str  # alternative text: what the chart shows, in words


@cache
def _font(size_pt: float, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS / name), round(size_pt * PT_MM * PX_PER_MM))


def _px(mm: float) -> int:
    return round(mm * PX_PER_MM)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width_px: int) -> list[str]:
    """Greedy word wrap to ``width_px``; a word longer than the width stands on its own line."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width_px:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True, dpi=(PX_PER_MM * 25.4, PX_PER_MM * 25.4))
    return out.getvalue()


def _colour(mutu: str | None) -> Colour:
    return BAR_COLOURS.get(mutu or "", NO_GRADE)


def bars(
    items: Sequence[tuple[str, Decimal | None, str | None]], width_mm: float, description: str
) -> Chart:
    """Horizontal bars of (label, value on 0-100, grade) on a 0-100 scale, coloured by grade,
    with the labels at the left and a tick every 10 points (labelled every 20): the PDF's
    ``bar_chart`` as a picture."""
    label_w, value_w, line_mm = 62.0, 14.0, 3.6
    label_font, value_font, tick_font = _font(8), _font(7.5), _font(7)
    labels = [_wrap(label, label_font, _px(label_w - 2)) for label, *_ in items]
    heights = [max(6.0, line_mm * len(lines) + 1.5) for lines in labels]
    top, axis_mm = 1.0, 6.0
    bottom = top + sum(heights)
    image = Image.new("RGB", (_px(width_mm), _px(bottom + axis_mm)), WHITE)
    draw = ImageDraw.Draw(image)
    left = label_w
    span = width_mm - label_w - value_w
    scale = span / 100
    for tick in range(0, 101, 10):
        x = _px(left + tick * scale)
        draw.line([(x, _px(top)), (x, _px(bottom))], fill=GRID, width=2)
    draw.line([(_px(left), _px(bottom)), (_px(left + span), _px(bottom))], fill=INK, width=2)
    for tick in range(0, 101, 20):
        draw.text(
            (_px(left + tick * scale), _px(bottom + 0.8)),
            str(tick),
            font=tick_font,
            fill=INK,
            anchor="mt",
        )
    y = top
    for lines, height, (_, value, grade) in zip(labels, heights, items, strict=True):
        text_top = y + (height - line_mm * len(lines)) / 2
        for j, text in enumerate(lines):
            draw.text((0, _px(text_top + j * line_mm)), text, font=label_font, fill=INK)
        if value is not None:
            middle = y + height / 2
            draw.rectangle(
                [(_px(left), _px(middle - 2)), (_px(left + float(value) * scale), _px(middle + 2))],
                fill=_colour(grade),
            )
            draw.text(
                (_px(left + float(value) * scale + 1), _px(middle)),
                number(value),
                font=value_font,
                fill=INK,
                anchor="lm",
            )
        y += height
    return Chart(_png(image), width_mm, description)


def _described(title: str, items: Sequence[tuple[str, Decimal | None, str | None]]) -> str:
    return f"{title}: " + "; ".join(f"{label} {number(value)}" for label, value, _ in items)


def element_bars(data: ReportData, width_mm: float) -> Chart:
    """Each element's NRR x 25, coloured by its grade (BAB III)."""
    items = [
        (f"U{i} {data.element_name(e.code)}", e.nik_rounded, e.mutu)
        for i, e in enumerate(data.result.elements, start=1)
    ]
    return bars(items, width_mm, _described(prose.ELEMENT_CHART, items))


def unit_bars(data: ReportData, width_mm: float) -> Chart:
    """Each child unit's IKM, best to worst (``ReportData.ranked``), coloured by its grade."""
    items = [(g.name, g.result.nik_rounded, g.result.mutu) for g in data.ranked]
    return bars(items, width_mm, _described(prose.UNIT_CHART, items))


def trend_line(data: ReportData, width_mm: float) -> Chart | None:
    """The NIK of each period with responses, oldest first, as a line over the grade bands of
    the report's interval table, each point labelled with its value and grade, the periods
    below, a scale every 10 points at the left; None under two periods. The PDF's
    ``trend_chart`` as a picture, on the same scale (``pdf.trend_floor``)."""
    points = [p for p in data.trend if p.result.nik_rounded is not None]
    if len(points) < 2:
        return None
    table = data.method.table or "2017"
    values = [float(p.result.nik_rounded or 0) for p in points]
    low = trend_floor(values, table)
    height, axis, top = 60.0, 12.0, 6.0
    left, width = axis, width_mm - axis - 2
    step = width / len(points)
    value_font, period_font, tick_font, band_font = (
        _font(8, bold=True),
        _font(7),
        _font(7),
        _font(7, bold=True),
    )
    captions = [_wrap(period_text(p.period), period_font, _px(step - 1)) for p in points]
    below = 1 + 3.5 * max(len(lines) for lines in captions) + 1
    image = Image.new("RGB", (_px(width_mm), _px(top + height + below)), WHITE)
    draw = ImageDraw.Draw(image)

    def y_of(value: float) -> float:
        return top + height * (100 - value) / (100 - low)

    # The grade bands behind everything, in light tints of the bar colours.
    ceiling = 100.0
    for floor, letter in (*ikm.GRADE_FLOORS[table], (Decimal(25), "D")):
        bottom_value = max(float(floor), low)
        if ceiling > low:
            band_top, band_bottom = y_of(ceiling), y_of(bottom_value)
            draw.rectangle(
                [(_px(left), _px(band_top)), (_px(left + width), _px(band_bottom))],
                fill=tint(BAR_COLOURS[letter]),
            )
            if band_bottom - band_top >= 4:
                draw.text(
                    (_px(left + width - 1), _px(band_top + 0.5)),
                    letter,
                    font=band_font,
                    fill=BAR_COLOURS[letter],
                    anchor="ra",
                )
        ceiling = float(floor) - 0.01
    # The scale at the left: every 10 points, a light line across.
    tick = 10 * int(-(-low // 10))
    while tick <= 100:
        y = _px(y_of(tick))
        draw.line([(_px(left), y), (_px(left + width), y)], fill=SCALE, width=2)
        draw.text((_px(axis - 1.5), y), str(tick), font=tick_font, fill=INK, anchor="rm")
        tick += 10
    draw.line([(_px(left), _px(top)), (_px(left), _px(top + height))], fill=INK, width=2)
    draw.line(
        [(_px(left), _px(top + height)), (_px(left + width), _px(top + height))], fill=INK, width=2
    )
    # The line and its points, each labelled with its value; the periods below.
    xy = [(_px(left + step * (i + 0.5)), _px(y_of(value))) for i, value in enumerate(values)]
    draw.line(xy, fill=LINE_COLOUR, width=_px(0.7), joint="curve")
    radius = _px(1.3)
    for (x, y), point, lines in zip(xy, points, captions, strict=True):
        draw.ellipse([(x - radius, y - radius), (x + radius, y + radius)], fill=LINE_COLOUR)
        draw.text(
            (x, y - _px(2.2)),
            f"{number(point.result.nik_rounded)} ({point.result.mutu})",
            font=value_font,
            fill=INK,
            anchor="md",
        )
        for j, text in enumerate(lines):
            draw.text(
                (x, _px(top + height + 1 + 3.5 * j)), text, font=period_font, fill=INK, anchor="mt"
            )
    described = "; ".join(
        f"{period_text(p.period)} {number(p.result.nik_rounded)} ({p.result.mutu})" for p in points
    )
    return Chart(_png(image), width_mm, f"{prose.TREND_CHART}: {described}")

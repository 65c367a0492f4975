"""The report's charts as PNG pictures, for a document that embeds images rather than drawing
(the DOCX): the same figures, scales and grade colours as the charts the PDF draws itself.

Drawn with Pillow in DejaVu Sans (the fonts shipped in ``fonts/``), at ``PX_PER_MM`` pixels a
millimetre (about 200 dpi, sharp when printed), sized in millimetres like the PDF's charts so a
renderer can place them at their natural width. Pure functions of ``ReportData``: the same data
gives the same bytes.
"""

import io
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from app.core.periods import period_text
from app.reports.pdf import BAR_COLOURS, FONTS, NO_GRADE
from app.reports.prose import TIMES
from app.reports.wording import number
from app.services.report_data import ReportData

PX_PER_MM = 8
PT_MM = 25.4 / 72  # a typographic point in millimetres
GRID = (215, 215, 215)
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
def _font(size_pt: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), round(size_pt * PT_MM * PX_PER_MM))


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


def element_bars(data: ReportData, width_mm: float) -> Chart:
    """Horizontal bars of each element's NRR x 25 on a 0-100 scale, coloured by grade, with the
    element labels at the left and a tick every 10 points (labelled every 20): the PDF's
    ``bar_chart`` as a picture."""
    elements = data.result.elements
    label_w, value_w, line_mm = 62.0, 14.0, 3.6
    label_font, value_font, tick_font = _font(8), _font(7.5), _font(7)
    labels = [
        _wrap(f"U{i} {data.element_name(e.code)}", label_font, _px(label_w - 2))
        for i, e in enumerate(elements, start=1)
    ]
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
    for lines, height, element in zip(labels, heights, elements, strict=True):
        text_top = y + (height - line_mm * len(lines)) / 2
        for j, text in enumerate(lines):
            draw.text((0, _px(text_top + j * line_mm)), text, font=label_font, fill=INK)
        if element.nik_rounded is not None:
            value = float(element.nik_rounded)
            middle = y + height / 2
            draw.rectangle(
                [(_px(left), _px(middle - 2)), (_px(left + value * scale), _px(middle + 2))],
                fill=_colour(element.mutu),
            )
            draw.text(
                (_px(left + value * scale + 1), _px(middle)),
                number(element.nik_rounded),
                font=value_font,
                fill=INK,
                anchor="lm",
            )
        y += height
    described = "; ".join(
        f"U{i} {data.element_name(e.code)} {number(e.nik_rounded)}"
        for i, e in enumerate(elements, start=1)
    )
    return Chart(_png(image), width_mm, f"Grafik nilai per unsur (NRR {TIMES} 25): {described}")


def trend_bars(data: ReportData, width_mm: float) -> Chart | None:
    """The IKM of each period with responses, oldest first, as bars on a 25-100 scale coloured
    by grade, each labelled with its value and its period in words; None under two periods.
    The PDF's ``trend_chart`` as a picture."""
    points = [p for p in data.trend if p.result.nik_rounded is not None]
    if len(points) < 2:
        return None
    height, top, low = 50.0, 4.0, 25
    left = 8.0
    column = (width_mm - 10) / len(points)
    value_font, period_font, tick_font = _font(8), _font(7), _font(7)
    captions = [_wrap(period_text(p.period), period_font, _px(column - 1)) for p in points]
    below = 1 + 3.5 * max(len(lines) for lines in captions) + 1
    image = Image.new("RGB", (_px(width_mm), _px(top + height + below)), WHITE)
    draw = ImageDraw.Draw(image)

    def y_of(value: float) -> float:
        return top + height - height * (value - low) / (100 - low)

    for tick in (25, 50, 75, 100):
        y = _px(y_of(tick))
        draw.line([(_px(left), y), (_px(left + column * len(points)), y)], fill=GRID, width=2)
        draw.text((_px(left - 1), y), str(tick), font=tick_font, fill=INK, anchor="rm")
    for i, (point, lines) in enumerate(zip(points, captions, strict=True)):
        assert point.result.nik_rounded is not None  # filtered above
        value = float(point.result.nik_rounded)
        x = left + i * column
        draw.rectangle(
            [(_px(x + column * 0.2), _px(y_of(value))), (_px(x + column * 0.8), _px(y_of(low)))],
            fill=_colour(point.result.mutu),
        )
        draw.text(
            (_px(x + column / 2), _px(y_of(value) - 0.8)),
            number(point.result.nik_rounded),
            font=value_font,
            fill=INK,
            anchor="md",
        )
        for j, text in enumerate(lines):
            draw.text(
                (_px(x + column / 2), _px(top + height + 1 + 3.5 * j)),
                text,
                font=period_font,
                fill=INK,
                anchor="mt",
            )
    described = "; ".join(f"{period_text(p.period)} {number(p.result.nik_rounded)}" for p in points)
    return Chart(_png(image), width_mm, f"Grafik tren IKM: {described}")

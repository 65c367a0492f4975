"""Charts drawn on the server as SVG, for the console and the public results pages, with the
report's grade colours and scales: the elements as bars, the trend over the grade bands, and
responses per day (the heat map of units by element is a table whose cells take the grade
colours from the stylesheet). Each chart has a title and a description for screen readers;
every page that shows one also shows its figures in a table."""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from markupsafe import Markup, escape

from app.core import ikm
from app.core.periods import Period
from app.reports.pdf import BAR_COLOURS, NO_GRADE, tint
from app.reports.wording import number

INK = "#1a1a1a"
GRID = "#d0d7de"
Bar = tuple[str, Decimal | None, str | None]  # label, NIK-scale value, grade


def colour(grade: str | None, share: float | None = None) -> str:
    rgb = BAR_COLOURS.get(grade or "", NO_GRADE)
    if share is not None:
        rgb = tint(rgb, share)
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _svg(width: int, height: int, title: str, desc: str, body: str) -> Markup:
    # Every text in ``body`` was escaped where it was put in; numbers are formatted here.
    return Markup(  # noqa: S704 (assembled from escaped parts)
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{body}</svg>"
    )


def _described(points: Sequence[Bar]) -> str:
    """A chart's figures in words, for screen readers: ``Persyaratan: 93,95 (A); ...``."""
    return "; ".join(f"{label}: {number(value)} ({grade or '-'})" for label, value, grade in points)


def element_bars(bars: Sequence[Bar], title: str) -> Markup:
    """Horizontal bars on the NIK scale (0-100), one per element, coloured by grade: drawn
    twice, labels beside the bars for a wide screen and above them for a phone, where the wide
    drawing would shrink its text out of reading; the stylesheet shows one of the two."""
    return Markup(  # noqa: S704 (two charts assembled from escaped parts)
        f'<div class="chart-wide">{_bars_beside(bars, title)}</div>'
        f'<div class="chart-narrow">{_bars_above(bars, title)}</div>'
    )


def _bars_above(bars: Sequence[Bar], title: str) -> Markup:
    """The phone drawing: each element's name on a line of its own, its bar below."""
    width, bar_w, row = 340, 250, 38
    parts = []
    for i, (label, value, grade) in enumerate(bars):
        y = i * row
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="13" fill="{INK}">'
            f"{escape(_short(label, 44))}</text>"
            f'<rect x="0" y="{y + 18}" width="{bar_w}" height="14" fill="{GRID}" opacity="0.4"/>'
        )
        if value is not None:
            w = float(value) / 100 * bar_w
            parts.append(
                f'<rect x="0" y="{y + 18}" width="{w:.1f}" height="14" fill="{colour(grade)}"/>'
                f'<text x="{bar_w + 6}" y="{y + 30}" font-size="13" fill="{INK}">'
                f"{number(value)} ({escape(grade or '-')})</text>"
            )
    desc = _described(bars)
    return _svg(width, row * len(bars) + 4, title, desc, "".join(parts))


def _bars_beside(bars: Sequence[Bar], title: str) -> Markup:
    """The wide drawing: names right-aligned beside the bars, a scale below."""
    label_w, bar_w, row = 250, 300, 26
    height = row * len(bars) + 24
    parts = []
    for i, (label, value, grade) in enumerate(bars):
        y = i * row + 4
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{escape(_short(label, 32))}</text>'
        )
        if value is not None:
            w = float(value) / 100 * bar_w
            parts.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="16" '
                f'fill="{colour(grade)}"/>'
                f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="12" fill="{INK}">'
                f"{number(value)} ({escape(grade or '-')})</text>"
            )
    axis_y = row * len(bars) + 6
    for tick in (0, 25, 50, 75, 100):
        x = label_w + tick / 100 * bar_w
        parts.append(
            f'<line x1="{x}" y1="0" x2="{x}" y2="{axis_y}" stroke="{GRID}"/>'
            f'<text x="{x}" y="{axis_y + 14}" text-anchor="middle" font-size="10" '
            f'fill="{INK}">{tick}</text>'
        )
    desc = _described(bars)
    return _svg(label_w + bar_w + 90, height, title, desc, "".join(parts))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def trend_line(
    points: Sequence[tuple[str, Decimal | None, str | None]],
    title: str,
    table: ikm.IntervalTable = "2017",
) -> Markup:
    """The NIK per period over the grade bands (A-D tinted), gaps where a period has none."""
    width, height, left, top, bottom = 640, 220, 36, 10, 40
    plot_w, plot_h = width - left - 10, height - top - bottom
    values = [float(v) for _, v, _ in points if v is not None]
    c_floor = float(ikm.GRADE_FLOORS[table][2][0])
    floor = max(25.0, min(10 * ((min(values, default=c_floor) - 5) // 10), 10 * (c_floor // 10)))

    def y_of(value: float) -> float:
        return top + plot_h * (100 - value) / (100 - floor)

    parts = []
    ceiling = 100.0
    for lower, letter in (*ikm.GRADE_FLOORS[table], (Decimal(floor), "D")):
        bottom_value = max(float(lower), floor)
        parts.append(
            f'<rect x="{left}" y="{y_of(ceiling):.1f}" width="{plot_w}" '
            f'height="{y_of(bottom_value) - y_of(ceiling):.1f}" fill="{colour(letter, 0.22)}"/>'
            f'<text x="{left + plot_w - 4}" y="{y_of(ceiling) + 12:.1f}" text-anchor="end" '
            f'font-size="10" fill="{INK}">{letter}</text>'
        )
        ceiling = bottom_value
        if bottom_value <= floor:
            break
    for tick in range(int(floor), 101, 10):
        parts.append(
            f'<text x="{left - 4}" y="{y_of(tick) + 3:.1f}" text-anchor="end" font-size="10" '
            f'fill="{INK}">{tick}</text>'
        )
    step = plot_w / max(len(points), 1)
    xy: list[tuple[float, float] | None] = []
    for i, (label, value, _grade) in enumerate(points):
        x = left + step * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="10" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        xy.append((x, y_of(float(value))) if value is not None else None)
    run: list[str] = []
    for point in [*xy, None]:
        if point is None:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{INK}" '
                    'stroke-width="2"/>'
                )
            run = []
        else:
            run.append(f"{point[0]:.1f},{point[1]:.1f}")
    for point, (_, value, _) in zip(xy, points, strict=True):
        if point is not None:
            parts.append(
                f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3.5" fill="{INK}"/>'
                f'<text x="{point[0]:.1f}" y="{point[1] - 7:.1f}" text-anchor="middle" '
                f'font-size="10" fill="{INK}">{number(value)}</text>'
            )
    desc = _described(points)
    return _svg(width, height, title, desc, "".join(parts))


def per_day(days: dict[date, int], start: date, end: date, title: str) -> Markup:
    """Responses per day of a period as small columns (a year: one a day, thin)."""
    span = (end - start).days + 1
    width, height, left, bottom = 640, 120, 30, 18
    column = (width - left) / max(span, 1)
    top_value = max(days.values(), default=0) or 1
    parts = [
        f'<text x="{left - 4}" y="12" text-anchor="end" font-size="10" fill="{INK}">'
        f"{top_value}</text>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" '
        f'stroke="{GRID}"/>',
    ]
    for day, n in days.items():
        x = left + (day - start).days * column
        h = (height - bottom - 6) * n / top_value
        parts.append(
            f'<rect x="{x:.2f}" y="{height - bottom - h:.1f}" width="{max(column - 1, 0.6):.2f}" '
            f'height="{h:.1f}" fill="{colour("B")}"/>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 4}" font-size="10" fill="{INK}">{start.isoformat()}</text>'
        f'<text x="{width}" y="{height - 4}" text-anchor="end" font-size="10" fill="{INK}">'
        f"{end.isoformat()}</text>"
    )
    total = sum(days.values())
    desc = f"{total} respons dalam {len(days)} hari berisi; terbanyak {top_value} sehari."
    return _svg(width, height, title, desc, "".join(parts))


def short_period(period: Period) -> str:
    """A period in a chart's few characters: 2026, S1 2026, TW3 2026, 05/2026."""
    year = period.label[:4]
    if period.kind == "semester":
        return f"S{period.label[-1]} {year}"
    if period.kind == "quarter":
        return f"TW{period.label[-1]} {year}"
    if period.kind == "month":
        return f"{period.label[5:]}/{year}"
    return period.label

"""Survey periods: year, semester, quarter (triwulan), month or a date range.

Pure parsing; dates are local calendar dates in the unit's own time zone (responses carry
their local date, so a period never needs time-zone arithmetic at query time).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["year", "semester", "quarter", "month", "range"]
PERIOD_HELP = "2026, 2026-S1, 2026-Q3, 2026-05 or 2026-01-01..2026-03-31"
_FORMS: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    ("year", re.compile(r"^(\d{4})$")),
    ("semester", re.compile(r"^(\d{4})-S([12])$", re.IGNORECASE)),
    ("quarter", re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("range", re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")),
)
MAX_RANGE_DAYS = 3 * 366
# Surveys date from KepmenPAN 25/2004 on; the bounds keep a trend's previous and next periods
# (and their dates) representable.
FIRST_YEAR, LAST_YEAR = 2000, 2999


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """An inclusive range of local dates with its canonical label (``2026-S1``)."""

    kind: PeriodKind
    label: str
    start: date
    end: date

    def __str__(self) -> str:
        return self.label

    def previous(self) -> Period:
        """The period of the same kind just before this one (for trends)."""
        if self.kind == "range":
            length = self.end - self.start
            end = self.start - timedelta(days=1)
            return _range(end - length, end)
        return shift(self, -1)


def parse_period(text: str) -> Period:
    value = text.strip()
    for kind, pattern in _FORMS:
        match = pattern.match(value)
        if not match:
            continue
        try:
            if kind == "range":
                period = _range(date.fromisoformat(match[1]), date.fromisoformat(match[2]))
            else:
                index = int(match[2]) if kind != "year" else 1
                period = _calendar_period(kind, int(match[1]), index)
        except ValueError as exc:
            raise PeriodError(f"invalid period {text!r}: {exc}") from None
        if not FIRST_YEAR <= period.start.year <= period.end.year <= LAST_YEAR:
            raise PeriodError(f"invalid period {text!r}: years {FIRST_YEAR} to {LAST_YEAR} only")
        return period
    raise PeriodError(f"invalid period {text!r}: expected {PERIOD_HELP}")


def containing(day: date, kind: str) -> Period:
    """The calendar period of a kind (year, semester, quarter, month) that holds ``day``."""
    size = {"year": 12, "semester": 6, "quarter": 3, "month": 1}.get(kind)
    if size is None:
        raise PeriodError(f"unknown granularity {kind!r}: year, semester, quarter or month")
    return _calendar_period(kind, day.year, (day.month - 1) // size + 1)  # type: ignore[arg-type]  # checked above


def shift(period: Period, steps: int) -> Period:
    """The calendar period ``steps`` positions after (or before) this one, same kind."""
    size = {"year": 12, "semester": 6, "quarter": 3, "month": 1}[period.kind]
    months = period.start.year * 12 + period.start.month - 1 + steps * size
    year, month0 = divmod(months, 12)
    index = month0 // size + 1
    return _calendar_period(period.kind, year, index)


def _calendar_period(kind: PeriodKind, year: int, index: int) -> Period:
    if not 1 <= year <= 9998:
        raise ValueError(f"year {year} is out of range")
    if kind == "year":
        return Period(kind, f"{year:04d}", date(year, 1, 1), date(year, 12, 31))
    size, tag = {"semester": (6, "S"), "quarter": (3, "Q"), "month": (1, "")}[kind]
    if not 1 <= index <= 12 // size:
        raise ValueError(f"{kind} must be 1..{12 // size}, got {index}")
    first = (index - 1) * size + 1
    last = first + size - 1
    label = f"{year:04d}-{tag}{index}" if tag else f"{year:04d}-{index:02d}"
    return Period(
        kind, label, date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])
    )


def _range(start: date, end: date) -> Period:
    if end < start:
        raise ValueError(f"{end} is before {start}")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError(f"a range may span at most {MAX_RANGE_DAYS} days")
    return Period("range", f"{start.isoformat()}..{end.isoformat()}", start, end)

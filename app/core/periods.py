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
PERIOD_HELP = (
    "2026 (Tahun 2026), 2026-S1 (Semester I 2026, S1-2026), 2026-Q3 (Triwulan III 2026, "
    "2026-TW3, Q3-2026), 2026-05 (Mei 2026) or 2026-01-01..2026-03-31"
)
# Written as people write them in reports and letters: "Triwulan III Tahun 2026", "TW1-2026",
# "Semester 2 2026", "Bulan Mei 2026". The text is lower-cased and its spaces collapsed first.
_NUMERAL = r"(\d{1,2}|[ivx]+)"
_YEAR = r"(?:tahun )?(\d{4})"
_TAGS: dict[str, PeriodKind] = {
    "s": "semester",
    "semester": "semester",
    "q": "quarter",
    "tw": "quarter",
    "triwulan": "quarter",
}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("januari", "jan"),
            ("februari", "feb", "pebruari"),
            ("maret", "mar"),
            ("april", "apr"),
            ("mei",),
            ("juni", "jun"),
            ("juli", "jul"),
            ("agustus", "agu", "agt", "ags"),
            ("september", "sep", "sept"),
            ("oktober", "okt"),
            ("november", "nov", "nop", "nopember"),
            ("desember", "des"),
        ),
        start=1,
    )
    for name in names
}
_YEAR_ONLY = re.compile(rf"^{_YEAR}$", re.ASCII)
_TAG_FIRST = re.compile(rf"^(s|q|tw){_NUMERAL}[- ](?:tahun )?(\d{{4}})$", re.ASCII)
_YEAR_FIRST = re.compile(rf"^(\d{{4}})[- ](s|q|tw){_NUMERAL}$", re.ASCII)
_WORDED = re.compile(rf"^(semester|triwulan) {_NUMERAL} {_YEAR}$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_MONTH_NAMED = re.compile(rf"^(?:bulan )?([a-z]+) {_YEAR}$", re.ASCII)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2}) ?\.\. ?(\d{4}-\d{2}-\d{2})$", re.ASCII)
# Month names as reports print them (``MONTHS`` above reads them, with their abbreviations).
MONTH_NAMES = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
_ROMAN_NUMERALS = ("I", "II", "III", "IV")
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


def long_date(day: date) -> str:
    """A date as letters and reports write it: ``1 Januari 2026``."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def period_text(period: Period) -> str:
    """A period in words, as a report's title and footer print it: ``Tahun 2026``,
    ``Semester I Tahun 2026``, ``Triwulan III Tahun 2026``, ``Bulan Mei 2026``, or a range as
    its dates, ``1 Januari 2026 s.d. 15 Februari 2026``. (``Period.label``, ``2026-S1``, is
    the code that URLs and files use.)"""
    year = period.start.year
    if period.kind == "year":
        return f"Tahun {year}"
    if period.kind == "month":
        return f"Bulan {MONTH_NAMES[period.start.month - 1]} {year}"
    if period.kind in ("semester", "quarter"):
        size, word = (6, "Semester") if period.kind == "semester" else (3, "Triwulan")
        return f"{word} {_ROMAN_NUMERALS[(period.start.month - 1) // size]} Tahun {year}"
    return f"{long_date(period.start)} s.d. {long_date(period.end)}"


def parse_period(text: str) -> Period:
    """A period from any of the forms in PERIOD_HELP (case does not matter, Roman or Arabic
    numerals); the result carries the canonical label (``2026-Q3``)."""
    value = " ".join(text.split()).lower()
    # A message quotes the input, but not a page of it.
    shown = repr(text if len(text) <= 40 else text[:40] + "...")
    try:
        period = _match(value)
    except ValueError as exc:
        raise PeriodError(f"invalid period {shown}: {exc}") from None
    if period is None:
        raise PeriodError(f"invalid period {shown}: expected {PERIOD_HELP}")
    if not FIRST_YEAR <= period.start.year <= period.end.year <= LAST_YEAR:
        raise PeriodError(f"invalid period {shown}: years {FIRST_YEAR} to {LAST_YEAR} only")
    return period


def _match(value: str) -> Period | None:
    if match := _RANGE.match(value):
        return _range(date.fromisoformat(match[1]), date.fromisoformat(match[2]))
    if match := _YEAR_ONLY.match(value):
        return _calendar_period("year", int(match[1]), 1)
    if match := _MONTH.match(value):
        return _calendar_period("month", int(match[1]), int(match[2]))
    if match := _YEAR_FIRST.match(value):
        return _calendar_period(_TAGS[match[2]], int(match[1]), _number(match[3]))
    if match := _TAG_FIRST.match(value) or _WORDED.match(value):
        return _calendar_period(_TAGS[match[1]], int(match[3]), _number(match[2]))
    if (match := _MONTH_NAMED.match(value)) and match[1] in MONTHS:
        return _calendar_period("month", int(match[2]), MONTHS[match[1]])
    return None


def _number(numeral: str) -> int:
    if numeral.isdigit():
        return int(numeral)
    if numeral not in _ROMAN:
        raise ValueError(f"{numeral.upper()!r} is not a Roman numeral I to IV")
    return _ROMAN[numeral]


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
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError(f"a range may span at most {MAX_RANGE_DAYS} days")
    return Period("range", f"{start.isoformat()}..{end.isoformat()}", start, end)

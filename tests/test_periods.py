"""Tests of app.core.periods: parsing period labels and stepping back to the previous period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.periods import (
    MAX_RANGE_DAYS,
    MONTHS,
    Period,
    PeriodError,
    long_date,
    parse_period,
    period_text,
    shift,
)

ROMAN = ("I", "II", "III", "IV")
YEARS = st.integers(min_value=2000, max_value=2999)
# How people vary what they write: case and the spaces around words.
Case = Callable[[str], str]
CASES: st.SearchStrategy[Case] = st.sampled_from(
    (str.lower, str.upper, str.title, lambda text: text)
)
SPACES = st.sampled_from((" ", "  ", "\t"))


@pytest.mark.parametrize(
    ("text", "kind", "label", "start", "end"),
    [
        ("2026", "year", "2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-S1", "semester", "2026-S1", date(2026, 1, 1), date(2026, 6, 30)),
        ("2026-s2", "semester", "2026-S2", date(2026, 7, 1), date(2026, 12, 31)),
        ("2026-Q1", "quarter", "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-Q3", "quarter", "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("2026-q4", "quarter", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-05", "month", "2026-05", date(2026, 5, 1), date(2026, 5, 31)),
        ("2026-12", "month", "2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2024-02", "month", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026-02", "month", "2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        (
            "2026-01-01..2026-03-31",
            "range",
            "2026-01-01..2026-03-31",
            date(2026, 1, 1),
            date(2026, 3, 31),
        ),
        (
            "2026-05-17..2026-05-17",
            "range",
            "2026-05-17..2026-05-17",
            date(2026, 5, 17),
            date(2026, 5, 17),
        ),
        ("  2026-S1 ", "semester", "2026-S1", date(2026, 1, 1), date(2026, 6, 30)),
    ],
)
def test_parse_period_valid_forms(text: str, kind: str, label: str, start: date, end: date) -> None:
    period = parse_period(text)
    assert period.kind == kind
    assert period.label == label
    assert period.start == start
    assert period.end == end
    assert str(period) == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2026-TW1", "2026-Q1"),
        ("TW1-2026", "2026-Q1"),
        ("Triwulan III 2026", "2026-Q3"),
        ("Triwulan 3 Tahun 2026", "2026-Q3"),
        ("Semester I 2026", "2026-S1"),
        ("Semester 2 Tahun 2026", "2026-S2"),
        ("S1-2026", "2026-S1"),
        ("Q3-2026", "2026-Q3"),
        ("Tahun 2026", "2026"),
        ("Bulan Mei 2026", "2026-05"),
        ("Mei 2026", "2026-05"),
        ("Agustus Tahun 2026", "2026-08"),
        ("2026-SII", "2026-S2"),
        ("Q1 2026", "2026-Q1"),
        ("TW3 2026", "2026-Q3"),
        ("S2 Tahun 2026", "2026-S2"),
        ("2026 Q4", "2026-Q4"),
        ("2026-01-01 .. 2026-03-31", "2026-01-01..2026-03-31"),
    ],
)
def test_parse_period_written_forms_map_to_the_canonical_label(text: str, label: str) -> None:
    assert parse_period(text) == parse_period(label)
    assert parse_period(text).label == label


@given(
    year=YEARS,
    quarter=st.integers(1, 4),
    roman=st.booleans(),
    word=st.sampled_from(("Triwulan {n} {y}", "Triwulan {n} Tahun {y}")),
    case=CASES,
    space=SPACES,
)
def test_parse_period_triwulan_in_words(
    year: int, quarter: int, roman: bool, word: str, case: Case, space: str
) -> None:
    numeral = ROMAN[quarter - 1] if roman else str(quarter)
    text = case(word.format(n=numeral, y=year)).replace(" ", space)
    assert parse_period(text).label == f"{year}-Q{quarter}"


@given(year=YEARS, quarter=st.integers(1, 4), tag=st.sampled_from(("TW", "Q")), case=CASES)
def test_parse_period_tagged_quarter_either_way_round(
    year: int, quarter: int, tag: str, case: Case
) -> None:
    for text in (f"{year}-{tag}{quarter}", f"{tag}{quarter}-{year}"):
        assert parse_period(case(text)).label == f"{year}-Q{quarter}"


@given(
    year=YEARS,
    half=st.integers(1, 2),
    roman=st.booleans(),
    with_tahun=st.booleans(),
    case=CASES,
    space=SPACES,
)
def test_parse_period_semester_in_words_and_tags(
    year: int, half: int, roman: bool, with_tahun: bool, case: Case, space: str
) -> None:
    numeral = ROMAN[half - 1] if roman else str(half)
    words = f"Semester {numeral} {'Tahun ' if with_tahun else ''}{year}"
    for text in (case(words).replace(" ", space), case(f"S{half}-{year}"), f"{year}-S{numeral}"):
        assert parse_period(text).label == f"{year}-S{half}"


@given(year=YEARS, case=CASES, space=SPACES)
def test_parse_period_tahun(year: int, case: Case, space: str) -> None:
    assert parse_period(case(f"Tahun{space}{year}")).label == f"{year}"


@given(
    year=YEARS,
    month=st.sampled_from(sorted(MONTHS.items())),
    bulan=st.booleans(),
    tahun=st.booleans(),
    case=CASES,
)
def test_parse_period_indonesian_month_names(
    year: int, month: tuple[str, int], bulan: bool, tahun: bool, case: Case
) -> None:
    name, number = month
    text = f"{'Bulan ' if bulan else ''}{name} {'Tahun ' if tahun else ''}{year}"
    assert parse_period(case(text)).label == f"{year}-{number:02d}"


def test_parse_period_leap_february_ends_on_29() -> None:
    assert parse_period("2024-02").end == date(2024, 2, 29)
    assert parse_period("2100-02").end == date(2100, 2, 28)
    assert parse_period("2000-02").end == date(2000, 2, 29)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "month must be 1..12, got 13"),
        ("2026-00", "month must be 1..12, got 0"),
        ("2026-Q5", "quarter must be 1..4, got 5"),
        ("2026-S3", "semester must be 1..2, got 3"),
        ("Triwulan V 2026", "'V' is not a Roman numeral I to IV"),
        ("Semester 3 Tahun 2026", "semester must be 1..2, got 3"),
        ("Mie 2026", "expected 2026 \\(Tahun 2026\\), 2026-S1 \\(Semester I 2026"),
        ("garbage", "expected 2026 \\(Tahun 2026\\), 2026-S1"),
        ("", "expected 2026 \\(Tahun 2026\\), 2026-S1"),
        ("26", "expected 2026"),
        ("Tahun 1999", "years 2000 to 2999 only"),
        ("0000", "year 0 is out of range"),
        ("0001", "years 2000 to 2999 only"),
        ("1999-S2", "years 2000 to 2999 only"),
        ("2999-12-01..3000-01-31", "years 2000 to 2999 only"),
        ("2026-02-30..2026-03-01", "day is out of range for month"),
        (
            "2026-03-31..2026-01-01",
            "the range ends \\(2026-01-01\\) before it starts \\(2026-03-31\\)",
        ),
        ("2026-01-01..2029-12-31", f"a range may span at most {MAX_RANGE_DAYS} days"),
        ("\u0662\u0660\u0662\u0666", "expected 2026"),  # Arabic-Indic digits are not a year
    ],
)
def test_parse_period_invalid_raises_period_error(text: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message) as info:
        parse_period(text)
    assert repr(text) in str(info.value)


def test_parse_period_range_at_max_length_accepted() -> None:
    start = date(2026, 1, 1)
    end = start + timedelta(days=MAX_RANGE_DAYS - 1)
    period = parse_period(f"{start.isoformat()}..{end.isoformat()}")
    assert (period.end - period.start).days == MAX_RANGE_DAYS - 1
    with pytest.raises(PeriodError, match="at most"):
        parse_period(f"{start.isoformat()}..{(end + timedelta(days=1)).isoformat()}")


def test_period_error_is_value_error() -> None:
    assert issubclass(PeriodError, ValueError)


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("2026", "2025"),
        ("2026-S1", "2025-S2"),
        ("2026-S2", "2026-S1"),
        ("2026-Q1", "2025-Q4"),
        ("2026-Q3", "2026-Q2"),
        ("2026-01", "2025-12"),
        ("2026-05", "2026-04"),
        ("2024-03", "2024-02"),
        ("2026-01-01..2026-03-31", "2025-10-03..2025-12-31"),
        ("2026-05-17..2026-05-17", "2026-05-16..2026-05-16"),
    ],
)
def test_previous_returns_same_kind_just_before(text: str, previous: str) -> None:
    period = parse_period(text)
    before = period.previous()
    assert before == parse_period(previous)
    assert before.kind == period.kind
    assert before.end + timedelta(days=1) == period.start


def test_previous_range_has_same_length() -> None:
    period = parse_period("2026-01-01..2026-03-31")
    before = period.previous()
    assert before.end - before.start == period.end - period.start
    assert before.label == "2025-10-03..2025-12-31"


def test_shift_moves_forward_and_back() -> None:
    q4 = parse_period("2025-Q4")
    assert shift(q4, 1) == parse_period("2026-Q1")
    assert shift(q4, -4) == parse_period("2024-Q4")
    assert shift(parse_period("2026-12"), 1).label == "2027-01"
    assert shift(parse_period("2026-S2"), 3).label == "2028-S1"
    assert shift(parse_period("2026"), 0) == parse_period("2026")


def test_period_is_frozen_value() -> None:
    period = Period("year", "2026", date(2026, 1, 1), date(2026, 12, 31))
    assert period == parse_period("2026")
    assert hash(period) == hash(parse_period("2026"))


def test_parse_period_error_quotes_a_long_input_shortened() -> None:
    with pytest.raises(PeriodError) as info:
        parse_period("x" * 100_000)
    assert str(info.value).startswith("invalid period '" + "x" * 40 + "...': expected 2026")
    assert len(str(info.value)) < 400


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("2026", "Tahun 2026"),
        ("2026-S1", "Semester I Tahun 2026"),
        ("2026-S2", "Semester II Tahun 2026"),
        ("2026-Q1", "Triwulan I Tahun 2026"),
        ("2026-Q3", "Triwulan III Tahun 2026"),
        ("2026-Q4", "Triwulan IV Tahun 2026"),
        ("2026-05", "Bulan Mei 2026"),
        ("2026-12", "Bulan Desember 2026"),
        ("2026-01-01..2026-02-15", "1 Januari 2026 s.d. 15 Februari 2026"),
        ("2025-12-31..2026-01-01", "31 Desember 2025 s.d. 1 Januari 2026"),
    ],
)
def test_period_text_writes_the_period_in_words(code: str, words: str) -> None:
    assert period_text(parse_period(code)) == words


@given(
    year=st.integers(min_value=2000, max_value=2998),
    code=st.sampled_from(("{y}", "{y}-S1", "{y}-Q1", "{y}-01")),
    step=st.integers(min_value=0, max_value=11),
)
def test_period_text_reads_back_as_the_same_period(year: int, code: str, step: int) -> None:
    # The words of every calendar period parse back to it (a range's dates are no code).
    period = shift(parse_period(code.format(y=year)), step % (12 if "-01" in code else 2))
    assert parse_period(period_text(period)) == period


def test_long_date_spells_the_month() -> None:
    assert long_date(date(2026, 8, 17)) == "17 Agustus 2026"

"""Tests of app.core.ikm: exact IKM arithmetic, methods, tallies, grades, sample size, intervals."""

from __future__ import annotations

import csv
import dataclasses
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.ikm import (
    DEFAULT_METHOD,
    POOLED,
    Aggregate,
    ConfidenceInterval,
    Coverage,
    IkmResult,
    Method,
    SampleAdequacy,
    Tally,
    compute,
    grade,
    mean_of_children,
    round_half_up,
    sample_size,
    to_decimal,
)
from tests.factories import CODES

# The worked example of SKM.md section 6 (a copy of ../shared/domain/sekadau-2019-s1-49.csv).
SEKADAU_CSV = Path(__file__).resolve().parent / "data" / "sekadau-2019-s1-49.csv"
SEKADAU_CODES = tuple(f"U{i}" for i in range(1, 10))
NINE = CODES

Row = tuple[int | None, ...]


def _sekadau_rows() -> list[Row]:
    with SEKADAU_CSV.open(newline="", encoding="utf-8") as handle:
        return [
            tuple(int(record[code]) for code in SEKADAU_CODES) for record in csv.DictReader(handle)
        ]


def _sekadau(method: Method = DEFAULT_METHOD, population: int | None = None) -> IkmResult:
    return compute(Tally.of(SEKADAU_CODES, _sekadau_rows()), method, population)


# --- the Sekadau worked example (SKM.md section 6) ---------------------------------------------


def test_compute_sekadau_gives_published_sums() -> None:
    result = _sekadau()
    assert result.n == 49
    assert [e.sum for e in result.elements] == [138, 139, 150, 177, 159, 163, 161, 143, 159]
    assert [e.n for e in result.elements] == [49] * 9
    assert [e.code for e in result.elements] == list(SEKADAU_CODES)


def test_compute_sekadau_exact_gives_78_74_grade_b() -> None:
    result = _sekadau()
    assert result.ikm == Fraction(1389, 49 * 9)
    assert to_decimal(result.ikm, 5) == Decimal("3.14966")
    assert result.nik == Fraction(1389 * 25, 49 * 9)
    assert result.nik_rounded == Decimal("78.74")
    assert result.mutu == "B"
    assert result.kinerja == "Baik"
    assert result.method == Method(table="2017")  # graded with the form's table


def test_compute_sekadau_weight_0111_gives_78_66() -> None:
    result = _sekadau(Method(weight="0.111"))
    assert result.nik_rounded == Decimal("78.66")
    assert result.mutu == "B"
    assert result.nik == Fraction(1389, 49) * Fraction("0.111") * 25
    assert not any("does not fit" in w for w in result.warnings)


def test_compute_sekadau_weight_011_gives_77_95() -> None:
    result = _sekadau(Method(weight="0.11"))
    assert result.nik_rounded == Decimal("77.95")
    assert result.nik == Fraction(1389, 49) * Fraction("0.11") * 25


# --- exactness -------------------------------------------------------------------------------


def test_compute_all_fours_gives_exactly_100() -> None:
    result = compute(Tally.of(NINE, [(4,) * 9] * 37))
    assert result.nik == 100
    assert isinstance(result.nik, Fraction)
    assert result.ikm == 4
    assert result.nik_rounded == Decimal("100.00")
    assert str(result.nik_rounded) == "100.00"
    assert result.mutu == "A"
    assert result.kinerja == "Sangat baik"


def test_compute_all_fours_weight_011_gives_99() -> None:
    result = compute(Tally.of(NINE, [(4,) * 9] * 37), Method(weight="0.11"))
    assert result.nik == 99
    assert result.nik_rounded == Decimal("99.00")


def test_compute_all_ones_gives_25_grade_d() -> None:
    result = compute(Tally.of(NINE, [(1,) * 9] * 40))
    assert result.nik == 25
    assert result.nik_rounded == Decimal("25.00")
    assert result.mutu == "D"
    assert result.kinerja == "Tidak baik"


# --- grades ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "expected"),
    [
        ("100.00", "A"),
        ("88.31", "A"),
        ("88.30", "B"),
        ("76.61", "B"),
        ("76.60", "C"),
        ("65.00", "C"),
        ("64.99", "D"),
        ("25.00", "D"),
    ],
)
def test_grade_table_2017_boundaries(nik: str, expected: str) -> None:
    assert grade(Decimal(nik), "2017") == expected
    assert grade(Decimal(nik)) == expected


@pytest.mark.parametrize(
    ("nik", "expected"),
    [
        ("81.26", "A"),
        ("81.25", "B"),
        ("62.51", "B"),
        ("62.50", "C"),
        ("43.76", "C"),
        ("43.75", "D"),
    ],
)
def test_grade_table_2004_boundaries(nik: str, expected: str) -> None:
    assert grade(Decimal(nik), "2004") == expected


def test_grade_76_50_differs_between_tables() -> None:
    assert grade(Decimal("76.50"), "2004") == "B"
    assert grade(Decimal("76.50"), "2017") == "C"


def test_compute_table_2004_grades_with_2004_floors() -> None:
    # all answers 3 except enough 4s... simplest: NIK 75 exactly (all 3s) is C in 2017, B in 2004.
    tally = Tally.of(NINE, [(3,) * 9] * 40)
    assert compute(tally).mutu == "C"
    result = compute(tally, Method(table="2004"))
    assert result.nik_rounded == Decimal("75.00")
    assert result.mutu == "B"
    assert all(e.mutu == "B" for e in result.elements)


def test_compute_grades_with_the_forms_table_unless_the_method_names_one() -> None:
    tally = Tally.of(NINE, [(3,) * 9] * 40, table="2004")  # answered on the 2004 form
    result = compute(tally)
    assert (result.mutu, result.method.table) == ("B", "2004")
    assert result.method.label == "weight exact 1/k, interval table 2004"
    overridden = compute(tally, Method(table="2017"))
    assert (overridden.mutu, overridden.method.table) == ("C", "2017")


def test_tally_refuses_an_unknown_table() -> None:
    with pytest.raises(ValueError, match="table must be 2017 or 2004"):
        Tally(codes=("a",), table="1999")  # type: ignore[arg-type]


# --- sample size -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "minimum"),
    [(1, 1), (100, 80), (500, 217), (1000, 278), (10000, 370), (1000000, 384)],
)
def test_sample_size_matches_regulation_table(population: int, minimum: int) -> None:
    assert sample_size(population) == minimum


def test_sample_size_zero_population_raises() -> None:
    with pytest.raises(ValueError, match="population must be at least 1, got 0"):
        sample_size(0)


# --- rounding helpers --------------------------------------------------------------------------


def test_round_half_up_rounds_half_away_from_zero() -> None:
    assert round_half_up(Fraction("2.345"), 2) == Fraction("2.35")
    assert round_half_up(Fraction("2.344"), 2) == Fraction("2.34")
    assert round_half_up(Fraction("0.5"), 0) == 1
    assert round_half_up(Fraction("2.5"), 0) == 3


def test_to_decimal_formats_with_fixed_places() -> None:
    assert str(to_decimal(Fraction(100))) == "100.00"
    assert str(to_decimal(Fraction(1, 3))) == "0.33"
    assert str(to_decimal(Fraction(2, 3), 5)) == "0.66667"
    assert str(to_decimal(Fraction("2.345"))) == "2.35"
    assert str(to_decimal(Fraction("7.5"), 0)) == "8"


# --- Method -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": "abc"}, "weight must be 'exact' or a decimal such as 0.111, got 'abc'"),
        ({"weight": "0"}, r"weight must lie in \(0, 1\], got 0"),
        ({"weight": "1.5"}, r"weight must lie in \(0, 1\], got 1.5"),
        ({"weight": "-0.1"}, r"weight must lie in \(0, 1\], got -0.1"),
        ({"round_nrr": -1}, "round_nrr must be between 0 and 10 decimals, got -1"),
        ({"round_weighted": 11}, "round_weighted must be between 0 and 10 decimals, got 11"),
        ({"round_total": 20}, "round_total must be between 0 and 10 decimals, got 20"),
        ({"table": "2010"}, "table must be 2017 or 2004, got '2010'"),
    ],
)
def test_method_invalid_settings_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Method(**kwargs)


def test_method_weight_one_is_accepted() -> None:
    assert Method(weight="1").weight_for(9) == 1


def test_method_weight_for_exact_and_fixed() -> None:
    assert Method().weight_for(9) == Fraction(1, 9)
    assert Method().weight_for(14) == Fraction(1, 14)
    assert Method(weight="0.111").weight_for(9) == Fraction(111, 1000)


def test_method_label_describes_settings() -> None:
    assert Method().label == "weight exact 1/k, interval table of the form"
    assert Method(
        weight="0.111", round_nrr=3, round_weighted=3, round_total=2, table="2004"
    ).label == (
        "weight 0.111, NRR rounded to 3 dp, NRR tertimbang rounded to 3 dp, "
        "total rounded to 2 dp, interval table 2004"
    )
    assert (
        Method(round_total=0, table="2017").label
        == "weight exact 1/k, total rounded to 0 dp, interval table 2017"
    )


def test_method_to_dict_lists_settings_and_label() -> None:
    assert Method(weight="0.11", round_nrr=2, table="2017").to_dict() == {
        "weight": "0.11",
        "round_nrr": 2,
        "round_weighted": None,
        "round_total": None,
        "table": "2017",
        "label": "weight 0.11, NRR rounded to 2 dp, interval table 2017",
    }


# --- rounding options --------------------------------------------------------------------------

TINY_CODES = ("a", "b", "c")
TINY_ROWS: list[Row] = [(1, 2, 4), (2, 2, 3), (4, 3, 3)]  # sums 7, 7, 10 over n = 3


def test_compute_tiny_exact_is_sum_over_nine() -> None:
    result = compute(Tally.of(TINY_CODES, TINY_ROWS))
    assert [e.nrr for e in result.elements] == [Fraction(7, 3), Fraction(7, 3), Fraction(10, 3)]
    assert [e.weighted for e in result.elements] == [
        Fraction(7, 9),
        Fraction(7, 9),
        Fraction(10, 9),
    ]
    assert result.ikm == Fraction(24, 9)
    assert result.nik_rounded == Decimal("66.67")


def test_compute_round_nrr_rounds_each_nrr_before_weighting() -> None:
    result = compute(Tally.of(TINY_CODES, TINY_ROWS), Method(round_nrr=1))
    nrrs = [Fraction("2.3"), Fraction("2.3"), Fraction("3.3")]
    assert [e.nrr for e in result.elements] == nrrs
    assert result.ikm == sum(nrrs, Fraction(0)) / 3
    assert result.nik == Fraction("7.9") / 3 * 25
    assert result.nik_rounded == Decimal("65.83")


def test_compute_round_weighted_rounds_each_product_before_summing() -> None:
    result = compute(Tally.of(TINY_CODES, TINY_ROWS), Method(round_weighted=2))
    weighted = [Fraction("0.78"), Fraction("0.78"), Fraction("1.11")]
    assert [e.weighted for e in result.elements] == weighted
    assert [e.nrr for e in result.elements] == [Fraction(7, 3), Fraction(7, 3), Fraction(10, 3)]
    assert result.ikm == Fraction("2.67")
    assert result.nik == Fraction("66.75")
    assert result.nik_rounded == Decimal("66.75")


def test_compute_round_total_rounds_sum_before_conversion() -> None:
    result = compute(Tally.of(TINY_CODES, TINY_ROWS), Method(round_total=1))
    assert result.ikm == Fraction("2.7")
    assert result.nik == Fraction("67.5")
    assert result.nik_rounded == Decimal("67.50")
    assert [e.weighted for e in result.elements] == [
        Fraction(7, 9),
        Fraction(7, 9),
        Fraction(10, 9),
    ]


def test_compute_element_results_grade_nrr_times_25() -> None:
    result = compute(Tally.of(TINY_CODES, TINY_ROWS))
    assert [e.nik_rounded for e in result.elements] == [
        Decimal("58.33"),
        Decimal("58.33"),
        Decimal("83.33"),
    ]
    assert [e.mutu for e in result.elements] == ["D", "D", "B"]


# --- blanks ------------------------------------------------------------------------------------


def test_compute_blank_answers_are_excluded_not_zero() -> None:
    rows: list[Row] = [(4, 4), (None, 2), (2, None)]
    result = compute(Tally.of(("a", "b"), rows))
    a, b = result.elements
    assert (a.n, a.sum, a.nrr) == (2, 6, Fraction(3))
    assert (b.n, b.sum, b.nrr) == (2, 6, Fraction(3))
    assert result.n == 3
    assert result.nik == 75


def test_compute_element_without_answers_gives_no_ikm() -> None:
    result = compute(Tally.of(("a", "b"), [(3, None), (4, None)]))
    assert result.ikm is None
    assert result.nik is None
    assert result.nik_rounded is None
    assert result.mutu is None
    assert result.kinerja is None
    assert result.ci is None
    assert result.warnings == ("no answers for element(s) b: the IKM is undefined",)
    b = result.elements[1]
    assert (b.n, b.sum, b.nrr, b.weighted, b.nik_rounded, b.mutu) == (0, 0, None, None, None, None)
    assert result.elements[0].nrr == Fraction(7, 2)


def test_compute_no_responses_warns() -> None:
    result = compute(Tally(codes=NINE))
    assert result.n == 0
    assert result.ikm is None
    assert result.warnings == ("no responses",)
    assert result.to_dict()["ikm"] is None


def test_compute_no_responses_with_population_reports_sample() -> None:
    result = compute(Tally(codes=NINE), population=100)
    assert result.sample == SampleAdequacy(100, 80, 0)
    assert result.warnings == (
        "sample of 0 is below the minimum of 80 for a population of 100 (belum memenuhi)",
        "no responses",
    )


# --- Tally -------------------------------------------------------------------------------------


def test_tally_defaults_to_zeros() -> None:
    tally = Tally(codes=("a", "b"))
    assert tally.answered == (0, 0)
    assert tally.sums == (0, 0)
    assert Tally.of(("a", "b"), []) == tally


def test_tally_of_counts_complete_rows() -> None:
    tally = Tally.of(("a", "b"), [(1, 2), (3, None), (4, 4)])
    assert tally == Tally(
        codes=("a", "b"),
        responses=3,
        answered=(3, 2),
        sums=(8, 6),
        complete=2,
        complete_sum=11,
        complete_sumsq=9 + 64,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codes": ()}, "element codes must be non-empty and distinct"),
        ({"codes": ("a", "a")}, "element codes must be non-empty and distinct"),
        (
            {"codes": ("a", "b"), "responses": 1, "answered": (1,), "sums": (3,)},
            "answered and sums need one entry per element code",
        ),
        (
            {"codes": ("a",), "responses": 1, "answered": (1,), "sums": (3, 3)},
            "answered and sums need one entry per element code",
        ),
        (
            {"codes": ("a",), "responses": 1, "answered": (2,), "sums": (6,)},
            "inconsistent tally: n_i=2, sum=6, n=1",
        ),
        (
            {"codes": ("a",), "responses": 2, "answered": (2,), "sums": (9,)},
            "inconsistent tally: n_i=2, sum=9, n=2",
        ),
        (
            {"codes": ("a",), "responses": 2, "answered": (2,), "sums": (1,)},
            "inconsistent tally: n_i=2, sum=1, n=2",
        ),
        (
            {"codes": ("a",), "responses": 2, "answered": (-1,), "sums": (0,)},
            "inconsistent tally: n_i=-1",
        ),
        (
            {
                "codes": ("a", "b"),
                "responses": 2,
                "answered": (2, 1),
                "sums": (4, 2),
                "complete": 2,
            },
            "inconsistent tally: complete=2",
        ),
        (
            {"codes": ("a",), "responses": 2, "answered": (2,), "sums": (4,), "complete": -1},
            "inconsistent tally: complete=-1",
        ),
    ],
)
def test_tally_invalid_raises(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tally(**kwargs)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ((1, 5), "answer 5 for b is not 1..4"),
        ((0, 1), "answer 0 for a is not 1..4"),
        ((1, "3"), "answer '3' for b is not 1..4"),
        ((1, 3.0), "answer 3.0 for b is not 1..4"),
        ((True, 1), "answer True for a is not 1..4"),
        ((1, 2, 3), "a row has 3 answers, expected 2"),
        ((1,), "a row has 1 answers, expected 2"),
    ],
)
def test_tally_of_invalid_row_raises(row: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tally.of(("a", "b"), [(4, 4), row])


def test_tally_add_pools_sums_and_counts() -> None:
    first = Tally.of(("a", "b"), [(1, 2), (3, None)])
    second = Tally.of(("a", "b"), [(4, 4), (None, 1)])
    pooled = first + second
    assert pooled == Tally.of(("a", "b"), [(1, 2), (3, None), (4, 4), (None, 1)])
    assert pooled.responses == 4
    assert pooled.answered == (3, 3)
    assert pooled.sums == (8, 7)
    assert pooled.complete == 2


def test_tally_reordered_matches_elements_by_code() -> None:
    tally = Tally.of(("a", "b", "c"), [(1, 2, None), (3, 4, 4)])
    again = tally.reordered(("c", "a", "b"))
    assert (again.codes, again.answered, again.sums) == (("c", "a", "b"), (1, 2, 2), (4, 4, 6))
    assert again.reordered(("a", "b", "c")) == tally


def test_tally_reordered_other_elements_raises() -> None:
    with pytest.raises(ValueError, match="cannot reorder elements"):
        Tally.of(("a", "b"), [(1, 2)]).reordered(("a", "c"))


def test_tally_add_mismatched_codes_raises() -> None:
    with pytest.raises(ValueError, match="cannot pool element sets"):
        Tally(codes=("a", "b")) + Tally(codes=("b", "a"))


def test_tally_add_mismatched_tables_raises() -> None:
    with pytest.raises(ValueError, match="cannot pool interval tables"):
        Tally(codes=("a",)) + Tally(codes=("a",), table="2004")


# --- population, sample adequacy, confidence interval ------------------------------------------


def test_sample_adequacy_verdicts() -> None:
    assert SampleAdequacy(100, 80, 80).sufficient
    assert SampleAdequacy(100, 80, 80).verdict == "memenuhi"
    assert not SampleAdequacy(100, 80, 79).sufficient
    assert SampleAdequacy(100, 80, 79).verdict == "belum memenuhi"
    assert SampleAdequacy(100, 80, 79).to_dict() == {
        "population": 100,
        "minimum": 80,
        "n": 79,
        "sufficient": False,
        "verdict": "belum memenuhi",
    }


def test_compute_population_too_large_warns_belum_memenuhi() -> None:
    result = _sekadau(population=100)
    assert result.sample == SampleAdequacy(population=100, minimum=80, n=49)
    assert result.sample.verdict == "belum memenuhi"
    assert (
        "sample of 49 is below the minimum of 80 for a population of 100 (belum memenuhi)"
        in result.warnings
    )


def test_compute_population_small_is_memenuhi() -> None:
    result = _sekadau(population=50)
    assert result.sample is not None
    assert result.sample.minimum == 44
    assert result.sample.verdict == "memenuhi"
    assert not any("belum memenuhi" in w for w in result.warnings)


def test_compute_ci_present_with_two_complete_responses() -> None:
    result = compute(Tally.of(NINE, [(3,) * 9, (4,) * 9]))
    assert result.ci is not None
    assert result.ci.level == 0.95


def test_compute_ci_absent_with_one_complete_response() -> None:
    result = compute(Tally.of(NINE, [(3,) * 9, (4,) * 8 + (None,)]))
    assert result.ikm is not None
    assert result.ci is None


def test_compute_ci_clamped_to_25_100_and_spans_all_grades() -> None:
    result = compute(Tally.of(NINE, [(1,) * 9, (4,) * 9]))
    assert result.nik_rounded == Decimal("62.50")
    assert result.ci is not None
    assert result.ci.low == Decimal("25.00")
    assert result.ci.high == Decimal("100.00")
    assert result.ci.grades == ("A", "B", "C", "D")
    assert result.warnings == (
        "only 2 responses: too few for a reliable IKM",
        "the 95% interval 25.00-100.00 spans grades A/B/C/D: "
        "more responses are needed to tell them apart",
    )


def test_compute_ci_zero_spread_is_single_grade() -> None:
    result = compute(Tally.of(NINE, [(4,) * 9] * 40))
    assert result.ci == ConfidenceInterval(Decimal("100.00"), Decimal("100.00"), ("A",))
    assert result.warnings == ()


def test_compute_low_n_warns() -> None:
    result = compute(Tally.of(NINE, [(4,) * 9] * 29))
    assert result.warnings == ("only 29 responses: too few for a reliable IKM",)
    assert compute(Tally.of(NINE, [(4,) * 9] * 30)).warnings == ()


def _one_element(value: int, count: int) -> list[Row]:
    return [(value,)] * count


def test_compute_ci_large_n_uses_normal_quantile() -> None:
    # one element, weight 1: the row totals are the answers; 100 twos and 100 fours.
    rows = _one_element(2, 100) + _one_element(4, 100)
    result = compute(Tally.of(("a",), rows))
    assert result.nik == 75
    half = 1.96 * 25 * math.sqrt(Fraction(200, 199) / 200)
    assert result.ci is not None
    assert result.ci.low == to_decimal(Fraction(75 - half))
    assert result.ci.high == to_decimal(Fraction(75 + half))
    assert (result.ci.low, result.ci.high) == (Decimal("71.53"), Decimal("78.47"))


def test_compute_ci_121_responses_uses_t_120() -> None:
    rows = _one_element(2, 60) + _one_element(4, 60) + _one_element(3, 1)
    result = compute(Tally.of(("a",), rows))
    variance = Fraction(120, 120)
    half = 1.980 * 25 * math.sqrt(variance / 121)
    assert result.ci is not None
    assert result.ci.low == to_decimal(Fraction(75 - half))
    assert result.ci.high == to_decimal(Fraction(75 + half))
    assert (result.ci.low, result.ci.high) == (Decimal("70.50"), Decimal("79.50"))


def test_compute_ci_small_n_uses_t_table_between_rows() -> None:
    # 35 responses: df 34 lies between 30 and 40; the 30-df value 2.042 is used.
    rows = _one_element(2, 17) + _one_element(4, 17) + _one_element(3, 1)
    result = compute(Tally.of(("a",), rows))
    half = 2.042 * 25 * math.sqrt(Fraction(34, 34) / 35)
    assert result.ci is not None
    assert result.ci.low == to_decimal(Fraction(75 - half))
    assert result.ci.high == to_decimal(Fraction(75 + half))
    assert (result.ci.low, result.ci.high) == (Decimal("66.37"), Decimal("83.63"))


def test_compute_finite_population_correction_narrows_interval() -> None:
    tally = Tally.of(SEKADAU_CODES, _sekadau_rows())
    wide = compute(tally).ci
    narrow = compute(tally, population=60).ci
    assert wide is not None
    assert narrow is not None
    assert narrow.high - narrow.low < wide.high - wide.low
    assert narrow.low > wide.low
    assert narrow.high < wide.high


def test_compute_population_equal_to_n_collapses_interval() -> None:
    tally = Tally.of(SEKADAU_CODES, _sekadau_rows())
    result = compute(tally, population=49)
    assert result.ci is not None
    assert result.ci.low == result.ci.high == Decimal("78.74")
    assert result.ci.grades == ("B",)


def test_compute_mismatched_weight_warns() -> None:
    result = compute(Tally.of(NINE, [(4,) * 9] * 30), Method(weight="0.071"))
    assert result.warnings == ("weight 0.071 does not fit 9 elements (1/9 expected)",)
    assert result.nik == Fraction("0.071") * 4 * 9 * 25


def test_compute_fitting_weight_does_not_warn() -> None:
    result = compute(Tally.of(NINE, [(4,) * 9] * 30), Method(weight="0.111"))
    assert result.warnings == ()


def test_result_to_dict_has_documented_keys() -> None:
    data = _sekadau(population=100).to_dict()
    assert set(data) >= {"n", "ikm", "nik", "nik_rounded", "mutu", "kinerja", "method", "elements"}
    assert data["n"] == 49
    assert data["ikm"] == float(Fraction(1389, 441))
    assert data["nik"] == float(Fraction(1389 * 25, 441))
    assert data["nik_rounded"] == 78.74
    assert data["mutu"] == "B"
    assert data["kinerja"] == "Baik"
    assert data["method"] == Method(table="2017").to_dict()
    assert len(data["elements"]) == 9
    first = data["elements"][0]
    assert {"code", "n", "sum", "nrr", "weighted"} <= set(first)
    assert first["code"] == "U1"
    assert first["n"] == 49
    assert first["sum"] == 138
    assert first["nrr"] == float(Fraction(138, 49))
    assert first["weighted"] == float(Fraction(138, 49 * 9))
    assert first["nik_rounded"] == float(to_decimal(Fraction(138 * 25, 49)))
    assert data["sample"] == {
        "population": 100,
        "minimum": 80,
        "n": 49,
        "sufficient": False,
        "verdict": "belum memenuhi",
    }
    assert data["ci"]["level"] == 0.95
    assert data["ci"]["low"] < 78.74 < data["ci"]["high"]
    assert isinstance(data["warnings"], list)
    assert data["aggregate"] == {
        "kind": "pooled",
        "children": None,
        "label": "pooled: sums and counts of every response",
    }
    assert data["coverage"] is None  # read from a file: no units


def test_coverage_to_dict_counts_units() -> None:
    coverage = Coverage(codes=("opd", "upt-1", "upt-2"), units_with_responses=2)
    assert coverage.units == 3
    assert coverage.to_dict() == {
        "units": 3,
        "units_with_responses": 2,
        "codes": ["opd", "upt-1", "upt-2"],
    }


def test_element_to_dict_without_answers_has_nones() -> None:
    data = compute(Tally.of(("a", "b"), [(3, None)])).to_dict()
    assert data["elements"][1] == {
        "code": "b",
        "n": 0,
        "sum": 0,
        "nrr": None,
        "weighted": None,
        "nik_rounded": None,
        "mutu": None,
    }
    assert data["sample"] is None
    assert data["ci"] is None


def test_confidence_interval_to_dict() -> None:
    ci = ConfidenceInterval(Decimal("70.10"), Decimal("80.20"), ("B", "C"))
    assert ci.to_dict() == {"level": 0.95, "low": 70.1, "high": 80.2, "grades": ["B", "C"]}


# --- the mean of child units -------------------------------------------------------------------

AB = ("a", "b")


def _child(rows: list[Row], code: str | None = None, method: Method = DEFAULT_METHOD) -> IkmResult:
    result = compute(Tally.of(AB if rows and len(rows[0]) == 2 else NINE, rows), method)
    if code is None:
        return result
    return dataclasses.replace(result, coverage=Coverage((code, f"{code}-upt"), 1))


def test_mean_of_children_averages_nrr_not_respondents() -> None:
    first = _child([(4, 4), (2, 2)])  # NRR 3, 3: NIK 75.00
    second = _child([(4, 3)])  # NRR 4, 3: NIK 87.50
    result = mean_of_children([first, second])
    assert [(e.code, e.n, e.sum, e.nrr) for e in result.elements] == [
        ("a", 3, 10, Fraction(7, 2)),
        ("b", 3, 9, Fraction(3)),
    ]
    # (75 + 87.5) / 2; pooling the three respondents would give 79.17.
    assert (result.n, result.ikm, result.nik) == (3, Fraction(13, 4), Fraction(325, 4))
    assert (result.nik_rounded, result.mutu, result.kinerja) == (Decimal("81.25"), "B", "Baik")
    assert result.aggregate == Aggregate("mean_of_children", children=2, of=2)
    assert result.aggregate.label == "mean of 2 child unit(s)"
    assert (result.ci, result.sample, result.coverage) == (None, None, None)
    assert result.method == Method(table="2017")
    assert result.warnings == ("only 3 responses: too few for a reliable IKM",)


def test_mean_of_children_leaves_out_children_without_responses() -> None:
    empty = compute(Tally(codes=AB))
    result = mean_of_children([_child([(4, 4)]), empty, _child([(2, 2)])], population=100)
    assert (result.nik, result.aggregate.children, result.aggregate.of) == (Fraction(75), 2, 3)
    assert result.aggregate.label == "mean of 2 child unit(s) (1 without responses left out)"
    assert result.to_dict()["aggregate"] == {
        "kind": "mean_of_children",
        "children": 2,
        "label": "mean of 2 child unit(s) (1 without responses left out)",
    }
    assert result.sample == SampleAdequacy(population=100, minimum=80, n=2)
    assert result.warnings == (
        "sample of 2 is below the minimum of 80 for a population of 100 (belum memenuhi)",
        "1 of 3 child unit(s) have no responses and are left out of the mean",
        "only 2 responses: too few for a reliable IKM",
    )


def test_mean_of_children_element_mean_over_children_that_answered_it() -> None:
    result = mean_of_children([_child([(4, None)]), _child([(2, 3)])])
    assert [e.nrr for e in result.elements] == [Fraction(3), Fraction(3)]
    assert [e.n for e in result.elements] == [2, 1]
    assert result.nik == 75


def test_mean_of_children_element_nobody_answered_gives_no_ikm() -> None:
    result = mean_of_children([_child([(4, None)]), _child([(2, None)])])
    assert (result.nik, result.mutu, result.elements[1].nrr) == (None, None, None)
    assert result.warnings == ("no answers for element(s) b: the IKM is undefined",)


def test_mean_of_children_none_with_responses() -> None:
    result = mean_of_children([compute(Tally(codes=AB, table="2004"))])
    assert (result.n, result.nik, result.method.table) == (0, None, "2004")
    assert result.warnings == (
        "1 of 1 child unit(s) have no responses and are left out of the mean",
        "no responses",
    )


def test_mean_of_children_follows_the_method_path() -> None:
    method = Method(weight="0.111", round_nrr=3, round_weighted=4, round_total=3)
    children = [
        _child(_sekadau_rows()[:20], method=method),
        _child(_sekadau_rows()[20:], method=method),
        _child([(4, 3, 3, 4, 3, 3, 4, 3, 4)], method=method),
    ]
    result = mean_of_children(children, method)
    for i, element in enumerate(result.elements):
        nrrs = [c.elements[i].nrr for c in children]
        nrr = round_half_up(sum((x for x in nrrs if x is not None), Fraction(0)) / 3, 3)
        assert element.nrr == nrr
        assert element.weighted == round_half_up(nrr * Fraction("0.111"), 4)
    weighted = [e.weighted for e in result.elements if e.weighted is not None]
    assert result.ikm == round_half_up(sum(weighted, Fraction(0)), 3)
    assert result.nik == result.ikm * 25
    assert result.method == dataclasses.replace(method, table="2017")


def test_mean_of_children_mismatched_weight_warns() -> None:
    result = mean_of_children([_child([(4, 4)], method=Method(weight="0.11"))], Method("0.11"))
    assert result.warnings[0] == "weight 0.11 does not fit 2 elements (1/2 expected)"


def test_mean_of_children_joins_coverage_in_code_order() -> None:
    empty = dataclasses.replace(compute(Tally(codes=AB)), coverage=Coverage(("opd-c",), 0))
    children = [_child([(4, 4)], "opd-b"), empty, _child([(3, 3)], "opd-a")]
    coverage = mean_of_children(children).coverage
    assert coverage == Coverage(("opd-a", "opd-a-upt", "opd-b", "opd-b-upt", "opd-c"), 2)
    assert mean_of_children([children[0], _child([(1, 1)])]).coverage is None


@pytest.mark.parametrize(
    ("children", "message"),
    [
        ([], "no child results to average"),
        ([compute(Tally.of(AB, [(4, 4)])), compute(Tally.of(("a", "c"), [(4, 4)]))], "element"),
        (
            [compute(Tally.of(AB, [(4, 4)])), compute(Tally.of(AB, [(4, 4)], table="2004"))],
            "different interval tables",
        ),
    ],
)
def test_mean_of_children_invalid_raises(children: list[IkmResult], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mean_of_children(children)


def test_mean_of_children_named_table_grades_mixed_children() -> None:
    children = [compute(Tally.of(AB, [(3, 3)])), compute(Tally.of(AB, [(3, 3)], table="2004"))]
    result = mean_of_children(children, Method(table="2004"))
    assert (result.nik_rounded, result.mutu) == (Decimal("75.00"), "B")


def test_pooled_aggregate_is_the_default() -> None:
    assert _sekadau().aggregate == POOLED == Aggregate()


# --- properties --------------------------------------------------------------------------------

answer = st.sampled_from([1, 2, 3, 4, None])
rows_strategy = st.lists(st.tuples(*[answer] * 9), min_size=1, max_size=60)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, database=None)


@PROPERTY_SETTINGS
@given(rows=rows_strategy)
def test_property_nik_within_25_and_100(rows: list[Row]) -> None:
    result = compute(Tally.of(NINE, rows))
    if result.nik is not None:
        assert 25 <= result.nik <= 100
        assert result.nik_rounded is not None
        assert Decimal("25.00") <= result.nik_rounded <= Decimal("100.00")
    if result.ci is not None:
        assert Decimal("25.00") <= result.ci.low <= result.ci.high <= Decimal("100.00")


@PROPERTY_SETTINGS
@given(rows=rows_strategy, data=st.data())
def test_property_row_order_does_not_matter(rows: list[Row], data: st.DataObject) -> None:
    expected = compute(Tally.of(NINE, rows))
    shuffled = data.draw(st.permutations(rows))
    assert compute(Tally.of(NINE, shuffled)) == expected
    assert compute(Tally.of(NINE, list(reversed(rows)))) == expected


@PROPERTY_SETTINGS
@given(rows=rows_strategy, data=st.data())
def test_property_split_tallies_add_to_whole(rows: list[Row], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(rows)))
    whole = Tally.of(NINE, rows)
    pooled = Tally.of(NINE, rows[:index]) + Tally.of(NINE, rows[index:])
    assert pooled == whole
    assert compute(pooled) == compute(whole)


@PROPERTY_SETTINGS
@given(count=st.integers(min_value=1, max_value=500))
def test_property_all_fours_exactly_100(count: int) -> None:
    result = compute(Tally.of(NINE, [(4,) * 9] * count))
    assert result.nik == 100
    assert result.nik_rounded == Decimal("100.00")


@PROPERTY_SETTINGS
@given(rows=rows_strategy)
def test_property_nik_is_25_times_mean_of_element_means(rows: list[Row]) -> None:
    result = compute(Tally.of(NINE, rows))
    means: list[Fraction] = []
    for i in range(9):
        answers = [row[i] for row in rows if row[i] is not None]
        if answers:
            means.append(Fraction(sum(a for a in answers if a is not None), len(answers)))
    if len(means) < 9:
        assert result.nik is None
        return
    assert result.nik == 25 * sum(means, Fraction(0)) / 9


methods = st.sampled_from(
    [
        DEFAULT_METHOD,
        Method(weight="0.111"),
        Method(weight="0.11", round_nrr=2),
        Method(weight="0.111", round_nrr=3, round_weighted=3, round_total=2),
    ]
)
children_strategy = st.lists(rows_strategy, min_size=1, max_size=6)


@PROPERTY_SETTINGS
@given(rows=rows_strategy, count=st.integers(min_value=1, max_value=5), method=methods)
def test_property_mean_of_identical_children_is_the_child(
    rows: list[Row], count: int, method: Method
) -> None:
    child = compute(Tally.of(NINE, rows), method)
    mean = mean_of_children([child] * count, method)
    assert [e.nrr for e in mean.elements] == [e.nrr for e in child.elements]
    assert [e.weighted for e in mean.elements] == [e.weighted for e in child.elements]
    assert (mean.ikm, mean.nik, mean.nik_rounded, mean.mutu) == (
        child.ikm,
        child.nik,
        child.nik_rounded,
        child.mutu,
    )
    assert mean.n == count * child.n


@PROPERTY_SETTINGS
@given(children=children_strategy, method=methods)
def test_property_mean_of_children_within_25_and_100(
    children: list[list[Row]], method: Method
) -> None:
    mean = mean_of_children([compute(Tally.of(NINE, rows), method) for rows in children], method)
    if mean.nik is not None:
        assert 25 <= mean.nik <= 100
        assert mean.nik_rounded is not None
        assert Decimal("25.00") <= mean.nik_rounded <= Decimal("100.00")


@PROPERTY_SETTINGS
@given(children=children_strategy, method=methods, data=st.data())
def test_property_mean_of_children_ignores_their_order(
    children: list[list[Row]], method: Method, data: st.DataObject
) -> None:
    results = [
        dataclasses.replace(compute(Tally.of(NINE, rows), method), coverage=Coverage((f"u{i}",), 1))
        for i, rows in enumerate(children)
    ]
    shuffled = data.draw(st.permutations(results))
    assert mean_of_children(shuffled, method) == mean_of_children(results, method)


complete_rows = st.lists(
    st.tuples(*[st.integers(min_value=1, max_value=4)] * 9), min_size=1, max_size=30
)


@PROPERTY_SETTINGS
@given(children=st.lists(complete_rows, min_size=1, max_size=6))
def test_property_exact_mean_nik_is_the_mean_of_child_niks(children: list[list[Row]]) -> None:
    results = [compute(Tally.of(NINE, rows)) for rows in children]
    niks = [r.nik for r in results if r.nik is not None]
    assert mean_of_children(results).nik == sum(niks, Fraction(0)) / len(results)

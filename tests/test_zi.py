"""The Zona Integritas ladders (LKE items a, b, c) and the follow-up arithmetic behind item c,
on hand-made cases, with properties over any number of weak and completed elements."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core import followup, zi
from app.core.ikm import ElementResult


@pytest.mark.parametrize(
    ("held", "value"),
    [(0, "0"), (1, "0.25"), (2, "0.50"), (3, "0.75"), (4, "1.00"), (5, "1.00"), (12, "1.00")],
)
def test_survey_value_follows_the_ladder(held: int, value: str) -> None:
    assert zi.survey_value(held) == Decimal(value)


def test_survey_value_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="negative"):
        zi.survey_value(-1)


@pytest.mark.parametrize(
    ("online", "offline", "value"),
    [(True, True, "1.00"), (False, True, "0.50"), (True, False, "0.50"), (False, False, "0")],
)
def test_publication_value_online_and_offline(online: bool, offline: bool, value: str) -> None:
    assert zi.publication_value(online=online, offline=offline) == Decimal(value)


WEAK = ("waktu", "pengaduan", "sarana")


@pytest.mark.parametrize(
    ("completed", "level", "value"),
    [
        ([["waktu"], ["pengaduan"], ["sarana"]], "all", "1.00"),
        ([["waktu", "pengaduan"]], "most", "0.67"),
        ([["sarana"]], "few", "0.33"),
        ([], "none", "0"),
        ([["biaya"]], "none", "0"),  # an action on a strong element covers nothing here
    ],
)
def test_followup_coverage_all_most_few_none(
    completed: list[list[str]], level: str, value: str
) -> None:
    coverage = followup.followup_coverage(WEAK, completed)
    assert coverage.level == level
    assert coverage.value == Decimal(value)


def test_half_covered_is_a_few_not_most() -> None:
    coverage = followup.followup_coverage(("a", "b", "c", "d"), [["a"], ["b"]])
    assert (coverage.share, coverage.level, coverage.value) == (
        Fraction(1, 2),
        "few",
        Decimal("0.33"),
    )


def test_no_weak_elements_is_no_follow_up() -> None:
    coverage = followup.followup_coverage((), [["waktu"]])
    assert (coverage.share, coverage.level, coverage.value) == (None, "none", Decimal("0"))


@given(
    weak=st.integers(min_value=1, max_value=14),
    done=st.integers(min_value=0, max_value=14),
)
def test_coverage_value_grows_with_completed_elements(weak: int, done: int) -> None:
    codes = tuple(f"u{i}" for i in range(weak))
    more = min(done, weak)
    value = followup.followup_coverage(codes, [[c] for c in codes[:more]]).value
    if more < weak:
        assert followup.followup_coverage(codes, [[c] for c in codes[: more + 1]]).value >= value
    assert (value == Decimal("1.00")) == (more == weak)
    assert (value == 0) == (more == 0)


def _element(code: str, nrr: Fraction | None, mutu: str | None) -> ElementResult:
    return ElementResult(code, 10, 30, nrr, None, None, mutu)


def test_weak_elements_are_those_graded_c_or_d_in_form_order() -> None:
    elements = [
        _element("persyaratan", Fraction(33, 10), "B"),
        _element("waktu", Fraction(25, 10), "C"),
        _element("biaya", Fraction(39, 10), "A"),
        _element("sarana", Fraction(18, 10), "D"),
    ]
    assert followup.weak_elements(elements) == ("waktu", "sarana")


def test_without_c_or_d_the_three_lowest_are_weak_ties_in_form_order() -> None:
    elements = [
        _element("a", Fraction(33, 10), "B"),
        _element("b", Fraction(31, 10), "B"),
        _element("c", Fraction(39, 10), "A"),
        _element("d", Fraction(31, 10), "B"),
        _element("e", Fraction(31, 10), "B"),
        _element("f", None, None),  # no answers: not judged
    ]
    assert followup.weak_elements(elements) == ("b", "d", "e")


def test_keywords_for_known_elements_and_from_other_names() -> None:
    assert "antre" in followup.keywords("waktu", "Waktu Penyelesaian")
    assert followup.keywords("kedisiplinan_petugas", "Kedisiplinan petugas") == ("kedisiplinan",)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Antrean terlalu panjang", True),
        ("Mohon ruang tunggu diberi kipas", True),
        ("Petugas sangat membantu", False),
        ("wcnya bersih", True),
        ("lawc", False),  # inside a word: not a mention
    ],
)
def test_mentions_match_at_a_word_start(text: str, found: bool) -> None:
    words = followup.KEYWORDS["waktu"] + followup.KEYWORDS["sarana"]
    assert followup.mentions(text, words) is found


def test_lke_score_reads_its_three_items_and_their_mean() -> None:
    score = zi.LkeScore(
        periods_held=3,
        periods_expected=4,
        online=True,
        offline=False,
        followup=followup.followup_coverage(WEAK, [["waktu"], ["pengaduan"]]),
    )
    assert (score.a, score.b, score.c) == (Decimal("0.75"), Decimal("0.50"), Decimal("0.67"))
    assert score.mean == Decimal("0.64")  # (0.75 + 0.50 + 0.67) / 3 = 0.6400

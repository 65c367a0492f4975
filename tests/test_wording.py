"""Tests of app.reports.wording: the method, aggregation, grade bands and NIP in Indonesian."""

import itertools
import re

import pytest

from app.core import ikm
from app.reports.wording import (
    aggregate_text,
    default_foreword,
    differing_methods,
    grade_bands,
    method_text,
    nip_text,
    number,
)

P17 = "tabel interval PermenPAN-RB 14/2017"
P04 = "tabel interval KepmenPAN 25/2004"
ENGLISH = re.compile(r"weight|exact|interval table|rounded|pooled|mean of|dp\b|of the form")


@pytest.mark.parametrize(
    ("method", "k", "text"),
    [
        (ikm.Method(table="2017"), 9, f"bobot 1/9 tanpa pembulatan; {P17}"),
        (ikm.Method(weight="0.111", table="2017"), 9, f"bobot 0,111; {P17}"),
        (ikm.Method(weight="0.11", table="2017"), 9, f"bobot 0,11; {P17}"),
        (ikm.Method(weight="0.071", table="2004"), 14, f"bobot 0,071; {P04}"),
        (ikm.Method(table="2004"), 14, f"bobot 1/14 tanpa pembulatan; {P04}"),
        (
            ikm.Method(weight="0.111", round_nrr=3, round_weighted=3, round_total=2, table="2017"),
            9,
            "bobot 0,111; NRR per unsur dibulatkan 3 desimal; NRR tertimbang per unsur "
            "dibulatkan 3 desimal; jumlah NRR tertimbang dibulatkan 2 desimal; tabel interval "
            "PermenPAN-RB 14/2017",
        ),
        (ikm.Method(), 9, "bobot 1/9 tanpa pembulatan; tabel interval sesuai kuesioner"),
    ],
)
def test_method_text_says_the_method_in_indonesian(method: ikm.Method, k: int, text: str) -> None:
    assert method_text(method, k) == text


def test_no_method_text_holds_an_english_word() -> None:
    for weight, nrr, weighted, total, table in itertools.product(
        ikm.WEIGHT_CHOICES, (None, 2), (None, 3), (None, 4), (None, "2017", "2004")
    ):
        method = ikm.Method(weight, nrr, weighted, total, table)  # type: ignore[arg-type]
        text = method_text(method, 9)
        assert not ENGLISH.search(text), (method, text)
        assert "." not in text.replace("14/2017", "")  # decimal commas only


def test_aggregate_text_names_pooled_and_the_mean_of_units() -> None:
    assert aggregate_text(ikm.POOLED).startswith("gabungan seluruh responden")
    mean = ikm.Aggregate("mean_of_children", children=2, of=3)
    assert aggregate_text(mean) == (
        "rerata unit: rata-rata nilai 2 unit di bawahnya (setiap unit berbobot sama); 1 unit "
        "tanpa responden tidak diikutkan"
    )
    assert not ENGLISH.search(aggregate_text(mean) + aggregate_text(ikm.POOLED))


def test_grade_bands_follow_the_regulations_tables() -> None:
    assert grade_bands("2017") == (
        ("A", "88,31 \u2013 100,00", "Sangat baik"),
        ("B", "76,61 \u2013 88,30", "Baik"),
        ("C", "65,00 \u2013 76,60", "Kurang baik"),
        ("D", "25,00 \u2013 64,99", "Tidak baik"),
    )
    assert [span for _, span, _ in grade_bands("2004")] == [
        "81,26 \u2013 100,00",
        "62,51 \u2013 81,25",
        "43,76 \u2013 62,50",
        "25,00 \u2013 43,75",
    ]


def test_differing_methods_notes_only_rows_computed_otherwise() -> None:
    main = ikm.Method(table="2017")
    assert differing_methods(main, [("Tahun 2025", main)], 9) is None
    note = differing_methods(
        main, [("Tahun 2025", ikm.Method(table="2004")), ("Tahun 2026", main)], 9
    )
    assert note == (
        "Catatan: berbeda dari metode pada BAB II: Tahun 2025: bobot 1/9 tanpa pembulatan; "
        "tabel interval KepmenPAN 25/2004."
    )


def test_number_nip_and_foreword() -> None:
    assert (number(78.745), number(None), number("3.14966", 3)) == ("78,75", "-", "3,150")
    assert nip_text("198001012005011001") == "19800101 200501 1 001"
    foreword = default_foreword(
        unit="Dinas X", period="Semester I Tahun 2026", regulation="Peraturan Y"
    )
    assert (
        "Laporan Hasil Survei Kepuasan Masyarakat (SKM) Dinas X Semester I Tahun 2026" in foreword
    )
    assert "berdasarkan Peraturan Y" in foreword and foreword.count("\n\n") == 2

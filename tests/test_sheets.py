"""Reading response sheets (app.core.sheets): U columns by position, in the form's order or
one given, and messages that name the column as the sheet writes it."""

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import REPO_ROOT
from app.core.forms import Form, load_form_file
from app.core.sheets import (
    HEADER_SCAN,
    SheetError,
    check_order,
    find_header,
    open_sheet,
    read_sheet,
)
from tests.factories import CODES

FORM = REPO_ROOT / "survey_forms" / "permenpan-rb-14-2017.yaml"
SWAPPED = (*CODES[:7], "sarana", "pengaduan")


@pytest.fixture(scope="module")
def form() -> Form:
    return load_form_file(FORM)


def _sheet(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheet.csv"
    path.write_text(text)
    return path


def test_u_columns_follow_the_forms_order_by_default(form: Form, tmp_path: Path) -> None:
    path = _sheet(tmp_path, "U1,U2,U3,U4,U5,U6,U7,U8,U9\n1,2,3,4,1,2,3,1,4\n")
    sheet = read_sheet(path, form)
    assert sheet.positional == CODES
    assert sheet.rows[0].answers == (1, 2, 3, 4, 1, 2, 3, 1, 4)


def test_u_columns_follow_a_given_order(form: Form, tmp_path: Path) -> None:
    path = _sheet(tmp_path, "U1,U2,U3,U4,U5,U6,U7,U8,U9\n1,2,3,4,1,2,3,1,4\n")
    sheet = read_sheet(path, form, order=SWAPPED)
    assert sheet.positional == SWAPPED
    # Answers are always in the form's order: U8 (sarana) = 1 lands last.
    assert sheet.rows[0].answers == (1, 2, 3, 4, 1, 2, 3, 4, 1)


def test_named_elements_need_no_order(form: Form, tmp_path: Path) -> None:
    path = _sheet(tmp_path, ",".join(SWAPPED) + "\n" + "1,2,3,4,1,2,3,1,4\n")
    sheet = read_sheet(path, form)
    assert (sheet.positional, sheet.rows[0].answers[-2:]) == (None, (4, 1))


@pytest.mark.parametrize(
    ("order", "problem"),
    [
        ((*CODES[:8], "maklumat"), "'maklumat' is not an element of form permenpan-rb-14-2017"),
        ((*CODES[:8], "waktu"), "'waktu' is given more than once; sarana missing"),
        (CODES[:8], "sarana missing"),
    ],
)
def test_check_order_wants_each_element_once(
    form: Form, order: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=f"^{problem}") as refused:
        check_order(order, form)
    assert str(refused.value).endswith(
        f"give each of the 9 elements of form permenpan-rb-14-2017 once, in the order of the "
        f"U columns ({', '.join(CODES)})"
    )
    with pytest.raises(SheetError, match="column order: "):
        read_sheet(Path("unread.csv"), form, order=order)


def test_problems_name_the_column_as_written(form: Form, tmp_path: Path) -> None:
    header = "U1,Prosedur,U3,U4,U5,U6,U7,U8,U9,Usia,Pendidikan,Tgl\n"
    path = _sheet(tmp_path, header + "x,4,4,4,4,4,4,4,4,7,SMK,31/02/2026\n")
    with pytest.raises(SheetError) as refused:
        read_sheet(path, form)
    assert refused.value.problems == [
        "line 2: U1 (persyaratan) 'x' is not an answer 1..4 (or a..d)",
        "line 2: Usia 7 is outside 10..110",
        "line 2: Pendidikan 'SMK' is not one of SD, SMP, SMA, D3, S1, S2, S3",
        "line 2: Tgl '31/02/2026' is not a date (YYYY-MM-DD or DD/MM/YYYY)",
    ]


# --- published processing sheets: a title block above the header, totals below the rows ---

PUBLISHED = (
    "PENGOLAHAN DATA SURVEI KEPUASAN MASYARAKAT,,,,,,,,,\n"
    "Unit pelayanan: Dinas Sosial Kota Kendari,,,,,,,,,\n"
    ",,,,,,,,,\n"
    "No,U 1,U 2,U 3,U 4,U 5,U 6,U 7,U 8,U 9\n"
    "1,4,3,3,4,3,3,4,3,4\n"
    "2,3,3,,4,3,3,4,3,4\n"
    ",,,,,,,,,\n"
    "3,2,2,3,3,3,3,3,3,2\n"
    "4,,,,,,,,,\n"  # a numbered row left empty
    "Jumlah,9,8,6,11,9,9,11,9,10\n"
    'NRR,"3,000","2,667","3,000","3,667",3,3,"3,667",3,"3,333"\n'
    ",,,,,,,,,\n"
    'IKM unit pelayanan,"78,74",,,,,,,,\n'
)


def test_a_published_sheet_is_read_between_its_title_block_and_its_totals(
    form: Form, tmp_path: Path
) -> None:
    reader = open_sheet(_sheet(tmp_path, PUBLISHED), form)
    sheet = reader.read()
    assert [(row.line, row.answers) for row in sheet.rows] == [
        (5, (4, 3, 3, 4, 3, 3, 4, 3, 4)),
        (6, (3, 3, None, 4, 3, 3, 4, 3, 4)),
        (8, (2, 2, 3, 3, 3, 3, 3, 3, 2)),
    ]
    assert sheet.positional == CODES
    assert (
        sheet.notices
        == reader.notices
        == [
            "header found on line 4; lines 1-3 above it skipped",
            "respondent rows end at line 10 ('Jumlah'): lines 10-13 are totals or notes, not "
            "respondents, and were not read",
        ]
    )


def test_a_bad_answer_among_the_respondents_is_still_an_error(form: Form, tmp_path: Path) -> None:
    text = PUBLISHED.replace("2,3,3,,4,", "2,3,3,5,4,").replace("3,2,2,3,3,", "3,2,2,3,310,")
    with pytest.raises(SheetError) as refused:
        read_sheet(_sheet(tmp_path, text), form)
    assert refused.value.problems == [
        "line 6: U 3 (waktu) '5' is not an answer 1..4 (or a..d)",
        "line 8: U 4 (biaya) '310' is not an answer 1..4 (or a..d)",
    ]


def test_totals_without_a_label_are_not_taken_for_granted(form: Form, tmp_path: Path) -> None:
    # A sums row with no label in the No column could be a mistyped respondent: say so.
    text = PUBLISHED.replace("Jumlah,9,", ",9,")
    with pytest.raises(SheetError) as refused:
        read_sheet(_sheet(tmp_path, text), form)
    assert (
        refused.value.problems[0]
        == "line 10: U 1 (persyaratan) '9' is not an answer 1..4 (or a..d)"
    )


@pytest.mark.parametrize(
    "label",
    ["Σ nilai/unsur", "∑", "JUMLAH NILAI", "Total", "NRR/unsur", "Rata-rata", "Keterangan:"],
)
def test_any_total_label_ends_the_respondent_rows(form: Form, tmp_path: Path, label: str) -> None:
    # After the label nothing is read, not even a row that would pass as a respondent.
    text = f"No,{','.join(CODES)}\n1,{'4,' * 8}4\n{label},4,4,4,4,4,4,4,4,4\n2,{'1,' * 8}1\n"
    reader = open_sheet(_sheet(tmp_path, text), form)
    assert [row.answers for row in reader.read().rows] == [(4,) * 9]
    assert reader.notices == [
        f"respondent rows end at line 3 ({label!r}): lines 3-4 are totals or notes, not "
        "respondents, and were not read"
    ]


def test_a_label_in_a_column_that_is_read_is_an_answer_or_a_saran(
    form: Form, tmp_path: Path
) -> None:
    text = f"No,{','.join(CODES)},saran\n1,{'4,' * 9}Total pelayanan baik\n,{',' * 9}Nilai rendah\n"
    rows = read_sheet(_sheet(tmp_path, text), form).rows
    assert [(row.line, row.suggestion) for row in rows] == [
        (2, "Total pelayanan baik"),
        (3, "Nilai rendah"),
    ]


@pytest.mark.parametrize(
    "header",
    [
        ",".join(f"U{i}" for i in range(1, 10)),
        ",".join(f"U {i}" for i in range(1, 10)),
        ",".join(f"u-0{i}" for i in range(1, 10)),
        ",".join(f"Unsur {i}" for i in range(1, 10)),
        ",".join(f"UNSUR{i}" for i in range(1, 10)),
        ",".join(code.upper() for code in CODES),
    ],
)
def test_element_columns_are_found_however_they_are_spelled(
    form: Form, tmp_path: Path, header: str
) -> None:
    text = f"Rekapitulasi SKM 2026\n\nNo. Resp,{header},Jenis Kelamin\n1,1,2,3,4,1,2,3,4,1,P\n"
    reader = open_sheet(_sheet(tmp_path, text), form)
    (row,) = reader.read().rows
    assert (reader.header_line, row.line, row.answers) == (3, 4, (1, 2, 3, 4, 1, 2, 3, 4, 1))
    assert row.profile == {"sex": "P"}


def test_a_header_names_at_least_half_the_elements(form: Form, tmp_path: Path) -> None:
    # A legend row naming four U columns is no header; nor is anything past HEADER_SCAN rows.
    legend = "Keterangan,U1,U2,U3,U4\n"
    text = legend + "\n" * HEADER_SCAN + f"{','.join(CODES)}\n{'4,' * 8}4\n"
    with pytest.raises(SheetError) as refused:
        read_sheet(_sheet(tmp_path, text), form, strict=False)
    assert refused.value.problems == [
        "line 1: no column for element(s) produk, kompetensi, perilaku, pengaduan, sarana "
        "(expected U1..U9 or the element codes of form permenpan-rb-14-2017)"
    ]


def test_the_header_search_reads_at_most_header_scan_rows() -> None:
    pulled = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal pulled
        while True:
            pulled += 1
            yield ["judul"]

    assert find_header(rows(), {"u1": "persyaratan"}) == (1, ["judul"])
    assert pulled == HEADER_SCAN


def test_the_sheet_of_a_mean_of_child_units_is_refused(form: Form, tmp_path: Path) -> None:
    text = "No. unit,U1,U2,U3,U4,U5,U6,U7,U8,U9\n1,3.1,3,3,3,3,3,3,3,3\n"
    with pytest.raises(SheetError) as refused:
        read_sheet(_sheet(tmp_path, text), form)
    assert refused.value.problems == [
        "line 1: column 'No. unit': this is the processing sheet of a mean of child units, "
        "whose rows are the units' NRR, not respondents' answers; compute it from the units' "
        "own sheets or stored responses"
    ]


ANSWER = st.one_of(st.none(), st.integers(1, 4))
TITLE = st.text(alphabet="ABCDEFGHIJ klmnop:.", max_size=30).filter(lambda t: t.strip() != "")


@settings(max_examples=60, deadline=None)
@given(
    title=st.lists(TITLE, max_size=8),
    rows=st.lists(st.tuples(*[ANSWER] * 9).filter(lambda a: a != (None,) * 9), min_size=1),
    label=st.sampled_from(["Σ nilai/unsur", "Jumlah", "NRR tertimbang", "IKM", "Nilai IKM"]),
    after=st.lists(st.tuples(*[st.integers(0, 400)] * 9), max_size=5),
)
def test_the_respondent_rows_are_exactly_those_between_header_and_totals(
    form: Form,
    tmp_path_factory: pytest.TempPathFactory,
    title: list[str],
    rows: list[tuple[int | None, ...]],
    label: str,
    after: list[tuple[int, ...]],
) -> None:
    def line(first: object, values: Sequence[object]) -> str:
        return ",".join("" if v is None else str(v) for v in (first, *values)) + "\n"

    text = "".join(line(t, ()) for t in title) + line("No. resp", [f"U{i}" for i in range(1, 10)])
    text += "".join(line(i, answers) for i, answers in enumerate(rows, start=1))
    text += line(label, after[0] if after else ()) + "".join(line("", a) for a in after[1:])
    reader = open_sheet(_sheet(tmp_path_factory.mktemp("sheet"), text), form)
    sheet = reader.read()
    assert [row.answers for row in sheet.rows] == rows
    assert reader.header_line == len(title) + 1
    assert reader.footer is not None and reader.footer.line == len(title) + len(rows) + 2

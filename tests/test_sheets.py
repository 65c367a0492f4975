"""Reading response sheets (app.core.sheets): U columns by position, in the form's order or
one given, and messages that name the column as the sheet writes it."""

from pathlib import Path

import pytest

from app.config import REPO_ROOT
from app.core.forms import Form, load_form_file
from app.core.sheets import SheetError, check_order, read_sheet
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

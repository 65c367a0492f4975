import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import xlsxwriter
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, col, func, select
from typer.testing import Result

from app.cli import cli, main
from app.cli.common import RowRate
from app.config import REPO_ROOT, Settings, get_settings
from app.core import sheets
from app.db import Database, create_db_engine, upgrade_schema
from app.models import (
    CounterCreate,
    Response,
    ServiceCreate,
    Unit,
    UnitUpdate,
    response_rollup,
)
from app.services import apikeys, intake, org
from tests.conftest import Cli, fresh_database
from tests.factories import CODES, make_unit, response
from tests.served import Server, free_port

# A copy of ../shared/domain/sekadau-2019-s1-49.csv, so the suite runs in a lone clone.
SEKADAU = REPO_ROOT / "tests" / "data" / "sekadau-2019-s1-49.csv"
HEADER = "no,U1,U2,U3,U4,U5,U6,U7,U8,U9,jenis_kelamin,usia,tanggal,saran\n"


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Response)).one()


REGULATION_ORDER = ",".join(CODES)  # U8 = pengaduan, U9 = sarana
SWAPPED = ",".join([*CODES[:7], "sarana", "pengaduan"])
NOTICE = (
    "notice: columns U1..U9 read as U1=persyaratan, U2=prosedur, U3=waktu, U4=biaya, "
    "U5=produk, U6=kompetensi, U7=perilaku, U8=pengaduan, U9=sarana (the regulation's order, "
    "form permenpan-rb-14-2017); if your sheet has U8 = sarana, pass --columns "
    f"{SWAPPED}\n"
)


def _invoke(run_cli: Cli, *args: str) -> Result:
    """stdout and stderr apart: a notice on stderr leaves --json output parseable."""
    return run_cli.runner.invoke(cli, list(args), obj=run_cli.database)


@pytest.mark.parametrize(("weight", "nik"), [("exact", 78.74), ("0.111", 78.66), ("0.11", 77.95)])
def test_compute_sekadau_reproduces_published_figures(
    run_cli: Cli, weight: str, nik: float
) -> None:
    done = _invoke(run_cli, "compute", str(SEKADAU), "--weight", weight, "--json")
    assert done.exit_code == 0, done.output
    assert done.stderr == NOTICE
    result = json.loads(done.stdout)
    assert result["nik_rounded"] == nik
    assert (result["mutu"], result["kinerja"], result["n"]) == ("B", "Baik", 49)
    assert [e["sum"] for e in result["elements"]] == [138, 139, 150, 177, 159, 163, 161, 143, 159]
    assert {"ikm", "nik", "method"} <= result.keys()
    assert set(result["elements"][0]) >= {"code", "n", "sum", "nrr", "weighted"}


def test_compute_text_output_shows_nik_and_grade(run_cli: Cli) -> None:
    code, output = run_cli("compute", str(SEKADAU))
    assert code == 0
    assert "NIK = 78.74" in output
    assert "mutu B (Baik)" in output
    assert "method: weight exact 1/k, interval table 2017" in output


def test_compute_all_fours_is_exactly_100(run_cli: Cli, tmp_path: Path) -> None:
    sheet = tmp_path / "perfect.csv"
    sheet.write_text("U1,U2,U3,U4,U5,U6,U7,U8,U9\n" + "4,4,4,4,4,4,4,4,4\n" * 7)
    code, output = run_cli("compute", str(sheet))
    assert code == 0
    assert "NIK = 100.00" in output
    assert "mutu A (Sangat baik)" in output


def test_compute_bad_weight_exits_nonzero(run_cli: Cli) -> None:
    code, output = run_cli("compute", str(SEKADAU), "--weight", "0.5")
    assert code == 1
    assert "--weight must be one of exact, 0.111, 0.11, 0.071" in output


@pytest.mark.parametrize(
    ("n", "expected"), [(100, "80"), (500, "217"), (1000, "278"), (10000, "370"), (1000000, "384")]
)
def test_sample_size_matches_regulation_table(run_cli: Cli, n: int, expected: str) -> None:
    assert run_cli("sample-size", str(n)) == (0, expected + "\n")


def test_sample_size_zero_exits_nonzero(run_cli: Cli) -> None:
    code, output = run_cli("sample-size", "0")
    assert code == 1
    assert "population must be at least 1" in output


def test_import_then_reimport_is_a_noop(run_cli: Cli, session: Session, tmp_path: Path) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "paper.csv"
    sheet.write_text(
        HEADER
        + "1,4,3,3,4,3,3,4,3,4,L,34,2026-02-03,Antrean terlalu lama\n"
        + "2,3,3,,4,3,3,4,3,4,P,,03/02/2026,\n"
    )
    before = _count(session)
    assert run_cli("import", str(sheet), "--unit", unit.code)[0] == 0
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert code == 0
    assert "imported 0 response(s)" in output and "2 already imported" in output
    assert _count(session) == before + 2
    code, output = run_cli("ikm", "--unit", unit.code, "--period", "2026-Q1", "--json")
    assert code == 0, output
    result = json.loads(output)
    assert result["n"] == 2
    assert result["elements"][2]["n"] == 1  # the blank stays blank, never scored 0


def test_the_same_file_imports_into_two_units(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    first, second = make_unit(session), make_unit(session)
    sheet = tmp_path / "paper.csv"
    sheet.write_text(HEADER + "1,4,3,3,4,3,3,4,3,4,L,34,2026-02-03,\n")
    for unit in (first, second):
        code, output = run_cli("import", str(sheet), "--unit", unit.code)
        assert code == 0, output
        assert f"imported 1 response(s) into {unit.code}; 0 already imported" in output
    for unit in (first, second):
        code, output = run_cli("ikm", "--unit", unit.code, "--period", "2026", "--json")
        assert json.loads(output)["n"] == 1


def test_2004_form_data_is_graded_with_the_2004_table(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    # 14 elements, NIK 64.00: B under KepmenPAN 25/2004 (62,51-81,25), D under the 2017 table.
    unit = make_unit(session)
    sheet = tmp_path / "2004.csv"
    sheet.write_text(
        ",".join(f"U{i}" for i in range(1, 15))
        + "\n"
        + (",".join("3" * 14) + "\n") * 14
        + (",".join("2" * 14) + "\n") * 11
    )
    code, output = run_cli(
        "import", str(sheet), "--unit", unit.code, "--form", "kepmenpan-25-2004",
        "--date", "2010-03-01",
    )  # fmt: skip
    assert code == 0, output
    code, output = run_cli("ikm", "--unit", unit.code, "--period", "2010", "--json")
    result = json.loads(output)
    assert (result["n"], result["nik_rounded"], result["mutu"]) == (25, 64.0, "B")
    assert result["method"]["table"] == "2004"
    code, output = run_cli(
        "ikm", "--unit", unit.code, "--period", "2010", "--table", "2017", "--json"
    )
    assert (json.loads(output)["mutu"], json.loads(output)["method"]["table"]) == ("D", "2017")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "5,3,3,4,3,3,4,3,4,L,34,2026-02-03,",
            "line 3: U1 (persyaratan) '5' is not an answer 1..4",
        ),
        ("4,3,3,4,3,3,4,3,4,L,tiga,2026-02-03,", "line 3: usia 'tiga' is not a whole number"),
        ("4,3,3,4,3,3,4,3,4,L,200,2026-02-03,", "line 3: usia 200 is outside 10..110"),
        ("4,3,3,4,3,3,4,3,4,X,34,2026-02-03,", "line 3: jenis_kelamin 'X' is not one of L, P"),
        ("4,3,3,4,3,3,4,3,4,L,34,kemarin,", "line 3: tanggal 'kemarin' is not a date"),
    ],
)
def test_import_bad_row_reports_line_and_writes_nothing(
    run_cli: Cli, session: Session, tmp_path: Path, row: str, message: str
) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "bad.csv"
    sheet.write_text(HEADER + "1,4,3,3,4,3,3,4,3,4,L,34,2026-02-03,\n" + f"2,{row}\n")
    before = _count(session)
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert code == 1
    assert message in output
    assert _count(session) == before


def test_import_error_names_the_column_as_the_sheet_writes_it(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "bad.csv"
    sheet.write_text("Persyaratan,U2,U3,U4,U5,U6,U7,U8,U9,Jenis Kelamin,JK\n")
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert code == 1
    assert "line 1: column 'JK' repeats column 'Jenis Kelamin'" in output
    sheet.write_text("Persyaratan,U2,U3,U4,U5,U6,U7,U8,U9,Jenis Kelamin\n9,4,4,4,4,4,4,4,4,W\n")
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert (code, output) == (
        1,
        f"error: {sheet}: 2 problem(s), nothing was read:\n"
        "  line 2: Persyaratan '9' is not an answer 1..4 (or a..d)\n"
        "  line 2: Jenis Kelamin 'W' is not one of L, P\n",
    )


def test_import_without_date_uses_the_units_local_day(
    run_cli: Cli, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 07:30 WITA on 1 July is still 30 June in UTC: the rows belong to semester II.
    monkeypatch.setattr("app.cli.data.utcnow", lambda: datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    unit = make_unit(session, tz="WITA")
    sheet = tmp_path / "undated.csv"
    sheet.write_text("U1,U2,U3,U4,U5,U6,U7,U8,U9\n4,4,4,4,4,4,4,4,4\n3,3,3,3,3,3,3,3,3\n")
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert (code, output) == (
        0,
        NOTICE + "2 row(s) without tanggal were dated 2026-07-01\n"
        f"imported 2 response(s) into {unit.code}; 0 already imported\n",
    )
    assert "Reading rows" not in output  # no progress label when stdout is not a terminal
    code, output = run_cli("ikm", "--unit", unit.code, "--period", "Semester II 2026", "--json")
    assert json.loads(output)["n"] == 2


def test_columns_reads_u8_as_sarana(run_cli: Cli) -> None:
    done = _invoke(run_cli, "compute", str(SEKADAU), "--columns", SWAPPED, "--json")
    assert done.exit_code == 0, done.output
    used = ", ".join(f"U{i}={c}" for i, c in enumerate(SWAPPED.split(","), start=1))
    assert done.stderr == f"notice: columns U1..U9 read as {used} (from --columns)\n"
    sums = {e["code"]: e["sum"] for e in json.loads(done.stdout)["elements"]}
    assert (sums["pengaduan"], sums["sarana"]) == (159, 143)  # 143, 159 in the regulation's order


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        (
            SWAPPED.replace("sarana", "fasilitas"),
            "'fasilitas' is not an element of form permenpan-rb-14-2017; sarana missing",
        ),
        (SWAPPED.replace("sarana", "waktu"), "'waktu' is given more than once; sarana missing"),
        (",".join(CODES[:8]), "sarana missing"),
    ],
)
def test_columns_must_name_each_element_once(run_cli: Cli, columns: str, problem: str) -> None:
    code, output = run_cli("compute", str(SEKADAU), "--columns", columns.upper())
    assert (code, output) == (
        1,
        f"error: --columns: {problem}: give each of the 9 elements of form "
        f"permenpan-rb-14-2017 once, in the order of the U columns ({', '.join(CODES)})\n",
    )


def test_columns_on_a_sheet_without_u_columns_is_refused(run_cli: Cli, tmp_path: Path) -> None:
    sheet = tmp_path / "codes.csv"
    sheet.write_text(REGULATION_ORDER + "\n" + "4,4,4,4,4,4,4,4,4\n")
    code, output = run_cli("compute", str(sheet))
    assert code == 0 and "notice" not in output  # elements named: nothing to guess
    code, output = run_cli("compute", str(sheet), "--columns", SWAPPED)
    assert (code, output) == (
        1,
        f"error: {sheet}: 1 problem(s), nothing was read:\n"
        "  line 1: a column order is given, but the sheet has no U1..U9 columns\n",
    )


def test_import_unknown_unit_exits_nonzero(run_cli: Cli, session: Session, tmp_path: Path) -> None:
    sheet = tmp_path / "ok.csv"
    sheet.write_text(HEADER + "1,4,3,3,4,3,3,4,3,4,L,34,2026-02-03,\n")
    before = _count(session)
    code, output = run_cli("import", str(sheet), "--unit", "no-such-unit")
    assert code == 1
    assert "unknown unit code 'no-such-unit'" in output
    assert _count(session) == before


def test_import_xlsx_with_element_codes_and_letters(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    codes = [
        "persyaratan",
        "prosedur",
        "waktu",
        "biaya",
        "produk",
        "kompetensi",
        "perilaku",
        "sarana",
        "pengaduan",
    ]
    sheet.append([*codes, "Tanggal"])
    sheet.append(["d", 4, 4, 4, 4, 4, 4, 1, 4, "2026-05-05"])
    path = tmp_path / "paper.xlsx"
    workbook.save(path)
    assert run_cli("import", str(path), "--unit", unit.code)[0] == 0
    code, output = run_cli("ikm", "--unit", unit.code, "--period", "2026-05", "--json")
    assert code == 0, output
    elements = {e["code"]: e["sum"] for e in json.loads(output)["elements"]}
    assert (elements["sarana"], elements["pengaduan"], elements["persyaratan"]) == (1, 4, 4)


def test_import_unknown_column_is_refused(run_cli: Cli, session: Session, tmp_path: Path) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "names.csv"
    sheet.write_text("U1,U2,U3,U4,U5,U6,U7,U8,U9,nama\n4,4,4,4,4,4,4,4,4,Budi\n")
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert code == 1
    assert "unknown column 'nama'" in output


def test_malformed_form_file_gives_clear_message(
    run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "permenpan-rb-14-2017.yaml").write_text("code: permenpan-rb-14-2017\ntitle: 3\n")
    monkeypatch.setenv("SKM_FORMS_DIR", str(forms))
    get_settings.cache_clear()
    try:
        code, output = run_cli("compute", str(SEKADAU))
    finally:
        get_settings.cache_clear()
    assert code == 1
    assert "permenpan-rb-14-2017.yaml: title: Input should be a valid dictionary" in output


def test_unit_add_and_list(run_cli: Cli) -> None:
    assert run_cli("unit", "add", "pemda-x", "Pemerintah Kabupaten X", "--tz", "WIT")[0] == 0
    code, output = run_cli("unit", "add", "opd-y", "Dinas Y", "--parent", "pemda-x")
    assert (code, output) == (0, "unit opd-y added (Dinas Y, WIT, as its parent pemda-x)\n")
    code, output = run_cli("unit", "add", "upt-z", "UPT Z", "--parent", "opd-y", "--tz", "WITA")
    assert (code, output) == (0, "unit upt-z added (UPT Z, WITA)\n")
    code, output = run_cli("unit", "list")
    tree = [
        "pemda-x  Pemerintah Kabupaten X  [WIT]",
        "  opd-y  Dinas Y  [WIT]",
        "    upt-z  UPT Z  [WITA]",
    ]
    assert "\n".join(tree) in output


def test_unit_add_at_the_top_needs_a_time_zone(run_cli: Cli) -> None:
    code, output = run_cli("unit", "add", "pemda-x", "Pemerintah Kabupaten X")
    assert (code, output) == (
        1,
        "error: --tz is required for a unit at the top of the tree: WIB, WITA or WIT\n",
    )


def test_unit_add_bad_time_zone_exits_nonzero(run_cli: Cli) -> None:
    code, output = run_cli("unit", "add", "z", "Z", "--tz", "UTC")
    assert code == 1
    assert "time zone must be WIB, WITA or WIT" in output


def test_unit_add_lowers_codes_and_explains_bad_ones(run_cli: Cli) -> None:
    code, output = run_cli("unit", "add", "DUKCAPIL-Kantor", "Dukcapil", "--tz", "WITA")
    assert (code, output) == (0, "unit dukcapil-kantor added (Dukcapil, WITA)\n")
    code, output = run_cli("unit", "add", "Kantor Baru!", "Kantor Baru", "--tz", "WITA")
    assert (code, output) == (
        1,
        "error: code: codes are 1 to 40 characters: lower-case letters, digits, '-' or '_', "
        "starting with a letter or digit\n",
    )


def test_counter_add_prints_survey_url(run_cli: Cli, session: Session) -> None:
    unit = make_unit(session)
    assert run_cli("service", "add", "ktp", "KTP-el", "--unit", unit.code)[0] == 0
    code, output = run_cli(
        "counter", "add", "loket-1", "Loket 1", "--unit", unit.code, "--service", "ktp"
    )
    assert code == 0
    assert "survey URL: http://127.0.0.1:8000/s/" in output
    code, output = run_cli("counter", "add", "loket-1", "Loket 1", "--unit", unit.code)
    assert code == 1
    assert "already has a counter 'loket-1'" in output


def test_ikm_with_population_and_bad_period(run_cli: Cli, session: Session) -> None:
    unit = make_unit(session)
    code, output = run_cli("population", "set", "1000", "--unit", unit.code, "--period", "2026")
    assert (code, "minimum sample 278" in output) == (0, True)
    code, output = run_cli("ikm", "--unit", unit.code, "--period", "2026-Q5")
    assert code == 1
    assert "invalid period '2026-Q5'" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["qr", "--format", "pdf"], "directory {tmp}/missing does not exist"),
        (["report", "--period", "2026"], "directory {tmp}/missing does not exist"),
    ],
)
def test_an_unwritable_output_is_refused_before_any_work(
    run_cli: Cli, session: Session, tmp_path: Path, args: list[str], message: str
) -> None:
    unit = make_unit(session)
    code, output = run_cli(*args, "--unit", unit.code, "-o", str(tmp_path / "missing" / "f"))
    assert code == 1
    assert message.format(tmp=tmp_path) in output
    code, output = run_cli(*args, "--unit", unit.code, "-o", str(tmp_path))
    assert (code, f"{tmp_path} is a directory" in output) == (1, True)


def test_report_without_format_writes_what_the_file_name_says(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    book = tmp_path / "skm.XLSX"
    code, output = run_cli("report", "--unit", unit.code, "--period", "2026", "-o", str(book))
    assert code == 0, output
    assert load_workbook(book).sheetnames[0] == "Pengolahan Data"  # not a PDF
    rows = tmp_path / "skm.csv"
    code, output = run_cli("report", "--unit", unit.code, "--period", "2026", "-o", str(rows))
    assert (code, output) == (0, f"wrote {rows} (0 response(s))\n")


@pytest.mark.parametrize(
    ("command", "args", "name", "message"),
    [
        (
            "report",
            ["--format", "pdf"],
            "skm.xlsx",
            "error: --format pdf does not match the file name 'skm.xlsx': name a .pdf file, "
            "or leave out --format\n",
        ),
        (
            "report",
            [],
            "skm.odt",
            "error: cannot tell the format from the file name 'skm.odt': "
            "name a .pdf, .docx, .xlsx, .csv file, or pass --format\n",
        ),
        (
            "report",
            ["--format", "odt"],
            "skm",
            "error: --format must be pdf, docx, xlsx or csv, got 'odt'\n",
        ),
        (
            "qr",
            ["--format", "svg", "--counter", "loket-1"],
            "loket.png",
            "error: --format svg does not match the file name 'loket.png': name a .svg file, "
            "or leave out --format\n",
        ),
        (
            "qr",
            [],
            "posters",
            "error: cannot tell the format from the file name 'posters': "
            "name a .png, .svg, .pdf file, or pass --format\n",
        ),
    ],
)
def test_an_output_format_that_contradicts_the_file_name_is_refused(
    run_cli: Cli,
    session: Session,
    tmp_path: Path,
    command: str,
    args: list[str],
    name: str,
    message: str,
) -> None:
    unit = make_unit(session)
    target = tmp_path / name
    period = ["--period", "2026"] if command == "report" else []
    code, output = run_cli(command, "--unit", unit.code, *period, *args, "-o", str(target))
    assert (code, output) == (1, message)
    assert not target.exists()


def test_population_above_the_bound_is_refused(run_cli: Cli, session: Session) -> None:
    unit = make_unit(session)
    code, output = run_cli(
        "population", "set", "3000000000", "--unit", unit.code, "--period", "2026"
    )
    assert code == 1
    assert "population must be 1 to 100,000,000, got 3000000000" in output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "args", "message"),
    [
        (
            "postgresql+psycopg://postgres@127.0.0.1:1/none",
            ["db", "check"],
            "error: cannot use the database: connection failed",
        ),
        ("sqlite:///{tmp}/skm.db", ["db", "upgrade", "nosuchrev"], "error: Can't locate revision"),
    ],
)
def test_the_installed_command_reports_database_trouble_without_a_traceback(
    tmp_path: Path, url: str, args: list[str], message: str
) -> None:
    env = {**os.environ, "SKM_DATABASE_URL": url.format(tmp=tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("usia.csv", HEADER + "1,4,3,3,4,3,3,4,3,4,L,inf,2026-02-03,\n", "usia 'inf' is not"),
        ("usia.csv", HEADER + "1,4,3,3,4,3,3,4,3,4,L,1e400,2026-02-03,\n", "'1e400' is not a"),
        ("old.xlsx", "not a zip: an .xls renamed", "cannot be read as CSV or XLSX"),
    ],
)
def test_a_broken_sheet_is_a_message_not_a_traceback(
    run_cli: Cli, tmp_path: Path, name: str, content: str, message: str
) -> None:
    sheet = tmp_path / name
    sheet.write_text(content)
    code, output = run_cli("compute", str(sheet))
    assert code == 1, output
    assert output.startswith(f"error: {sheet}: 1 problem(s), nothing was read")
    assert message in output


SECRET = "a-test-key-that-is-long-enough-for-production"


class FakeExec:
    """Stands in for os.execv: records the server `skm serve` would have become."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, path: str, argv: list[str]) -> None:
        assert (path, argv[:3]) == (sys.executable, [sys.executable, "-m", "app.workers"])
        options = dict(arg.removeprefix("--").split("=", 1) for arg in argv[3:])
        allowed = os.environ.get("SKM_ALLOW_LOCAL_BASE_URL")
        self.calls.append({**options, "allow_local": allowed})


@pytest.fixture
def fake_exec(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeExec]:
    fake = FakeExec()
    monkeypatch.setattr("os.execv", fake)
    monkeypatch.setattr("app.cli.server._prepare_schema", lambda url, is_sqlite: None)
    # Set, not deleted, so that undo() also removes what `serve --demo` sets.
    monkeypatch.setenv("SKM_ALLOW_LOCAL_BASE_URL", "false")
    monkeypatch.setenv("SKM_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("SKM_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    yield fake
    monkeypatch.undo()
    get_settings.cache_clear()


def test_serve_warns_about_a_local_base_url_and_another_port(
    run_cli: Cli, fake_exec: FakeExec
) -> None:
    code, output = run_cli("serve", "--port", "8080")
    assert (code, output) == (
        0,
        "warning: SKM_PUBLIC_BASE_URL is http://127.0.0.1:8000, an address of this computer "
        "only: survey links and QR codes will not open on phones. Set SKM_PUBLIC_BASE_URL to "
        "the address phones can reach, e.g. http://<this server's LAN address>:8080 or "
        "https://<your domain>\n"
        "warning: SKM_PUBLIC_BASE_URL names port 8000, but this server listens on port 8080: "
        "survey links and QR codes will miss it. Set SKM_PUBLIC_BASE_URL with port 8080, or "
        "serve with --port 8000 (unless a proxy forwards port 8000 here)\n",
    )
    (call,) = fake_exec.calls
    assert (call["port"], call["allow_local"]) == ("8080", "false")


@pytest.mark.parametrize("url", ["http://192.168.1.20:8000", "https://skm.kendarikota.go.id"])
def test_serve_is_quiet_about_a_reachable_base_url(
    run_cli: Cli, fake_exec: FakeExec, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("SKM_PUBLIC_BASE_URL", url)
    get_settings.cache_clear()
    assert run_cli("serve") == (0, "")


def test_serve_demo_prints_where_to_look_and_allows_local_posters(
    run_cli: Cli, session: Session, fake_exec: FakeExec
) -> None:
    code, output = run_cli("serve", "--demo", "--host", "0.0.0.0")
    assert code == 0, output
    unit = org.get_unit(session=session, code="disdukcapil")
    kiosk = org.get_counter(session=session, unit=unit, code="anjungan").token
    token = org.get_counter(session=session, unit=unit, code="loket").token
    lines = output.splitlines()
    assert lines[0].startswith("warning: SKM_PUBLIC_BASE_URL is http://127.0.0.1:8000")
    assert lines[1:4] == [
        "demo data seeded",
        "demo: QR codes and posters are served even on a local SKM_PUBLIC_BASE_URL "
        "(SKM_ALLOW_LOCAL_BASE_URL=true for this server)",
        "open in a browser on this computer:",
    ]
    docs = "  API documentation  http://127.0.0.1:8000/docs"
    surveys = [
        f"  a kiosk survey     http://127.0.0.1:8000/s/{kiosk} "
        "(Dinas Kependudukan dan Pencatatan Sipil, Anjungan survei (tablet))",
        f"  a survey           http://127.0.0.1:8000/s/{token} "
        "(Dinas Kependudukan dan Pencatatan Sipil, Loket pelayanan)",
    ]
    logins = [
        "sign in to the staff console (demo accounts; never use them in production):",
        "  admin    of kendari        admin@kendari.demo  password: demo-admin-kendari",
        "  manager  of pkm-jati-raya  manager.jatiraya@kendari.demo  "
        "password: demo-manager-jatiraya",
    ]
    assert lines[-6:] == [docs, *surveys, *logins]
    assert lines[4:-6] == [
        "  landing page       http://127.0.0.1:8000/",
        "  staff console      http://127.0.0.1:8000/console",
    ]
    (call,) = fake_exec.calls
    assert (call["host"], call["allow_local"]) == ("0.0.0.0", "true")
    assert get_settings().allow_local_base_url is True  # a single worker reads it too


def test_service_and_counter_list(run_cli: Cli, session: Session) -> None:
    unit = make_unit(session)
    assert run_cli("service", "list", "--unit", unit.code) == (
        0,
        f"unit {unit.code} has no services\n",
    )
    assert run_cli("counter", "list", "--unit", unit.code) == (
        0,
        f"unit {unit.code} has no counters\n",
    )
    run_cli("service", "add", "ktp-el", "Perekaman KTP-el", "--unit", unit.code)
    run_cli("service", "add", "kk", "Kartu Keluarga", "--unit", unit.code)
    run_cli("counter", "add", "loket-1", "Loket 1", "--unit", unit.code, "--service", "ktp-el")
    run_cli("counter", "add", "tablet", "Tablet ruang tunggu", "--unit", unit.code)
    run_cli("counter", "deactivate", "loket-1", "--unit", unit.code)
    tablet = org.get_counter(session=session, unit=unit, code="tablet")
    tablet.kiosk = True
    session.add(tablet)
    session.commit()
    loket = org.get_counter(session=session, unit=unit, code="loket-1")
    assert run_cli("service", "list", "--unit", unit.code) == (
        0,
        "code    name              state\n"
        "kk      Kartu Keluarga    active\n"
        "ktp-el  Perekaman KTP-el  active\n",
    )
    assert run_cli("counter", "list", "--unit", unit.code) == (
        0,
        "code     name                 service  state   kiosk  survey URL\n"
        f"loket-1  Loket 1              ktp-el   closed  no     http://127.0.0.1:8000/s/{loket.token}\n"
        f"tablet   Tablet ruang tunggu  -        open    yes    http://127.0.0.1:8000/s/{tablet.token}\n",
    )


def test_apikey_list_names_the_unit_by_code(run_cli: Cli, session: Session) -> None:
    unit = make_unit(session)
    code, output = run_cli(
        "apikey", "create", "--name", "Dasbor OPD", "--unit", unit.code,
        "--scope", "ikm:read", "--scope", "responses:read",
    )  # fmt: skip
    assert code == 0, output
    key = next(k for k in apikeys.list_keys(session=session) if k.name == "Dasbor OPD")
    code, output = run_cli("apikey", "list")
    assert (
        f"{key.prefix}  Dasbor OPD  [ikm:read responses:read] unit={unit.code}  active  "
        "last used never\n" in output
    )


# 23:30 WIB on 30 June (semester I) is 01:30 WIT on 1 July (semester II).
LATE = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)


def test_db_redate_moves_responses_to_the_zones_day(run_cli: Cli, session: Session) -> None:
    unit, other = make_unit(session, tz="WIB"), make_unit(session, tz="WIB")
    for target in (unit, other):
        items = [response((4,) * 9, LATE), response((3,) * 9, LATE - timedelta(hours=2))]
        intake.record_responses(session=session, unit=target, items=items, channel="qr")
    # A zone corrected before re-dating existed: the stored dates are still WIB's.
    for target in (unit, other):
        stale = sa.update(Unit).where(col(Unit.id) == target.id)
        session.execute(stale.values(time_zone="Asia/Jayapura"))
    session.commit()
    session.expire_all()

    def n(period: str) -> int:
        code, output = run_cli("ikm", "--unit", unit.code, "--period", period, "--json")
        assert code == 0, output
        return int(json.loads(output)["n"])

    assert (n("2026-S1"), n("2026-S2"), n("2026-06-30..2026-06-30")) == (2, 0, 2)
    assert run_cli("db", "redate", "--unit", unit.code) == (
        0,
        "1 response(s) changed date in 1 unit(s) of 1 checked; their rollups were rebuilt\n",
    )
    assert (n("2026-S1"), n("2026-S2"), n("2026-07-01..2026-07-01")) == (1, 1, 1)
    assert run_cli("db", "redate", "--unit", unit.code) == (
        0,
        "0 response(s) changed date in 0 unit(s) of 1 checked; nothing to rebuild\n",
    )
    code, output = run_cli("db", "redate", "--all")
    assert (code, output.startswith("1 response(s) changed date in 1 unit(s) of ")) == (0, True)


@pytest.mark.parametrize("args", [[], ["--unit", "x", "--all"]])
def test_db_redate_needs_one_unit_or_all(run_cli: Cli, args: list[str]) -> None:
    assert run_cli("db", "redate", *args) == (
        1,
        "error: name one unit with --unit CODE, or pass --all\n",
    )


def test_import_reads_the_sheet_against_the_units_own_form(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    org.update_unit(session=session, unit=unit, data=UnitUpdate(form_code="kepmenpan-25-2004"))
    sheet = tmp_path / "kertas-2004.csv"
    sheet.write_text(
        ",".join(f"U{i}" for i in range(1, 15)) + ",tanggal\n" + "3," * 14 + "2026-02-03\n"
    )
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert code == 0, output
    stored = session.exec(select(Response).where(Response.unit_id == unit.id)).one()
    assert stored.a14 == 3


def test_reimport_with_another_column_mapping_is_refused(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "kertas.csv"
    sheet.write_text(HEADER + "1,4,3,3,4,3,3,4,1,4,L,34,2026-02-03,\n")
    assert run_cli("import", str(sheet), "--unit", unit.code)[0] == 0
    code, output = run_cli("import", str(sheet), "--unit", unit.code, "--columns", SWAPPED)
    assert code == 1
    assert output.endswith(
        f"error: {sheet}: rows of this file were imported into {unit.code} before with other "
        "values (another --columns mapping, or cells edited since); nothing was imported. "
        "Stored responses are never changed: import a corrected file under a new name only if "
        "the earlier rows were not counted\n"
    )
    stored = session.exec(select(Response).where(Response.unit_id == unit.id)).one()
    assert (stored.a8, stored.a9) == (1, 4)  # as first imported


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ("2999-01-01,", "line 2: tanggal: tanggal must lie between 2000-01-01 and now"),
        ("2026-02-03," + "x" * 2001, "line 2: saran: String should have at most 2000 characters"),
    ],
)
def test_import_row_errors_name_the_sheets_column_and_line(
    run_cli: Cli, session: Session, tmp_path: Path, cells: str, problem: str
) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "kertas.csv"
    sheet.write_text(HEADER + f"1,4,3,3,4,3,3,4,3,4,L,34,{cells}\n")
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert (code, output.splitlines()[-2:]) == (
        1,
        [f"error: {sheet}: 1 problem(s), nothing was imported:", f"  {problem}"],
    )


def test_import_partial_rows_on_a_qr_channel_name_the_line(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "kertas.csv"
    sheet.write_text(HEADER + "1,4,3,3,4,3,3,4,3,4,L,34,2026-02-03,\n2,4,,3,4,3,3,4,3,4,,,,\n")
    code, output = run_cli("import", str(sheet), "--unit", unit.code, "--channel", "qr")
    assert (code, output.splitlines()[-1]) == (
        1,
        "  line 3: element(s) prosedur not answered; only the paper channel may leave elements "
        "blank",
    )


def test_serve_gives_starting_workers_the_configured_health_check_time(
    run_cli: Cli, fake_exec: FakeExec, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_cli("serve", "--port", "8000", "--workers", "2")
    monkeypatch.setenv("SKM_WORKER_HEALTHCHECK_SECONDS", "45")
    get_settings.cache_clear()
    run_cli("serve", "--port", "8000", "--workers", "2")
    assert [(c["workers"], c["healthcheck-seconds"]) for c in fake_exec.calls] == [
        ("2", "30"),  # uvicorn's own 5 s kills workers that start slowly on a busy machine
        ("2", "45"),
    ]


def test_serve_warns_about_the_placeholder_secret(
    run_cli: Cli, fake_exec: FakeExec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKM_SECRET_KEY", "change-me")
    get_settings.cache_clear()
    code, output = run_cli("serve", "--port", "8000")
    assert (code, output.splitlines()[0]) == (
        0,
        "warning: SKM_SECRET_KEY is the development placeholder; production refuses it "
        "(run `skm secret` to make a key)",
    )
    assert output.count("SKM_SECRET_KEY") == 1


def test_secret_prints_a_new_key_long_enough_for_production(
    run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = run_cli("secret"), run_cli("secret")
    assert first[0] == second[0] == 0
    key = first[1].removesuffix("\n")
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", key)
    assert second[1] != first[1]
    monkeypatch.setenv("SKM_ENVIRONMENT", "production")
    monkeypatch.setenv("SKM_SECRET_KEY", key)
    assert Settings().secret_key.get_secret_value() == key


@pytest.mark.parametrize("key", ["", "x", "change-me", "k" * 31])
def test_main_refuses_a_short_production_secret_in_one_line(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("SKM_ENVIRONMENT", "production")
    monkeypatch.setenv("SKM_SECRET_KEY", key)
    monkeypatch.setattr(sys, "argv", ["skm", "db", "check"])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as exited:
        main()
    get_settings.cache_clear()
    assert exited.value.code == (
        "error: SKM_SECRET_KEY must be at least 32 characters in production; "
        "run `skm secret` to make one"
    )


def test_main_names_a_malformed_setting_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKM_RATE_PER_CLIENT_HOUR", "many")
    monkeypatch.setattr(sys, "argv", ["skm", "db", "check"])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as exited:
        main()
    get_settings.cache_clear()
    assert exited.value.code == (
        "error: SKM_RATE_PER_CLIENT_HOUR: Input should be a valid integer, unable to parse "
        "string as an integer"
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Server]]:
    """A server on a free port over a new database with one counter, allowing one
    submission per client and hour: its base URL, the counter's token, the server."""
    with fresh_database(tmp_path) as url:
        upgrade_schema(url)
        database = Database(create_db_engine(url))
        with database.session(write=True) as session:
            unit = make_unit(session)
            org.create_service(
                session=session, data=ServiceCreate(unit_code=unit.code, code="ktp", name="KTP")
            )
            counter = org.create_counter(
                session=session, data=CounterCreate(unit_code=unit.code, code="l1", name="Loket")
            )
            token = counter.token
        database.engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "SKM_DATABASE_URL": url,
            "SKM_SECRET_KEY": SECRET,
            "SKM_PUBLIC_BASE_URL": base,
            "SKM_TRUSTED_PROXIES": "[]",
            "SKM_RATE_PER_CLIENT_HOUR": "1",
            "SKM_SURVEY_MIN_SECONDS": "0",
            # uvicorn's own default, spelled out: the server must ignore it.
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
        }
        server = Server(env, "serve", "--port", str(port))
        try:
            server.wait_for("Uvicorn running on")
            yield base, token, server
        finally:
            server.stop()


def _submit_from(base: str, token: str, forwarded_for: str) -> httpx.Response:
    """A citizen's visit: the form, then the answers, from a browser of its own."""
    with httpx.Client(base_url=base, timeout=30) as browser:
        page = browser.get(f"/s/{token}")
        assert page.status_code == 200, page.text
        found = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert found is not None
        fields = {**dict.fromkeys(CODES, "4"), "form_token": found.group(1), "service": "ktp"}
        return browser.post(
            f"/s/{token}",
            data=fields,
            headers={"X-Forwarded-For": forwarded_for, "Origin": base},
        )


@pytest.mark.slow
def test_served_app_ignores_forwarded_for_without_trusted_proxies(
    served: tuple[str, str, Server],
) -> None:
    base, token, _server = served
    first = _submit_from(base, token, "203.0.113.1")
    second = _submit_from(base, token, "203.0.113.2")
    # Both came from 127.0.0.1: one client's bucket, whatever the header claims.
    assert (first.status_code, second.status_code) == (303, 429)


@pytest.mark.slow
def test_served_access_log_keeps_no_address_and_no_token(
    served: tuple[str, str, Server],
) -> None:
    base, token, server = served
    with httpx.Client(base_url=base, timeout=30) as browser:
        assert browser.get(f"/s/{token}?lang=en").status_code == 200
        assert browser.get("/healthz").status_code == 200
    lines = server.wait_for("/healthz")
    access = [line for line in lines if '"GET ' in line]
    assert access == [
        'INFO:     - - "GET /s/…?lang=en HTTP/1.1" 200 OK',
        'INFO:     - - "GET /healthz HTTP/1.1" 200 OK',
    ]


def test_import_row_errors_name_the_column_as_its_header_writes_it(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "kertas.csv"
    header = ",".join(f"U{i}" for i in range(1, 10)) + ",Tgl,Saran dan Masukan\n"
    sheet.write_text(header + "4,3,3,4,3,3,4,3,4,2026-02-03," + "x" * 2001 + "\n")
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert (code, output.splitlines()[-1]) == (
        1,
        "  line 2: Saran dan Masukan: String should have at most 2000 characters",
    )


# --- importing large and hostile files: streamed, in batches, all or nothing ---


def _stored(session: Session, unit: Unit) -> tuple[int, int]:
    """The unit's stored responses and the responses its rollups count."""
    responses = session.exec(
        select(func.count()).select_from(Response).where(Response.unit_id == unit.id)
    ).one()
    counted = session.execute(
        sa.select(func.coalesce(func.sum(response_rollup.c.responses), 0)).where(
            response_rollup.c.unit_id == unit.id
        )
    ).scalar_one()
    return responses, counted


def _rows(n: int, bad: dict[int, str] | None = None) -> str:
    """A sheet of n rows; ``bad`` replaces the row on a line (the header is line 1)."""
    good = "4,3,3,4,3,3,4,3,4,L,34,2026-02-03,"
    return HEADER + "".join(f"{i},{(bad or {}).get(i + 1, good)}\n" for i in range(1, n + 1))


def _huge_shared_string_xlsx(path: Path, size: int) -> None:
    """An XLSX as Excel writes one (text in the shared-string table) whose second row's saran
    is a shared string of ``size`` characters."""
    plain = path.with_suffix(".plain.xlsx")
    book = xlsxwriter.Workbook(str(plain))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER.strip().split(","))
    sheet.write_row(1, 0, [1, 4, 3, 3, 4, 3, 3, 4, 3, 4, "L", 34, "2026-02-03", "baik"])
    sheet.write_row(2, 0, [2, 4, 3, 3, 4, 3, 3, 4, 3, 4, "L", 34, "2026-02-03", "PLACEHOLDER"])
    book.close()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/sharedStrings.xml":
                assert b"PLACEHOLDER" in data
                data = data.replace(b"PLACEHOLDER", b"a" * size)
            out.writestr(item, data)


def test_import_refuses_a_huge_xlsx_cell_in_one_line_and_stores_nothing(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    path = tmp_path / "huge.xlsx"
    _huge_shared_string_xlsx(path, 5 * 1024 * 1024)
    assert run_cli("import", str(path), "--unit", unit.code) == (
        1,
        f"error: {path}: cell N3 holds more than 32,767 characters (Excel's limit for a cell); "
        "a questionnaire's longest cell, the saran, is at most 2,000; nothing was read\n",
    )
    assert _stored(session, unit) == (0, 0)


@pytest.mark.parametrize(
    ("saran", "problem"),
    [
        (
            "x" * 40_000,
            "line 3, column 14 holds more than 32,767 characters (Excel's limit for a cell); "
            "a questionnaire's longest cell, the saran, is at most 2,000",
        ),
        (
            "x" * 5_000_000,
            "line 3 is longer than 100,000 characters; a questionnaire row is a few hundred",
        ),
    ],
)
def test_import_refuses_a_huge_csv_cell_in_one_line_and_stores_nothing(
    run_cli: Cli, session: Session, tmp_path: Path, saran: str, problem: str
) -> None:
    unit = make_unit(session)
    path = tmp_path / "huge.csv"
    path.write_text(_rows(1) + f"2,4,3,3,4,3,3,4,3,4,L,34,2026-02-03,{saran}\n")
    assert run_cli("import", str(path), "--unit", unit.code) == (
        1,
        f"error: {path}: {problem}; nothing was read\n",
    )
    assert _stored(session, unit) == (0, 0)


def test_import_failing_in_a_later_batch_stores_nothing(
    run_cli: Cli, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three batches of two: the first two are inserted in the transaction before the last
    # row (blank prosedur, allowed on paper only) is refused by intake on the qr channel.
    monkeypatch.setattr("app.cli.data.IMPORT_BATCH", 2)
    unit = make_unit(session)
    sheet = tmp_path / "kertas.csv"
    sheet.write_text(_rows(6, {7: "4,,3,4,3,3,4,3,4,L,34,2026-02-03,"}))
    calls: list[int] = []
    record = intake.record_responses

    def recorded(**kwargs: Any) -> intake.RecordResult:
        calls.append(len(kwargs["items"]))
        return record(**kwargs)

    monkeypatch.setattr(intake, "record_responses", recorded)
    code, output = run_cli("import", str(sheet), "--unit", unit.code, "--channel", "qr")
    assert (code, output.splitlines()[-2:]) == (
        1,
        [
            f"error: {sheet}: 1 problem(s), nothing was imported:",
            "  line 7: element(s) prosedur not answered; only the paper channel may leave "
            "elements blank",
        ],
    )
    assert calls == [2, 2, 2]
    assert _stored(session, unit) == (0, 0)


def test_import_reads_the_file_lazily_and_stores_it_in_batches(
    run_cli: Cli, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.cli.data.IMPORT_BATCH", 3)
    unit = make_unit(session)
    sheet = tmp_path / "kertas.csv"
    sheet.write_text(_rows(10))
    parsed = [0]  # rows parsed so far, over both passes
    parse_row = sheets._parse_row

    def counted(*args: Any) -> Any:
        parsed[0] += 1
        return parse_row(*args)

    monkeypatch.setattr(sheets, "_parse_row", counted)
    batches: list[tuple[int, int]] = []  # (rows in the batch, rows parsed when it was stored)
    record = intake.record_responses

    def recorded(**kwargs: Any) -> intake.RecordResult:
        assert kwargs["commit"] is False  # one commit, at the end
        batches.append((len(kwargs["items"]), parsed[0]))
        return record(**kwargs)

    monkeypatch.setattr(intake, "record_responses", recorded)
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert (code, output.splitlines()[-1]) == (
        0,
        f"imported 10 response(s) into {unit.code}; 0 already imported",
    )
    # Pass 1 parsed the 10 rows; pass 2 had parsed only the rows of the batches so far.
    assert batches == [(3, 13), (3, 16), (3, 19), (1, 20)]
    assert _stored(session, unit) == (10, 10)
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert (
        output.splitlines()[-1] == f"imported 0 response(s) into {unit.code}; 10 already imported"
    )


def test_imported_rows_keep_their_idempotency_keys(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    # Keys from before streaming: re-importing a file imported then must stay a no-op.
    unit = make_unit(session)
    sheet = tmp_path / "kertas.csv"
    sheet.write_text(_rows(1) + "\n" + _rows(1).split("\n", 1)[1])
    assert run_cli("import", str(sheet), "--unit", unit.code)[0] == 0
    digest = hashlib.sha256(sheet.read_bytes()).hexdigest()[:32]
    keys = session.exec(select(Response.idempotency_key).where(Response.unit_id == unit.id)).all()
    assert sorted(keys) == [f"import:{unit.id}:{digest}:2", f"import:{unit.id}:{digest}:4"]


def test_import_lists_the_first_problems_and_counts_the_rest(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "kertas.csv"
    bad = "4,3,3,4,3,3,4,3,4,L,34,2999-01-01,"
    sheet.write_text(_rows(30, dict.fromkeys(range(3, 28), bad)))
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    lines = output.splitlines()
    assert code == 1
    assert lines[-22] == f"error: {sheet}: 25 problem(s), nothing was imported:"
    assert lines[-21] == "  line 3: tanggal: tanggal must lie between 2000-01-01 and now"
    assert lines[-2:] == [
        "  line 22: tanggal: tanggal must lie between 2000-01-01 and now",
        "  ... and 5 more",
    ]
    sheet.write_text(_rows(30, dict.fromkeys(range(3, 28), "9" + bad[1:])))
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert output.splitlines()[0] == f"error: {sheet}: 25 problem(s), nothing was read:"
    assert output.splitlines()[-1] == "  ... and 5 more"
    assert _stored(session, unit) == (0, 0)


def test_import_of_a_file_changed_meanwhile_stores_nothing(
    run_cli: Cli, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "kertas.csv"
    sheet.write_text(_rows(3))
    versions = iter([(1, 1), (2, 2)])
    monkeypatch.setattr("app.cli.data._version", lambda file: next(versions))
    code, output = run_cli("import", str(sheet), "--unit", unit.code)
    assert (code, output.splitlines()[-1]) == (
        1,
        f"error: {sheet} changed while it was imported; nothing was imported",
    )
    assert _stored(session, unit) == (0, 0)


def test_row_rate_reports_every_few_seconds_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    now = [100.0]
    rate = RowRate("storing", total=4000, every=5, clock=lambda: now[0])
    for _ in range(1000):
        rate.add()
    now[0] = 104.9
    rate.add(999)
    assert capsys.readouterr() == ("", "")  # under 5 s: nothing
    now[0] = 105.0
    rate.add(1)
    now[0] = 106.0
    rate.add(1000)
    assert capsys.readouterr() == ("", "storing: 2,000 of 4,000 (50%) rows, 400 rows/s\n")


# --- the service's own processing sheet, and published ones, read back ---

FIGURES = ("n", "ikm", "nik", "nik_rounded", "mutu", "kinerja", "elements", "method")


def _seed_report_unit(session: Session) -> Unit:
    """A unit and a child with 41 responses in 2026, some answers blank, and one flagged."""
    unit = make_unit(session)
    child = make_unit(session, parent=unit)
    when = datetime(2026, 5, 4, 3, tzinfo=UTC)
    rows = [
        tuple(None if (i + j) % 11 == 0 else 1 + (i * 7 + j * 3) % 4 for j in range(9))
        for i in range(41)
    ]
    intake.record_responses(
        session=session, unit=unit, items=[response(a, when) for a in rows[:30]], channel="paper"
    )
    intake.record_responses(
        session=session, unit=child, items=[response(a, when) for a in rows[30:]], channel="paper"
    )
    intake.record_responses(
        session=session, unit=child, items=[response((1,) * 9, when)], channel="qr", flagged=True
    )
    return unit


@pytest.mark.parametrize(
    "method", [(), ("--weight", "0.111", "--round-nrr", "3"), ("--weight", "0.11")]
)
def test_compute_of_the_reports_xlsx_gives_the_reports_figures(
    run_cli: Cli, session: Session, tmp_path: Path, method: tuple[str, ...]
) -> None:
    unit = _seed_report_unit(session)
    book = tmp_path / "laporan.xlsx"
    scope = ("--unit", unit.code, "--period", "2026", *method)
    assert run_cli("report", *scope, "-o", str(book))[0] == 0
    stored = _invoke(run_cli, "ikm", *scope, "--json")
    assert stored.exit_code == 0, stored.output
    expected = json.loads(stored.stdout)
    assert expected["n"] == 41  # the flagged response is out of both
    done = _invoke(run_cli, "compute", str(book), *method, "--json")
    assert done.exit_code == 0, done.output
    computed = json.loads(done.stdout)
    assert {k: computed[k] for k in FIGURES} == {k: expected[k] for k in FIGURES}
    assert done.stderr == (
        "notice: header found on line 7; lines 1-6 above it skipped\n"
        "notice: respondent rows end at line 49 ('Σ nilai/unsur'): lines 49-82 are totals or "
        f"notes, not respondents, and were not read\n{NOTICE}"
    )


def test_import_of_the_reports_xlsx_stores_its_respondents(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = _seed_report_unit(session)
    book = tmp_path / "laporan.xlsx"
    assert run_cli("report", "--unit", unit.code, "--period", "2026", "-o", str(book))[0] == 0
    other = make_unit(session)
    before = _count(session)
    code, output = run_cli("import", str(book), "--unit", other.code, "--date", "2026-06-01")
    assert code == 0, output
    assert "imported 41 response(s) into" in output
    assert _count(session) == before + 41
    figures = [
        json.loads(_invoke(run_cli, "ikm", *args, "--json").stdout)
        for args in (
            ("--unit", unit.code, "--period", "2026"),
            ("--unit", other.code, "--period", "2026"),
        )
    ]
    assert [{k: f[k] for k in FIGURES} for f in figures] == [
        {k: figures[0][k] for k in FIGURES}
    ] * 2


def test_a_published_csv_imports_its_respondents_only(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    sheet = tmp_path / "rekap.csv"
    sheet.write_text(
        "REKAPITULASI SURVEI KEPUASAN MASYARAKAT\n"
        "Puskesmas Lepo-lepo, Kota Kendari\n"
        ";;;;;;;;;;\n"
        "No;Responden;U1;U2;U3;U4;U5;U6;U7;U8;U9\n"
        "1;R-01;4;3;3;4;3;3;4;3;4\n"
        "2;R-02;3;3;;4;3;3;4;3;4\n"
        "3;R-03;2;2;3;3;3;3;3;3;2\n"
        "4;;;;;;;;;;\n"
        "Jumlah;;9;8;6;11;9;9;11;9;10\n"
        "NRR;;3,000;2,667;3,000;3,667;3,000;3,000;3,667;3,000;3,333\n"
        "IKM;;78,74;;;;;;;;\n"
    )
    before = _count(session)
    done = _invoke(run_cli, "import", str(sheet), "--unit", unit.code, "--date", "2026-03-02")
    assert done.exit_code == 0, done.output
    assert "imported 3 response(s)" in done.stdout
    assert _count(session) == before + 3
    assert done.stderr.startswith(
        "notice: header found on line 4; lines 1-3 above it skipped\n"
        "notice: respondent rows end at line 9 ('Jumlah'): lines 9-11 are totals or notes, "
        "not respondents, and were not read\n"
    )


def test_a_published_sheet_with_a_bad_answer_imports_nothing(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    book = tmp_path / "rekap.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["PENGOLAHAN DATA SURVEI KEPUASAN MASYARAKAT"])
    sheet.append([])
    sheet.append(["No.", *(f"Unsur {i}" for i in range(1, 10))])
    for number in range(1, 31):
        sheet.append([number, *([7] if number == 17 else [3]), *[4] * 8])
    sheet.append(["Σ nilai/unsur", 97, *[120] * 8])
    sheet.append(["NRR/unsur", 3.2333, *[4] * 8])
    workbook.save(book)
    before = _count(session)
    code, output = run_cli("import", str(book), "--unit", unit.code)
    assert code == 1
    assert output == (
        f"error: {book}: 1 problem(s), nothing was read:\n"
        "  line 20: Unsur 1 (persyaratan) 7 is not an answer 1..4 (or a..d)\n"
    )
    assert _count(session) == before


def test_compute_and_import_read_the_sheet_named(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    book = tmp_path / "skm.xlsx"
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Rekap"
    summary.append(["IKM unit pelayanan", 78.74])
    data = workbook.create_sheet("Data")
    data.append(["Data responden SKM 2026"])
    data.append(["No", *CODES])
    for number in range(1, 6):
        data.append([number, *[4] * 9])
    workbook.save(book)
    code, output = run_cli("compute", str(book), "--sheet", "data")
    assert code == 0, output
    assert "NIK = 100.00" in output
    code, output = run_cli("compute", str(book), "--sheet", "Responden")
    assert (code, output) == (
        1,
        f"error: {book}: 1 problem(s), nothing was read:\n"
        "  the workbook has no sheet 'Responden'; its sheets: 'Rekap', 'Data'\n",
    )
    unit = make_unit(session)
    code, output = run_cli("import", str(book), "--unit", unit.code, "--sheet", "Data")
    assert code == 0, output
    assert "imported 5 response(s)" in output

"""The report workbook of the Kendari demo against `skm ikm --json`: the values the XLSX
carries (openpyxl) and the ones LibreOffice recalculates from its formulas, for a unit, an OPD
with its units and the whole pemda."""

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from tests.conftest import DEMO_PERIOD, Demo
from tests.tools import recalculate_xlsx

UNITS = ["disdukcapil", "dinkes", "kendari"]


def _figures(demo: Demo, unit: str, book: Path) -> dict[str, Any]:
    code, output = demo.cli(
        "report", "--unit", unit, "--period", DEMO_PERIOD, "--format", "xlsx", "-o", str(book)
    )
    assert code == 0, output
    code, output = demo.cli("ikm", "--unit", unit, "--period", DEMO_PERIOD, "--json")
    assert code == 0, output
    return json.loads(output)  # type: ignore[no-any-return]


def _row_of(sheet: Worksheet, column: int, label: str) -> int:
    for row in range(1, sheet.max_row + 1):
        if sheet.cell(row=row, column=column).value == label:
            return row
    raise AssertionError(f"no {label!r} in column {column} of {sheet.title}")


@pytest.mark.parametrize("unit", UNITS)
def test_xlsx_carries_the_figures_of_skm_ikm_json(demo: Demo, tmp_path: Path, unit: str) -> None:
    found = _figures(demo, unit, tmp_path / "report.xlsx")
    summary = openpyxl.load_workbook(tmp_path / "report.xlsx", data_only=True)["Ringkasan"]
    ikm_row = _row_of(summary, 2, "IKM (Σ NRR tertimbang)")
    assert summary.cell(row=ikm_row, column=3).value == pytest.approx(found["ikm"], rel=1e-14)
    assert summary.cell(row=ikm_row + 1, column=3).value == pytest.approx(found["nik_rounded"])
    assert summary.cell(row=ikm_row + 2, column=3).value == found["mutu"]
    header = _row_of(summary, 5, "NRR")
    for i, element in enumerate(found["elements"], start=1):
        row = header + i
        assert summary.cell(row=row, column=3).value == element["n"]
        assert summary.cell(row=row, column=5).value == pytest.approx(element["nrr"], rel=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("unit", UNITS)
def test_libreoffice_recalculates_the_figures_of_skm_ikm_json(
    demo: Demo, tmp_path: Path, unit: str
) -> None:
    found = _figures(demo, unit, tmp_path / "report.xlsx")
    recalculated = recalculate_xlsx(tmp_path / "report.xlsx", tmp_path)
    sheet = openpyxl.load_workbook(recalculated, data_only=True)["Pengolahan Data"]
    nik = _row_of(sheet, 1, "IKM unit pelayanan (**)")
    assert round(sheet.cell(row=nik, column=2).value, 2) == pytest.approx(found["nik_rounded"])
    assert sheet.cell(row=nik + 1, column=2).value == found["mutu"]
    nrr = _row_of(sheet, 1, "NRR/unsur")
    for i, element in enumerate(found["elements"]):
        assert sheet.cell(row=nrr, column=2 + i).value == pytest.approx(element["nrr"], abs=1e-9)
    respondents = _row_of(sheet, 1, "Σ nilai/unsur") - 8  # rows 8.. hold one respondent each
    assert respondents == found["n"]

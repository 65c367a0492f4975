"""Streaming the cells of CSV and XLSX files (app.core.sheet_files): the values openpyxl would
give, rows read as they are asked for, and cells too large for a questionnaire refused."""

import tracemalloc
import zipfile
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from openpyxl import Workbook, load_workbook

from app.core import sheet_files
from app.core.sheet_files import CELL_MAX, RECORD_MAX, CellTooLarge, NoSuchSheet, read_cells

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _openpyxl_rows(path: Path) -> list[list[Any]]:
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = [list(values) for values in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()
    return [_trimmed(row) for row in rows]


def _trimmed(row: list[Any]) -> list[Any]:
    """A row without its trailing empty cells (openpyxl pads rows to the sheet's width)."""
    while row and row[-1] is None:
        row = row[:-1]
    return row


def _ours(path: Path) -> list[list[Any]]:
    return [_trimmed(row) for row in read_cells(path)]


def test_xlsx_values_match_openpyxl_for_shared_and_styled_cells(tmp_path: Path) -> None:
    path = tmp_path / "excel.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    bold = book.add_format({"bold": True})
    short_date = book.add_format({"num_format": "dd/mm/yyyy"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    duration = book.add_format({"num_format": "[h]:mm"})
    sheet.write_row(0, 0, ["U1", "U2", "jenis_kelamin", "tanggal", "saran", "lain"])
    sheet.write_row(1, 0, [4, 3.0, "L"])
    sheet.write_datetime(1, 3, datetime(2026, 2, 3), short_date)
    sheet.write_rich_string(1, 4, "Antrean ", bold, "lama", " sekali")
    sheet.write_boolean(1, 5, True)
    # Row 3 is left out; row 4 has a gap and a formula with its cached value.
    sheet.write(3, 0, "d")
    sheet.write_formula(3, 2, "=A1", None, "P")
    sheet.write_datetime(3, 3, datetime(2026, 5, 14, 9, 30), stamp)
    sheet.write_number(3, 4, 1.5, duration)
    sheet.write(3, 5, "_x005F_x000D_ kept as openpyxl reads it")
    sheet.write_number(4, 0, 1e3)
    book.close()
    rows = _ours(path)
    assert rows == _openpyxl_rows(path)
    assert rows[1][3] == datetime(2026, 2, 3) and rows[1][4] == "Antrean lama sekali"
    assert rows[2] == [] and rows[3][2] == "P" and rows[3][4] == timedelta(hours=36)


def test_xlsx_values_match_openpyxl_for_inline_strings_and_1904_dates(tmp_path: Path) -> None:
    path = tmp_path / "streamed.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "date_1904": True})
    sheet = book.add_worksheet()
    day = book.add_format({"num_format": "d mmm yyyy"})
    clock = book.add_format({"num_format": "hh:mm"})
    sheet.write_row(0, 0, ["U1", "tanggal", "jam", "saran"])
    sheet.write(1, 0, 2)
    sheet.write_datetime(1, 1, datetime(2025, 12, 31), day)
    sheet.write_datetime(1, 2, datetime(1904, 1, 1, 8, 15), clock)
    sheet.write(1, 3, "  spasi dan\nbaris baru  ")
    book.close()
    assert 't="inlineStr"' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    rows = _ours(path)
    assert rows == _openpyxl_rows(path)
    assert rows[1][1:] == [datetime(2025, 12, 31), time(8, 15), "  spasi dan\nbaris baru  "]


def test_xlsx_values_match_openpyxl_for_an_openpyxl_workbook(tmp_path: Path) -> None:
    path = tmp_path / "openpyxl.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["U1", "usia", "tanggal"])
    sheet.append([1, 34, datetime(2026, 1, 2)])
    sheet.append([])
    sheet.append(["b", "40", "2026-01-03"])
    workbook.create_sheet("Kedua").append(["not read"])
    workbook.save(path)
    assert _ours(path) == _openpyxl_rows(path)


def _xlsx(path: Path, cell: str, strings: str = "") -> None:
    """A minimal workbook: the sheet's one row holds ``cell``; ``strings`` the shared table."""
    parts = {
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{NS}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships"><sheets><sheet name="A" sheetId="1" r:id="rId1"/></sheets>'
            "</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
            '<Relationship Id="rId2" Target="sharedStrings.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1"><v>4</v></c></row>'
            f'<row r="2"><c r="A2"><v>3</v></c>{cell}</row></sheetData></worksheet>'
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{NS}">{strings}</sst>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)


def test_a_huge_shared_string_is_refused_naming_the_cell_without_being_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "huge.xlsx"
    huge = "a" * (8 * 1024 * 1024)
    _xlsx(path, '<c r="C2" t="s"><v>1</v></c>', f"<si><t>ok</t></si><si><t>{huge}</t></si>")
    del huge
    tracemalloc.start()
    try:
        with pytest.raises(CellTooLarge) as refused:
            list(read_cells(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(refused.value) == (
        "cell C2 holds more than 32,767 characters (Excel's limit for a cell); a "
        "questionnaire's longest cell, the saran, is at most 2,000"
    )
    assert peak < 2 * 1024 * 1024  # the 8 MiB string was never held


def test_a_long_shared_string_no_cell_uses_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "unused.xlsx"
    _xlsx(path, '<c r="B2" t="s"><v>0</v></c>', f"<si><t>ok</t></si><si><t>{'a' * 40_000}</t></si>")
    assert list(read_cells(path)) == [[4], [3, "ok"]]


@pytest.mark.parametrize(
    ("cell", "where"),
    [
        (f'<c r="D2" t="inlineStr"><is><t>{"a" * (CELL_MAX + 1)}</t></is></c>', "cell D2"),
        (f'<c t="str"><v>{"b" * (CELL_MAX + 1)}</v></c>', "cell B2"),  # no r: the next column
    ],
)
def test_a_huge_cell_in_the_sheet_is_refused_naming_it(
    tmp_path: Path, cell: str, where: str
) -> None:
    path = tmp_path / "inline.xlsx"
    _xlsx(path, cell)
    with pytest.raises(CellTooLarge, match=f"^{where} holds more than 32,767 characters"):
        list(read_cells(path))


def test_a_cell_at_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "cap.xlsx"
    _xlsx(path, f'<c r="B2" t="inlineStr"><is><t>{"a" * CELL_MAX}</t></is></c>')
    assert len(list(read_cells(path))[1][1]) == CELL_MAX


def test_a_huge_xml_attribute_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "attribute.xlsx"
    _xlsx(path, f'<c r="B2" s="{"9" * (2 * 1024 * 1024)}"><v>1</v></c>')
    with pytest.raises(CellTooLarge, match=r"^xl/worksheets/sheet1\.xml holds a single XML tag"):
        list(read_cells(path))


def test_a_reference_to_a_missing_shared_string_is_a_message(tmp_path: Path) -> None:
    path = tmp_path / "missing.xlsx"
    _xlsx(path, '<c r="B2" t="s"><v>7</v></c>', "<si><t>ok</t></si>")
    with pytest.raises(ValueError, match=r"^cell B2 refers to shared string 7, which is not there"):
        list(read_cells(path))


def test_csv_rows_are_read_as_they_are_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "lazy.csv"
    # Undecodable bytes at the end: a reader that read the whole file first would fail at once.
    path.write_bytes(b"U1;U2\r\n4;3\r\n\r\n" + b"1;2\r\n" * 20_000 + b"\xff\xfe" * 100_000)
    cells = read_cells(path)
    assert (next(cells), next(cells), next(cells)) == (["U1", "U2"], ["4", "3"], [])
    with pytest.raises(UnicodeDecodeError):
        list(cells)


def test_csv_keeps_a_quoted_line_break_as_path_read_text_would(tmp_path: Path) -> None:
    path = tmp_path / "multiline.csv"
    path.write_bytes(b'\xef\xbb\xbfU1,saran\r\n4,"baris satu\r\nbaris dua"\r\n3,\r\n')
    assert list(read_cells(path)) == [["U1", "saran"], ["4", "baris satu\nbaris dua"], ["3", ""]]


def test_csv_cell_over_the_cap_is_refused_naming_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "cell.csv"
    path.write_text("U1,saran\n4,ok\n" + f'3,"{"x" * (CELL_MAX + 1)}"\n')
    with pytest.raises(CellTooLarge, match=r"^line 3, column 2 holds more than 32,767 characters"):
        list(read_cells(path))


@pytest.mark.parametrize("newlines", ["", "\n"])
def test_csv_record_over_the_cap_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newlines: str
) -> None:
    # One line without an end, or a quoted cell running over many lines.
    path = tmp_path / "record.csv"
    path.write_text("U1,saran\n4,ok\n" + '3,"' + ("y" * 999 + newlines) * 300 + '"\n')
    reads: list[int] = []
    original = sheet_files._Lines.__next__

    def counted(self: sheet_files._Lines) -> str:
        line = original(self)
        reads.append(len(line))
        return line

    monkeypatch.setattr(sheet_files._Lines, "__next__", counted)
    with pytest.raises(CellTooLarge, match=r"^line 3 is longer than 100,000 characters"):
        list(read_cells(path))
    assert sum(reads) <= RECORD_MAX + 1_000  # never read much past the cap


def test_csv_delimiter_is_told_below_a_title_block(tmp_path: Path) -> None:
    # The title holds a comma; the table, semicolons (a spreadsheet's CSV where "," is the
    # decimal mark). The title is read as one cell, not split at its comma.
    path = tmp_path / "titled.csv"
    path.write_text("Dinas Sosial, Kota Kendari\n\nNo;U1;U2;U3;U4\n1;4;3;2;1\nNRR;3,5;3;2;1\n")
    assert list(read_cells(path)) == [
        ["Dinas Sosial, Kota Kendari"],
        [],
        ["No", "U1", "U2", "U3", "U4"],
        ["1", "4", "3", "2", "1"],
        ["NRR", "3,5", "3", "2", "1"],
    ]


def test_csv_delimiter_of_a_header_on_line_1_is_its_own(tmp_path: Path) -> None:
    # Semicolons in a later saran do not outvote the header's commas.
    path = tmp_path / "plain.csv"
    path.write_text('U1,U2,U3,U4,saran\n4,3,2,1,"a;b;c;d;e;f;g"\n')
    assert list(read_cells(path)) == [
        ["U1", "U2", "U3", "U4", "saran"],
        ["4", "3", "2", "1", "a;b;c;d;e;f;g"],
    ]


def test_xlsx_sheet_is_chosen_by_name(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Rekap"
    summary.append(["IKM", 78.74])
    book.create_sheet(" Data Responden ").append(["U1", "U2"])
    book.save(path)
    assert list(read_cells(path)) == [["IKM", 78.74]]
    assert list(read_cells(path, "data responden")) == [["U1", "U2"]]
    with pytest.raises(NoSuchSheet) as missing:
        list(read_cells(path, "Data"))
    assert str(missing.value) == (
        "the workbook has no sheet 'Data'; its sheets: 'Rekap', ' Data Responden '"
    )
    csv_path = tmp_path / "plain.csv"
    csv_path.write_text("U1,U2\n")
    with pytest.raises(NoSuchSheet, match=r"^a sheet name \('Data'\) is given, but a CSV file"):
        list(read_cells(csv_path, "Data"))

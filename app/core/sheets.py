"""Reading response sheets: CSV or XLSX files of paper questionnaires.

Columns are either ``U1..Uk`` (the form's element order) or element codes, plus optional
profile columns (jenis_kelamin, usia, pendidikan, pekerjaan), ``tanggal`` and ``saran``.
Answers are 1..4 (or a..d as printed on paper); a blank stays blank. Every bad cell is
reported with its line number, and a file with any bad cell yields nothing.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from app.core.forms import Form

MAX_REPORTED = 20
LETTERS = {"a": 1, "b": 2, "c": 3, "d": 4}
PROFILE_ALIASES = {
    "sex": ("sex", "jenis_kelamin", "jk", "gender"),
    "age": ("age", "usia", "umur"),
    "education": ("education", "pendidikan"),
    "occupation": ("occupation", "pekerjaan"),
    "date": ("date", "tanggal", "tgl"),
    "suggestion": ("suggestion", "saran", "saran_masukan", "saran_dan_masukan"),
}
IGNORED = {"no", "nomor", "no_resp", "no_responden", "respondent", "responden"}


class SheetError(ValueError):
    """A sheet that cannot be read; ``problems`` lists each bad line."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        text = "\n".join(f"  {p}" for p in shown) + (f"\n  ... and {more} more" if more else "")
        super().__init__(f"{path}: {len(problems)} problem(s), nothing was read:\n{text}")
        self.problems = problems


@dataclass(frozen=True)
class SheetRow:
    line: int
    answers: tuple[int | None, ...]
    profile: dict[str, str | int]
    date: date | None
    suggestion: str | None


@dataclass
class Sheet:
    rows: list[SheetRow]
    warnings: list[str] = field(default_factory=list)


def _normalise(header: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(header or "").strip().lower()).strip("_")


def _read_cells(path: Path) -> Iterator[list[Any]]:
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            for values in workbook.worksheets[0].iter_rows(values_only=True):
                yield list(values)
        finally:
            workbook.close()
        return
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def read_sheet(path: Path, form: Form, *, strict: bool = True) -> Sheet:
    """Parse a sheet against a form. With ``strict`` an unknown column is an error; without
    it (``skm compute`` on an old spreadsheet) the column is ignored with a warning."""
    # The rows are read lazily, so a broken file can fail on any of them, not just the header.
    unreadable = (OSError, UnicodeDecodeError, ValueError, KeyError, csv.Error, BadZipFile)
    try:
        cells = _read_cells(path)
        header = next(cells, None)
        if header is None:
            raise SheetError(path, ["the file is empty"])
        columns, problems, warnings = _map_columns(header, form, strict=strict)
        if problems:
            raise SheetError(path, problems)
        rows: list[SheetRow] = []
        for line, values in enumerate(cells, start=2):
            if all(_blank(v) for v in values):
                continue
            row, row_problems = _parse_row(line, values, columns, form)
            problems.extend(row_problems)
            if row is not None:
                rows.append(row)
    except SheetError:
        raise
    except unreadable as exc:
        raise SheetError(path, [f"cannot be read as CSV or XLSX: {exc}"]) from None
    if problems:
        raise SheetError(path, problems)
    if not rows:
        raise SheetError(path, ["no response rows"])
    return Sheet(rows=rows, warnings=warnings)


def _map_columns(
    header: list[Any], form: Form, *, strict: bool
) -> tuple[dict[int, str], list[str], list[str]]:
    codes = form.element_codes
    by_name: dict[str, str] = {f"u{i}": code for i, code in enumerate(codes, start=1)}
    by_name.update({code: code for code in codes})
    for target, aliases in PROFILE_ALIASES.items():
        by_name.update(dict.fromkeys(aliases, f"profile:{target}"))
    columns: dict[int, str] = {}
    problems: list[str] = []
    warnings: list[str] = []
    for index, raw in enumerate(header):
        name = _normalise(raw)
        if not name or name in IGNORED:
            continue
        found = by_name.get(name)
        if found is None:
            message = f"line 1: unknown column {raw!r}"
            (problems if strict else warnings).append(message + ("" if strict else "; ignored"))
        elif found in columns.values():
            problems.append(f"line 1: column {raw!r} repeats {found.removeprefix('profile:')}")
        else:
            columns[index] = found
    missing = [code for code in codes if code not in columns.values()]
    if missing:
        problems.append(
            f"line 1: no column for element(s) {', '.join(missing)} "
            f"(expected U1..U{len(codes)} or the element codes of form {form.code})"
        )
    return columns, problems, warnings


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_answer(value: Any) -> int | None:
    if _blank(value):
        return None
    text = str(value).strip().lower()
    if text in LETTERS:
        return LETTERS[text]
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text in {"1", "2", "3", "4"}:
        return int(text)
    raise ValueError(f"{value!r} is not an answer 1..4 (or a..d)")


def _parse_profile(name: str, value: Any, form: Form) -> str | int:
    spec = form.profile_field(name)
    if spec is None:
        raise ValueError(f"form {form.code} has no {name} field")
    if spec.type == "integer":
        try:
            number = int(float(str(value).strip()))
        except (ValueError, OverflowError):  # "tiga", or "inf" and "1e400"
            raise ValueError(f"{name} {value!r} is not a whole number") from None
        if not spec.accepts(number):
            raise ValueError(f"{name} {number} is outside {spec.min}..{spec.max}")
        return number
    text = str(value).strip()
    for option in spec.options:
        if text.lower() in {option.value.lower(), option.label.id.lower(), option.label.en.lower()}:
            return option.value
    allowed = ", ".join(o.value for o in spec.options)
    raise ValueError(f"{name} {value!r} is not one of {allowed}")


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"tanggal {value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _parse_row(
    line: int, values: list[Any], columns: dict[int, str], form: Form
) -> tuple[SheetRow | None, list[str]]:
    answers: dict[str, int | None] = {}
    profile: dict[str, str | int] = {}
    when: date | None = None
    suggestion: str | None = None
    problems: list[str] = []
    for index, target in columns.items():
        value = values[index] if index < len(values) else None
        try:
            if not target.startswith("profile:"):
                answers[target] = _parse_answer(value)
            elif _blank(value):
                continue
            elif target == "profile:date":
                when = _parse_date(value)
            elif target == "profile:suggestion":
                suggestion = str(value).strip()
            else:
                name = target.removeprefix("profile:")
                profile[name] = _parse_profile(name, value, form)
        except ValueError as exc:
            problems.append(f"line {line}: {target.removeprefix('profile:')}: {exc}")
    if problems:
        return None, problems
    ordered = tuple(answers[code] for code in form.element_codes)
    return SheetRow(line, ordered, profile, when, suggestion), []

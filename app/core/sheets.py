"""Reading response sheets: CSV or XLSX files of paper questionnaires.

Columns are either ``U1..Uk`` or element codes, plus optional profile columns
(jenis_kelamin, usia, pendidikan, pekerjaan), ``tanggal`` and ``saran``. ``U`` columns are
read by position, in the form's order unless the caller gives another (published sheets
disagree on the order of the last two elements). Answers are 1..4 (or a..d as printed on
paper); a blank stays blank. Every bad cell is reported with its line number and the column
as the sheet names it, and a file with any bad cell yields nothing.

``open_sheet`` reads the header and streams the rows (as often as asked, re-reading the file),
so a caller can check a file of a million rows and then store it without holding it;
``read_sheet`` collects them, for a file of the usual size. The cells come from
``app.core.sheet_files``, which refuses a cell too large to be a questionnaire's.
"""

import csv
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from app.core.forms import Form
from app.core.sheet_files import CellTooLarge, read_cells

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

    def __init__(self, path: Path, problems: list[str], *, total: int | None = None) -> None:
        # ``total``: how many there were, when only the first few were kept.
        total = len(problems) if total is None else total
        shown = problems[:MAX_REPORTED]
        more = total - len(shown)
        text = "\n".join(f"  {p}" for p in shown) + (f"\n  ... and {more} more" if more else "")
        super().__init__(f"{path}: {total} problem(s), nothing was read:\n{text}")
        self.problems = problems


class SheetTooLarge(SheetError):
    """A cell or row over the caps of app.core.sheet_files, said in one line."""

    def __init__(self, path: Path, problem: str) -> None:
        ValueError.__init__(self, f"{path}: {problem}; nothing was read")
        self.problems = [problem]


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
    # The element codes the U1..Uk columns were read as, when the sheet has U columns.
    positional: tuple[str, ...] | None = None
    # Each profile column read (sex, age, education, occupation, date, suggestion) by the
    # header the sheet gives it, so later messages name the column as the user wrote it.
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Column:
    target: str  # an element code, or profile:<field>
    header: str  # as the sheet writes it, for messages


def check_order(order: Sequence[str], form: Form) -> tuple[str, ...]:
    """The element codes of U1..Uk, as given: each element of the form exactly once."""
    codes = form.element_codes
    problems = [f"{c!r} is not an element of form {form.code}" for c in order if c not in codes]
    problems += [
        f"{c!r} is given more than once" for c in dict.fromkeys(order) if order.count(c) > 1
    ]
    missing = [c for c in codes if c not in order]
    if missing:
        problems.append(f"{', '.join(missing)} missing")
    if problems:
        raise ValueError(
            f"{'; '.join(problems)}: give each of the {len(codes)} elements of form {form.code} "
            f"once, in the order of the U columns ({', '.join(codes)})"
        )
    return tuple(order)


def _normalise(header: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(header or "").strip().lower()).strip("_")


# The rows are read lazily, so a broken file can fail on any of them, not just the header.
UNREADABLE = (OSError, UnicodeDecodeError, ValueError, KeyError, csv.Error, BadZipFile)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    try:
        yield
    except SheetError:
        raise
    except CellTooLarge as exc:
        raise SheetTooLarge(path, str(exc)) from None
    except UNREADABLE as exc:
        raise SheetError(path, [f"cannot be read as CSV or XLSX: {exc}"]) from None


@dataclass
class SheetReader:
    """A sheet whose header is read and mapped: ``rows`` streams the rest."""

    path: Path
    form: Form
    columns: dict[int, _Column]
    warnings: list[str]
    positional: tuple[str, ...] | None
    headers: dict[str, str]

    def rows(self) -> Iterator[tuple[SheetRow | None, list[str]]]:
        """Each row that is not blank, with its problems (then the row is None). Each call
        reads the file again; one that cannot be read raises SheetError on the way."""
        with _reading(self.path):
            cells = read_cells(self.path)
            next(cells, None)  # the header
            for line, values in enumerate(cells, start=2):
                if not all(_blank(v) for v in values):
                    yield _parse_row(line, values, self.columns, self.form)

    def read(self) -> Sheet:
        """Every row, or SheetError listing every problem."""
        rows: list[SheetRow] = []
        problems: list[str] = []
        for row, row_problems in self.rows():
            problems.extend(row_problems)
            if row is not None:
                rows.append(row)
        if problems:
            raise SheetError(self.path, problems)
        if not rows:
            raise SheetError(self.path, ["no response rows"])
        return Sheet(rows, self.warnings, self.positional, self.headers)


def open_sheet(
    path: Path, form: Form, *, strict: bool = True, order: Sequence[str] | None = None
) -> SheetReader:
    """Read a sheet's header against a form. With ``strict`` an unknown column is an error;
    without it (``skm compute`` on an old spreadsheet) the column is ignored with a warning.
    ``order`` names the elements of the columns U1..Uk (default: the form's order)."""
    try:
        positions = check_order(order, form) if order is not None else form.element_codes
    except ValueError as exc:
        raise SheetError(path, [f"column order: {exc}"]) from None
    with _reading(path):
        header = next(read_cells(path), None)
    if header is None:
        raise SheetError(path, ["the file is empty"])
    columns, problems, warnings = _map_columns(header, form, positions, strict=strict)
    positional = any(_normalise(h) in _u_names(positions) for h in header)
    if order is not None and not positional:
        problems.append(
            f"line 1: a column order is given, but the sheet has no U1..U{len(positions)} columns"
        )
    if problems:
        raise SheetError(path, problems)
    headers = {
        column.target.removeprefix("profile:"): column.header
        for column in columns.values()
        if column.target.startswith("profile:")
    }
    return SheetReader(path, form, columns, warnings, positions if positional else None, headers)


def read_sheet(
    path: Path, form: Form, *, strict: bool = True, order: Sequence[str] | None = None
) -> Sheet:
    """Parse a whole sheet against a form (see open_sheet)."""
    return open_sheet(path, form, strict=strict, order=order).read()


def _u_names(positions: Sequence[str]) -> dict[str, str]:
    return {f"u{i}": code for i, code in enumerate(positions, start=1)}


def _map_columns(
    header: list[Any], form: Form, positions: Sequence[str], *, strict: bool
) -> tuple[dict[int, _Column], list[str], list[str]]:
    codes = form.element_codes
    by_name = _u_names(positions)
    by_name.update({code: code for code in codes})
    for target, aliases in PROFILE_ALIASES.items():
        by_name.update(dict.fromkeys(aliases, f"profile:{target}"))
    columns: dict[int, _Column] = {}
    seen: dict[str, str] = {}  # target -> the header that named it first
    problems: list[str] = []
    warnings: list[str] = []
    for index, raw in enumerate(header):
        name = _normalise(raw)
        if not name or name in IGNORED:
            continue
        written = str(raw).strip()
        found = by_name.get(name)
        if found is None:
            message = f"line 1: unknown column {raw!r}"
            (problems if strict else warnings).append(message + ("" if strict else "; ignored"))
        elif found in seen:
            problems.append(f"line 1: column {written!r} repeats column {seen[found]!r}")
        else:
            seen[found] = written
            shown = f"{written} ({found})" if name in _u_names(positions) else written
            columns[index] = _Column(found, shown)
    missing = [code for code in codes if code not in seen]
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


# The messages below follow the column's name, as the sheet writes it: "usia 'tiga' is ...".


def _parse_profile(name: str, value: Any, form: Form) -> str | int:
    spec = form.profile_field(name)
    if spec is None:
        raise ValueError(f"is not a field of form {form.code}")
    if spec.type == "integer":
        try:
            number = int(float(str(value).strip()))
        except (ValueError, OverflowError):  # "tiga", or "inf" and "1e400"
            raise ValueError(f"{value!r} is not a whole number") from None
        if not spec.accepts(number):
            raise ValueError(f"{number} is outside {spec.min}..{spec.max}")
        return number
    text = str(value).strip()
    for option in spec.options:
        if text.lower() in {option.value.lower(), option.label.id.lower(), option.label.en.lower()}:
            return option.value
    allowed = ", ".join(o.value for o in spec.options)
    raise ValueError(f"{value!r} is not one of {allowed}")


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
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _parse_row(
    line: int, values: list[Any], columns: dict[int, _Column], form: Form
) -> tuple[SheetRow | None, list[str]]:
    answers: dict[str, int | None] = {}
    profile: dict[str, str | int] = {}
    when: date | None = None
    suggestion: str | None = None
    problems: list[str] = []
    for index, column in columns.items():
        target = column.target
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
            problems.append(f"line {line}: {column.header} {exc}")
    if problems:
        return None, problems
    ordered = tuple(answers[code] for code in form.element_codes)
    return SheetRow(line, ordered, profile, when, suggestion), []

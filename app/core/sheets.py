"""Reading response sheets: CSV or XLSX files of paper questionnaires.

Columns are either ``U1..Uk`` or element codes, plus optional profile columns
(jenis_kelamin, usia, pendidikan, pekerjaan), ``tanggal`` and ``saran``. ``U`` columns are
read by position, in the form's order unless the caller gives another (published sheets
disagree on the order of the last two elements). Answers are 1..4 (or a..d as printed on
paper); a blank stays blank. Every bad cell is reported with its line number and the column
as the sheet names it, and a file with any bad cell yields nothing.

Published processing sheets put a title block above the header and totals below the
respondents: the header is the row among the first ``HEADER_SCAN`` that names the most element
columns (``U1``, ``U 1``, ``Unsur 1`` or element codes), the rows above it are skipped, and the
respondent rows end at the first row labelled as a total (``Σ``, ``Jumlah``, ``NRR``, ``IKM``
...), after which nothing is read. A number column (``No``, ``No. resp``, ``Responden``) is
ignored, and a row with nothing in the columns read (a numbered row left empty) is blank.

``open_sheet`` reads the header and streams the rows (as often as asked, re-reading the file),
so a caller can check a file of a million rows and then store it without holding it;
``read_sheet`` collects them, for a file of the usual size. The cells come from
``app.core.sheet_files``, which refuses a cell too large to be a questionnaire's.
"""

import csv
import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from app.core.forms import Form
from app.core.sheet_files import CellTooLarge, NoSuchSheet, read_cells

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
IGNORED = {
    "no",
    "nomor",
    "no_resp",
    "no_responden",
    "nomor_responden",
    "no_urut",
    "nomor_urut",
    "respondent",
    "responden",
}
# Rows searched for the header: a title block (title, unit, address, period) is a few rows.
HEADER_SCAN = 30
# The first word of a row label that ends the respondent rows: the totals under them (Σ nilai,
# Jumlah, NRR, NRR tertimbang, IKM, nilai konversi, rata-rata) and the notes after them.
FOOTER_WORDS = frozenset(
    {
        "jumlah",
        "jml",
        "total",
        "subtotal",
        "sum",
        "nrr",
        "ikm",
        "nik",
        "nilai",
        "rata",
        "rata2",
        "rerata",
        "mean",
        "average",
        "mutu",
        "kinerja",
        "bobot",
        "indeks",
        "keterangan",
    }
)
SUM_SIGNS = ("Σ", "∑")  # U+03A3 as the regulation's sheet prints it, and U+2211
# The header of the processing sheet of a mean of child units: its rows are units' NRR.
UNIT_ROWS = "no_unit"


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
    # Where the header and the respondent rows were found, when not simply from line 1 on.
    notices: list[str] = field(default_factory=list)
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


def _column_name(header: Any) -> str:
    """A header cell as it is looked up: normalised, with the element columns' spellings
    ("U 1", "U-01", "Unsur 1", "UNSUR1") as "u1"."""
    name = _normalise(header)
    match = re.fullmatch(r"(?:u|unsur)_?0*([1-9][0-9]?)", name)
    return f"u{match[1]}" if match else name


def _footer_label(value: Any) -> bool:
    """Whether a cell labels a row of totals or notes (see FOOTER_WORDS), not a respondent."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.startswith(SUM_SIGNS) or _normalise(text).split("_")[0] in FOOTER_WORDS


@dataclass(frozen=True)
class Footer:
    """The rows from the first total or note under the respondents to the sheet's last."""

    line: int
    label: str  # as the sheet writes it
    last: int  # the last line that is not blank


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
    except NoSuchSheet as exc:
        raise SheetError(path, [str(exc)]) from None
    except UNREADABLE as exc:
        raise SheetError(path, [f"cannot be read as CSV or XLSX: {exc}"]) from None


@dataclass
class SheetReader:
    """A sheet whose header is found and mapped: ``rows`` streams the respondent rows."""

    path: Path
    form: Form
    columns: dict[int, _Column]
    warnings: list[str]
    positional: tuple[str, ...] | None
    headers: dict[str, str]
    header_line: int = 1
    sheet: str | None = None  # the worksheet's name, when not the first
    # The totals and notes under the respondents, known once ``rows`` has read to the end.
    footer: Footer | None = None

    def rows(self) -> Iterator[tuple[SheetRow | None, list[str]]]:
        """Each respondent row that is not blank, with its problems (then the row is None),
        up to the footer; the rest is read only to say where it ends. Each call reads the
        file again; one that cannot be read raises SheetError on the way."""
        self.footer = None
        with _reading(self.path):
            cells = read_cells(self.path, self.sheet)
            for _ in itertools.islice(cells, self.header_line):  # the title block and header
                pass
            footer: tuple[int, str] | None = None
            last = 0
            for line, values in enumerate(cells, start=self.header_line + 1):
                if footer is not None:
                    last = line if any(not _blank(v) for v in values) else last
                    continue
                first = next((i for i, v in enumerate(values) if not _blank(v)), None)
                if first is None:
                    continue
                if first not in self.columns and _footer_label(values[first]):
                    footer, last = (line, str(values[first]).strip()), line
                    continue
                if all(_blank(values[i]) for i in self.columns if i < len(values)):
                    continue  # a numbered row left empty
                yield _parse_row(line, values, self.columns, self.form)
            if footer is not None:
                self.footer = Footer(footer[0], footer[1], last)

    @property
    def notices(self) -> list[str]:
        """Where the header was found and where the respondent rows ended, when that is not
        line 1 and the end of the file (the footer is known once the rows have been read)."""
        found: list[str] = []
        if self.header_line > 1:
            above = "line 1" if self.header_line == 2 else f"lines 1-{self.header_line - 1}"
            found.append(f"header found on line {self.header_line}; {above} above it skipped")
        if self.footer is not None:
            f = self.footer
            lines = f"line {f.line}" if f.last == f.line else f"lines {f.line}-{f.last}"
            found.append(
                f"respondent rows end at line {f.line} ({f.label!r}): {lines} are totals "
                "or notes, not respondents, and were not read"
            )
        return found

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
        return Sheet(rows, self.warnings, self.notices, self.positional, self.headers)


def open_sheet(
    path: Path,
    form: Form,
    *,
    strict: bool = True,
    order: Sequence[str] | None = None,
    sheet: str | None = None,
) -> SheetReader:
    """Find and read a sheet's header against a form. With ``strict`` an unknown column is an
    error; without it (``skm compute`` on an old spreadsheet) the column is ignored with a
    warning. ``order`` names the elements of the columns U1..Uk (default: the form's order);
    ``sheet`` the worksheet of an XLSX (default: the first)."""
    try:
        positions = check_order(order, form) if order is not None else form.element_codes
    except ValueError as exc:
        raise SheetError(path, [f"column order: {exc}"]) from None
    names = _names(form, positions)
    with _reading(path):
        found = find_header(read_cells(path, sheet), names)
    if found is None:
        raise SheetError(path, ["the file is empty"])
    line, header = found
    columns, problems, warnings = _map_columns(header, line, form, names, strict=strict)
    positional = any(_column_name(h) in _u_names(positions) for h in header)
    if order is not None and not positional:
        problems.append(
            f"line {line}: a column order is given, but the sheet has no "
            f"U1..U{len(positions)} columns"
        )
    if problems:
        raise SheetError(path, problems)
    headers = {
        column.target.removeprefix("profile:"): column.header
        for column in columns.values()
        if column.target.startswith("profile:")
    }
    positions_read = positions if positional else None
    return SheetReader(path, form, columns, warnings, positions_read, headers, line, sheet)


def read_sheet(
    path: Path,
    form: Form,
    *,
    strict: bool = True,
    order: Sequence[str] | None = None,
    sheet: str | None = None,
) -> Sheet:
    """Parse a whole sheet against a form (see open_sheet)."""
    return open_sheet(path, form, strict=strict, order=order, sheet=sheet).read()


def find_header(rows: Iterator[list[Any]], names: dict[str, str]) -> tuple[int, list[Any]] | None:
    """The header among the first HEADER_SCAN rows, as (line, cells): the first row naming the
    most element columns (then the most columns known at all) in ``names``, if it names at
    least half the elements; otherwise line 1, whose problems are then reported. None for an
    empty file. At most two rows are held, whatever the size of the title block."""
    elements = len({target for target in names.values() if not target.startswith("profile:")})
    first: list[Any] | None = None
    best: tuple[int, list[Any]] | None = None
    best_score = (0, 0)
    for line, values in enumerate(itertools.islice(rows, HEADER_SCAN), start=1):
        if first is None:
            first = values
        targets = {names[n] for n in map(_column_name, values) if n in names}
        score = (sum(not t.startswith("profile:") for t in targets), len(targets))
        if score > best_score:
            best, best_score = (line, values), score
    if first is None:
        return None
    if best is None or 2 * best_score[0] < elements:
        return 1, first
    return best


def _u_names(positions: Sequence[str]) -> dict[str, str]:
    return {f"u{i}": code for i, code in enumerate(positions, start=1)}


def _names(form: Form, positions: Sequence[str]) -> dict[str, str]:
    """Each column name a sheet may use (as _column_name writes it) -> what it holds: an
    element code, or profile:<field>."""
    by_name = _u_names(positions)
    by_name.update({code: code for code in form.element_codes})
    for target, aliases in PROFILE_ALIASES.items():
        by_name.update(dict.fromkeys(aliases, f"profile:{target}"))
    return by_name


def _map_columns(
    header: list[Any], line: int, form: Form, by_name: dict[str, str], *, strict: bool
) -> tuple[dict[int, _Column], list[str], list[str]]:
    codes = form.element_codes
    columns: dict[int, _Column] = {}
    seen: dict[str, str] = {}  # target -> the header that named it first
    problems: list[str] = []
    warnings: list[str] = []
    for index, raw in enumerate(header):
        name = _column_name(raw)
        if not name or name in IGNORED:
            continue
        written = str(raw).strip()
        found = by_name.get(name)
        if name == UNIT_ROWS:
            problems.append(
                f"line {line}: column {written!r}: this is the processing sheet of a mean of "
                "child units, whose rows are the units' NRR, not respondents' answers; "
                "compute it from the units' own sheets or stored responses"
            )
        elif found is None:
            message = f"line {line}: unknown column {raw!r}"
            (problems if strict else warnings).append(message + ("" if strict else "; ignored"))
        elif found in seen:
            problems.append(f"line {line}: column {written!r} repeats column {seen[found]!r}")
        else:
            seen[found] = written
            shown = (
                f"{written} ({found})"
                if not found.startswith("profile:") and name != found
                else written
            )
            columns[index] = _Column(found, shown)
    missing = [code for code in codes if code not in seen]
    if missing:
        problems.append(
            f"line {line}: no column for element(s) {', '.join(missing)} "
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

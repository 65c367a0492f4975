"""The cells of a CSV or XLSX file, row by row, streamed: memory does not grow with the number
of rows, and a cell too large to be part of a questionnaire is refused before it is read.

The caps, which no real questionnaire sheet comes near (its longest cell is a saran, at most
``SUGGESTION_MAX`` = 2,000 characters):

- ``CELL_MAX``: 32,767 characters in a cell, Excel's own limit (no spreadsheet program holds a
  longer cell, so a longer one was not typed, it was made).
- ``RECORD_MAX``: 100,000 characters in one CSV record (its lines together). It stays under the
  csv module's own field limit (131,072), so that limit, whose message names no line, never
  speaks first.
- ``XML_STALL_MAX``: 1 MiB of an XLSX part read without the XML parser reporting anything (one
  enormous tag or attribute), which it would otherwise buffer whole.
- ``SHARED_TEXT_MAX``: 1 GiB of text in the shared-string table. The table is kept in a
  temporary file, not in memory (8 bytes of memory per distinct string for its offset).

XLSX values are those openpyxl gives in read-only, ``data_only`` mode (numbers under a date
format become datetimes, a formula gives its cached value, rich text its plain text), and rows
missing from the file are yielded empty, so line numbers count as Excel shows them.
"""

import csv
import os
import posixpath
import tempfile
import zipfile
from array import array
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

CELL_MAX = 32_767
RECORD_MAX = 100_000
XML_STALL_MAX = 1024 * 1024
SHARED_TEXT_MAX = 1024**3
CHUNK = 64 * 1024
DELIMITERS = ",;\t"
# A CSV's delimiter is told from its first line holding TABULAR of one (a header names at least
# half the elements) among the first SNIFF_LINES, as app.core.sheets.HEADER_SCAN: the lines of
# a title block above the header hold few, and may hold commas in a file of semicolons.
TABULAR = 4
SNIFF_LINES = 30
STRING_CACHE = 4096  # short shared strings (L, P, SMA, a date) looked up once, kept in memory
SHEETS_NAMED = 20  # sheet names listed when the one asked for is not there
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


class CellTooLarge(ValueError):
    """A cell or record over its cap; the message names where it is, in one line."""


class NoSuchSheet(ValueError):
    """A worksheet asked for by name that the workbook does not have (or a CSV file)."""


def read_cells(path: Path, sheet: str | None = None) -> Iterator[list[Any]]:
    """The rows of the file's first worksheet, or of the one named ``sheet`` (an XLSX only;
    the name matched ignoring case and surrounding spaces), as lists of cell values (``None``
    for an empty cell). A file that cannot be read raises as its rows are reached:
    ``CellTooLarge``, ``NoSuchSheet``, or ``ValueError``, ``OSError``, ``KeyError``,
    ``csv.Error``, ``zipfile.BadZipFile``."""
    if path.suffix.lower() in XLSX_SUFFIXES:
        return _xlsx_rows(path, sheet)
    if sheet is not None:
        raise NoSuchSheet(f"a sheet name ({sheet!r}) is given, but a CSV file has no sheets")
    return _csv_rows(path)


# --- CSV ---


class _Lines:
    """The file's lines for csv.reader, refusing a record (the lines since the last row the
    reader gave out) that grows past RECORD_MAX: a quoted cell may span lines."""

    def __init__(self, file: IO[str], pending: list[str]) -> None:
        self.file = file
        self.pending = pending[::-1]  # lines already read, to hand out first (popped)
        self.record = 0  # characters handed out for the record being read
        self.records = 0  # records handed out before it, for messages

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self.pending:
            line = self.pending.pop()
        else:
            line = self.file.readline(RECORD_MAX + 1 - self.record)
        if not line:
            raise StopIteration
        self.record += len(line)
        if self.record > RECORD_MAX:
            raise CellTooLarge(
                f"line {self.records + 1} is longer than {RECORD_MAX:,} characters; a "
                "questionnaire row is a few hundred"
            )
        return line


def _csv_rows(path: Path) -> Iterator[list[Any]]:
    # Universal newlines, as Path.read_text reads: a saran spanning lines keeps "\n" whatever
    # the file's line ends, so its stored text and idempotency body stay as before.
    with path.open(encoding="utf-8-sig") as file:
        head, dialect = _dialect(file)
        lines = _Lines(file, head)
        for values in csv.reader(lines, dialect):
            lines.records += 1
            lines.record = 0
            for column, value in enumerate(values):
                if len(value) > CELL_MAX:
                    raise CellTooLarge(_too_long(f"line {lines.records}, column {column + 1}"))
            yield values


def _dialect(file: IO[str]) -> tuple[list[str], Any]:
    """The lines read to tell the delimiter, and the dialect: the first line's, or, when it
    holds fewer than TABULAR delimiters (a title above the header, "Unit: A, Kota B"), that
    of the first of the next SNIFF_LINES lines that holds as many."""
    head: list[str] = []
    chosen = ""
    while len(head) < SNIFF_LINES:
        line = file.readline(RECORD_MAX + 1)
        if not line:
            break
        head.append(line)
        if max(line.count(d) for d in DELIMITERS) >= TABULAR:
            chosen = line
            break
        if len(line) > RECORD_MAX:  # refused as its record is handed out
            break
    try:
        sample = (chosen or (head[0] if head else "")).split("\n", 1)[0]
        return head, csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        return head, csv.excel


def _too_long(where: str) -> str:
    return (
        f"{where} holds more than {CELL_MAX:,} characters (Excel's limit for a cell); "
        "a questionnaire's longest cell, the saran, is at most 2,000"
    )


# --- XLSX ---


def _parse(
    source: IO[bytes],
    part: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    text: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Run expat over a zip part, a chunk at a time (yielding after each), refusing a part
    where it stalls (see XML_STALL_MAX). Handlers get names without a namespace prefix."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    stalled = 0
    while True:
        chunk = source.read(CHUNK)
        # The index of the last event moves whenever expat reports anything, text included.
        before = parser.CurrentByteIndex
        parser.Parse(chunk, not chunk)
        stalled = stalled + len(chunk) if parser.CurrentByteIndex == before else 0
        if stalled > XML_STALL_MAX:
            raise CellTooLarge(
                f"{part} holds a single XML tag or attribute of more than {XML_STALL_MAX:,} "
                "bytes; it is not a questionnaire sheet"
            )
        yield
        if not chunk:
            return


def _parse_all(
    source: IO[bytes],
    part: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] = lambda name: None,
    text: Callable[[str], None] | None = None,
) -> None:
    for _ in _parse(source, part, start, end, text):
        pass


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _relationships(archive: zipfile.ZipFile, folder: str, rels: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, as the last word of its URI; the part's path)."""
    found: dict[str, tuple[str, str]] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship":
            target = attrs.get("Target", "")
            part = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(folder, target))
            )
            found[attrs.get("Id", "")] = (attrs.get("Type", "").rpartition("/")[2], part)

    if rels in archive.namelist():
        with archive.open(rels) as source:
            _parse_all(source, rels, start)
    return found


class _Book:
    """Where the worksheet (the first, or the one named ``sheet``), the shared strings and the
    styles are, and the epoch."""

    def __init__(self, archive: zipfile.ZipFile, sheet: str | None = None) -> None:
        package = _relationships(archive, "", "_rels/.rels").values()
        workbook = next((p for k, p in package if k == "officeDocument"), "xl/workbook.xml")
        folder = posixpath.dirname(workbook)
        rels = posixpath.join(folder, "_rels", posixpath.basename(workbook) + ".rels")
        targets = _relationships(archive, folder, rels)
        sheets: list[tuple[str, str]] = []  # (name, part)
        self.epoch = WINDOWS_EPOCH

        def start(name: str, attrs: dict[str, str]) -> None:
            name = _local(name)
            if name == "sheet":
                rid = next((v for k, v in attrs.items() if _local(k) == "id"), "")
                kind, part = targets.get(rid, ("", ""))
                if kind == "worksheet":
                    sheets.append((attrs.get("name", ""), part))
            elif name == "workbookPr" and attrs.get("date1904", "").lower() in {"1", "true"}:
                self.epoch = MAC_EPOCH

        with archive.open(workbook) as source:
            _parse_all(source, workbook, start)
        if not sheets:
            raise ValueError("the workbook has no worksheet")
        if sheet is None:
            self.sheet = sheets[0][1]
        else:
            wanted = sheet.strip().casefold()
            found = [part for title, part in sheets if title.strip().casefold() == wanted]
            if not found:
                names = ", ".join(repr(title) for title, _ in sheets[:SHEETS_NAMED])
                more = (
                    f" and {len(sheets) - SHEETS_NAMED} more" if len(sheets) > SHEETS_NAMED else ""
                )
                raise NoSuchSheet(f"the workbook has no sheet {sheet!r}; its sheets: {names}{more}")
            self.sheet = found[0]
        self.strings = next((p for k, p in targets.values() if k == "sharedStrings"), None)
        self.styles = next((p for k, p in targets.values() if k == "styles"), None)


def _date_styles(archive: zipfile.ZipFile, part: str | None) -> tuple[set[int], set[int]]:
    """The cell styles (indexes of cellXfs) that show a number as a date, and as a duration."""
    if part is None or part not in archive.namelist():
        return set(), set()
    custom: dict[int, str] = {}
    formats: list[str | None] = []
    where = [""]

    def start(name: str, attrs: dict[str, str]) -> None:
        name = _local(name)
        if name == "numFmt":
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif name == "cellXfs":
            where[0] = "cellXfs"
        elif name == "xf" and where[0] == "cellXfs":
            number = int(attrs.get("numFmtId", "0"))
            formats.append(custom.get(number) or builtin_format_code(number))

    def end(name: str) -> None:
        if _local(name) == "cellXfs":
            where[0] = ""

    with archive.open(part) as source:
        _parse_all(source, part, start, end)
    dates = {i for i, f in enumerate(formats) if is_date_format(f)}
    durations = {i for i, f in enumerate(formats) if is_timedelta_format(f)}
    return dates, durations


class _SharedStrings:
    """The shared-string table in a temporary file, read back by index; a string over
    CELL_MAX is not kept, only remembered as too long (the cell using it is named then)."""

    def __init__(self, archive: zipfile.ZipFile, part: str | None, store: IO[bytes]) -> None:
        self.store = store
        self.offsets = array("Q", [0])
        self.too_long: set[int] = set()
        self.cache: dict[int, str] = {}
        if part is None or part not in archive.namelist():
            return
        pieces: list[str] = []
        size = [0]
        depth = {"si": 0, "t": 0, "rPh": 0}
        written = [0]

        def start(name: str, attrs: dict[str, str]) -> None:
            name = _local(name)
            if name in depth:
                depth[name] += 1
            if name == "si":
                pieces.clear()
                size[0] = 0

        def text(data: str) -> None:
            if depth["si"] and depth["t"] and not depth["rPh"] and size[0] <= CELL_MAX:
                size[0] += len(data)
                if size[0] <= CELL_MAX:
                    pieces.append(data)
                else:
                    pieces.clear()  # stop keeping it; the rest of it is read and dropped

        def end(name: str) -> None:
            name = _local(name)
            if name in depth:
                depth[name] -= 1
            if name != "si":
                return
            if size[0] > CELL_MAX:
                self.too_long.add(len(self.offsets) - 1)
                data = b""
            else:
                # As openpyxl reads a shared string (an escaped underscore, "_x005F_").
                data = "".join(pieces).replace("x005F_", "").encode()
            written[0] += len(data)
            if written[0] > SHARED_TEXT_MAX:
                raise CellTooLarge(
                    f"{part} holds more than {SHARED_TEXT_MAX:,} bytes of text; "
                    "it is not a questionnaire sheet"
                )
            store.write(data)
            self.offsets.append(self.offsets[-1] + len(data))

        with archive.open(part) as source:
            _parse_all(source, part, start, end, text)
        store.flush()

    def get(self, index: int, ref: str) -> str:
        if index in self.cache:
            return self.cache[index]
        if not 0 <= index < len(self.offsets) - 1:
            raise ValueError(f"cell {ref} refers to shared string {index}, which is not there")
        if index in self.too_long:
            raise CellTooLarge(_too_long(f"cell {ref}"))
        begin, end = self.offsets[index], self.offsets[index + 1]
        text = os.pread(self.store.fileno(), end - begin, begin).decode()
        if end - begin <= 64:
            if len(self.cache) >= STRING_CACHE:
                self.cache.clear()
            self.cache[index] = text
        return text


def _number(text: str) -> int | float:
    return float(text) if "." in text or "E" in text or "e" in text else int(text)


class _SheetReader:
    """Expat handlers for a worksheet: each finished <row> goes to ``done`` as (number,
    {column: value})."""

    def __init__(
        self, strings: _SharedStrings, dates: set[int], durations: set[int], epoch: datetime
    ) -> None:
        self.strings, self.dates, self.durations, self.epoch = strings, dates, durations, epoch
        self.done: list[tuple[int, dict[int, Any]]] = []
        self.row_number = 0
        self.column = 0
        self.cells: dict[int, Any] = {}
        self.ref = ""
        self.kind = "n"
        self.style = 0
        self.value: list[str] | None = None  # the <v> text, once the cell has one
        self.inline: list[str] | None = None  # the <is> text, once the cell has one
        self.size = 0
        self.collect: list[str] | None = None  # where character data goes now
        self.rph = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        name = _local(name)
        if name == "c":
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                self.column = column_index_from_string(letters)
                self.ref = ref
            else:
                self.column += 1
                self.ref = f"{get_column_letter(self.column)}{self.row_number}"
            self.kind = attrs.get("t", "n")
            self.style = int(attrs.get("s") or 0)
            self.value = self.inline = None
            self.size = 0
        elif name == "v" and self.value is None:
            self.value = []
            self.collect = self.value
        elif name == "is":
            self.inline = []
        elif name == "t" and self.inline is not None and not self.rph:
            self.collect = self.inline
        elif name == "rPh":
            self.rph += 1
        elif name == "row":
            number = attrs.get("r")
            if number:
                value = float(number)
                if not value.is_integer():
                    raise ValueError(f"{number} is not a valid row number")
                self.row_number = int(value)
            else:
                self.row_number += 1
            self.column = 0
            self.cells = {}

    def text(self, data: str) -> None:
        if self.collect is not None:
            self.size += len(data)
            if self.size > CELL_MAX:
                raise CellTooLarge(_too_long(f"cell {self.ref}"))
            self.collect.append(data)

    def end(self, name: str) -> None:
        name = _local(name)
        if name in ("v", "t"):
            self.collect = None
        elif name == "rPh":
            self.rph -= 1
        elif name == "c":
            value = self._value()
            if value is not None:
                self.cells[self.column] = value
        elif name == "row":
            self.done.append((self.row_number, self.cells))

    def _value(self) -> Any:
        if self.kind == "inlineStr":
            return None if self.inline is None else "".join(self.inline)
        text = "".join(self.value) if self.value else None
        if not text:
            return None
        match self.kind:
            case "n":
                number = _number(text)
                if self.style not in self.dates:
                    return number
                try:
                    return from_excel(number, self.epoch, timedelta=self.style in self.durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            case "s":
                return self.strings.get(int(text), self.ref)
            case "b":
                return bool(int(text))
            case "d":
                return from_ISO8601(text)
            case _:  # str (a formula's text), e (an error such as #N/A)
                return text


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[list[Any]]:
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryFile() as store:
        book = _Book(archive, sheet)
        strings = _SharedStrings(archive, book.strings, store)
        dates, durations = _date_styles(archive, book.styles)
        reader = _SheetReader(strings, dates, durations, book.epoch)
        expected = 1  # the next line to yield; rows the file leaves out come out empty
        with archive.open(book.sheet) as source:
            # A chunk of the part holds a bounded number of rows: they are handed out after it.
            for _ in _parse(source, book.sheet, reader.start, reader.end, reader.text):
                for number, cells in reader.done:
                    if number < expected:  # a row out of order: openpyxl drops it too
                        continue
                    for _ in range(number - expected):
                        yield []
                    values: list[Any] = [None] * max(cells, default=0)
                    for column, value in cells.items():
                        values[column - 1] = value
                    yield values
                    expected = number + 1
                reader.done.clear()

"""What every ``skm`` command shares: the command groups, option types, the database of a
command, and turning expected failures into one-line messages."""

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import typer
from pydantic import ValidationError

from app.config import get_settings
from app.core import ikm
from app.core.forms import Form, FormError, load_forms
from app.core.periods import PeriodError, parse_period
from app.core.sheets import Sheet, SheetError, SheetReader, check_order, open_sheet
from app.db import Database
from app.errors import AppError, validation_items, validation_summary

cli = typer.Typer(no_args_is_help=True, help="Survei Kepuasan Masyarakat (SKM) service.")
db_cli = typer.Typer(no_args_is_help=True, help="Database schema and data fixes.")
unit_cli = typer.Typer(no_args_is_help=True, help="Units (unit pelayanan) and the org tree.")
service_cli = typer.Typer(no_args_is_help=True, help="Services (jenis layanan) of a unit.")
counter_cli = typer.Typer(no_args_is_help=True, help="Counters (loket / QR points) of a unit.")
population_cli = typer.Typer(no_args_is_help=True, help="Service-user population per period.")
apikey_cli = typer.Typer(no_args_is_help=True, help="API keys for other systems.")
user_cli = typer.Typer(no_args_is_help=True, help="Staff accounts of the web console.")
jobs_cli = typer.Typer(no_args_is_help=True, help="The periodic job: alerts and webhooks.")
for sub, name in (
    (db_cli, "db"),
    (unit_cli, "unit"),
    (service_cli, "service"),
    (counter_cli, "counter"),
    (population_cli, "population"),
    (apikey_cli, "apikey"),
    (user_cli, "user"),
    (jobs_cli, "jobs"),
):
    cli.add_typer(sub, name=name)


Weight = Annotated[
    str, typer.Option(help="exact (1/k), or a published fixed weight: 0.111, 0.11, 0.071")
]
RoundNrr = Annotated[int | None, typer.Option(help="Round each NRR to D decimals first")]
RoundWeighted = Annotated[int | None, typer.Option(help="Round each NRR tertimbang to D dp")]
RoundTotal = Annotated[int | None, typer.Option(help="Round the IKM (1..4) to D dp before x25")]
Table = Annotated[
    str | None,
    typer.Option(help="Grade interval table, 2017 or 2004 [default: the form's own table]"),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object")]
Columns = Annotated[
    str | None,
    typer.Option(
        help="The element codes of the columns U1..Uk in their order, comma-separated, e.g. "
        "persyaratan,prosedur,waktu,biaya,produk,kompetensi,perilaku,sarana,pengaduan "
        "[default: the form's order]"
    ),
]
SheetName = Annotated[
    str | None,
    typer.Option(
        "--sheet",
        help="The worksheet of an XLSX to read, by name (case-insensitive) [default: the first]",
    ),
]
IncludeChildren = Annotated[
    bool,
    typer.Option(
        help="The unit and all its descendants, pooled by sums and counts (default); "
        "--no-include-children: the unit's own responses only"
    ),
]
Aggregate = Annotated[
    str,
    typer.Option(
        help="pooled (every response, by sums and counts) or mean-of-children (the mean of "
        "the direct child units' figures)"
    ),
]
CODES_SHOWN = 10  # unit codes printed after the coverage counts; --json lists every one


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def writable(path: Path) -> None:
    """Refuse an output path that cannot be a new file, before any work is done."""
    if path.is_dir():
        raise fail(f"{path} is a directory: name the file to write")
    if not path.parent.is_dir():
        raise fail(f"directory {path.parent} does not exist")


T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class _Bar(Protocol[T_co]):
    def __iter__(self) -> Iterator[T_co]: ...
    def update(self, n_steps: int) -> None: ...


class _Quiet(_Bar[T]):
    def __init__(self, items: Iterable[T]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def update(self, n_steps: int) -> None:
        pass


def progress(
    items: Iterable[T], *, label: str, length: int | None = None
) -> AbstractContextManager[_Bar[T]]:
    """A progress bar on a terminal; nothing at all when the output goes to a file, a pipe or
    a cron log, where the label and the redraws are noise."""
    if sys.stdout.isatty():
        return typer.progressbar(items, length=length, label=label)
    return nullcontext(_Quiet(items))


def output_format(output: Path, fmt: str | None, choices: tuple[str, ...]) -> str:
    """The format to write: --format, else the output's extension; a file named .xlsx never
    receives a PDF. Checked before any work is done."""
    named = ", ".join(f".{c}" for c in choices)
    suffix = output.suffix.lower().removeprefix(".")
    if fmt is None:
        if suffix not in choices:
            raise fail(
                f"cannot tell the format from the file name {output.name!r}: "
                f"name a {named} file, or pass --format"
            )
        return suffix
    if fmt not in choices:
        raise fail(f"--format must be {', '.join(choices[:-1])} or {choices[-1]}, got {fmt!r}")
    if suffix and suffix != fmt:
        raise fail(
            f"--format {fmt} does not match the file name {output.name!r}: "
            f"name a .{fmt} file, or leave out --format"
        )
    return fmt


def database_of(ctx: typer.Context) -> Database:
    # Tests hand in a Database bound to their transaction through ctx.obj.
    if ctx.obj is None:
        ctx.obj = Database.from_settings(get_settings())
    assert isinstance(ctx.obj, Database)
    return ctx.obj


def method_of(
    weight: str,
    round_nrr: int | None,
    round_weighted: int | None,
    round_total: int | None,
    table: str | None,
) -> ikm.Method:
    if weight not in ikm.WEIGHT_CHOICES:
        raise fail(f"--weight must be one of {', '.join(ikm.WEIGHT_CHOICES)}, got {weight!r}")
    try:
        return ikm.Method(weight, round_nrr, round_weighted, round_total, table)  # type: ignore[arg-type]  # checked in __post_init__
    except ValueError as exc:
        raise fail(str(exc)) from None


def aggregate_of(text: str) -> ikm.Aggregation:
    choices: dict[str, ikm.Aggregation] = {
        "pooled": "pooled",
        "mean-of-children": "mean_of_children",
        "mean_of_children": "mean_of_children",  # as the API spells it
    }
    if text not in choices:
        raise fail(f"--aggregate must be pooled or mean-of-children, got {text!r}")
    return choices[text]


def print_result(result: ikm.IkmResult, heading: str, as_json: bool, extra: dict[str, Any]) -> None:
    if as_json:
        typer.echo(json.dumps({**extra, **result.to_dict()}, ensure_ascii=False, indent=2))
        return
    typer.echo(heading)
    typer.echo(f"method: {result.method.label}")
    if result.aggregate.kind != "pooled":
        typer.echo(f"aggregate: {result.aggregate.label}")
    if result.coverage is not None:
        codes = result.coverage.codes
        more = f" and {len(codes) - CODES_SHOWN} more" if len(codes) > CODES_SHOWN else ""
        typer.echo(
            f"units: {result.coverage.units} ({result.coverage.units_with_responses} with "
            f"responses): {', '.join(codes[:CODES_SHOWN])}{more}"
        )
    typer.echo(f"{'element':<28}{'n':>7}{'sum':>9}{'NRR':>9}{'weighted':>10}{'x25':>8}  mutu")
    for e in result.elements:
        nrr = f"{ikm.to_decimal(e.nrr, 3)}" if e.nrr is not None else "-"
        weighted = f"{ikm.to_decimal(e.weighted, 4)}" if e.weighted is not None else "-"
        typer.echo(
            f"{e.code:<28}{e.n:>7}{e.sum:>9}{nrr:>9}{weighted:>10}"
            f"{e.nik_rounded if e.nik_rounded is not None else '-':>8}  {e.mutu or '-'}"
        )
    typer.echo(f"n = {result.n}")
    if result.ikm is not None:
        typer.echo(f"IKM = {ikm.to_decimal(result.ikm, 5)}  NIK = {result.nik_rounded}")
        typer.echo(f"mutu {result.mutu} ({result.kinerja})")
    if result.ci is not None:
        typer.echo(f"95% interval of the NIK: {result.ci.low} - {result.ci.high}")
    if result.sample is not None:
        s = result.sample
        typer.echo(f"sample: n={s.n}, N={s.population}, minimum S={s.minimum}: {s.verdict}")
    for warning in result.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW)


def read_form_sheet(
    file: Path, form: Form, columns: str | None, *, strict: bool, sheet: str | None = None
) -> Sheet:
    """Read a whole sheet (see open_form_sheet), then say how its columns were read."""
    reader = open_form_sheet(file, form, columns, strict=strict, sheet=sheet)
    try:
        read = reader.read()
    except SheetError as exc:
        raise fail(str(exc)) from None
    sheet_notices(reader, explicit=columns is not None)
    return read


def open_form_sheet(
    file: Path, form: Form, columns: str | None, *, strict: bool, sheet: str | None = None
) -> SheetReader:
    """Open a sheet for reading against a form, its U columns in the order --columns gives,
    from the worksheet --sheet names."""
    order = None if columns is None else [c.strip().lower() for c in columns.split(",")]
    if order is not None:
        try:
            check_order(order, form)
        except ValueError as exc:
            raise fail(f"--columns: {exc}") from None
    try:
        return open_sheet(file, form, strict=strict, order=order, sheet=sheet)
    except SheetError as exc:
        raise fail(str(exc)) from None


def sheet_notices(reader: SheetReader, *, explicit: bool) -> None:
    """Say where the header and the respondent rows were found and how the U columns were
    mapped, once the rows are read: published sheets differ in the order of the last two
    elements, and a wrong guess silently swaps two elements' scores."""
    for warning in reader.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    for notice in reader.notices:
        typer.echo(f"notice: {notice}", err=True)
    if reader.positional is not None:
        notice = positional_notice(reader.form, reader.positional, explicit=explicit)
        typer.echo(f"notice: {notice}", err=True)


class RowRate:
    """Progress of a long pass over rows, for a terminal or a log alike: a line on stderr
    every ``every`` seconds (the count, the rate, and the share when the total is known);
    nothing for a pass shorter than that."""

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.every, self.clock = label, total, every, clock
        self.count = 0
        self.began = self.last = clock()

    def add(self, rows: int = 1) -> None:
        self.count += rows
        now = self.clock()
        if now - self.last < self.every:
            return
        self.last = now
        rate = self.count / (now - self.began)
        share = f" of {self.total:,} ({self.count / self.total:.0%})" if self.total else ""
        typer.echo(f"{self.label}: {self.count:,}{share} rows, {rate:,.0f} rows/s", err=True)


def positional_notice(form: Form, order: tuple[str, ...], *, explicit: bool) -> str:
    """Says how U1..Uk were read, and how to read them the other common way."""
    used = ", ".join(f"U{i}={code}" for i, code in enumerate(order, start=1))
    if explicit:
        return f"columns U1..U{len(order)} read as {used} (from --columns)"
    swapped = (*order[:-2], order[-1], order[-2])
    return (
        f"columns U1..U{len(order)} read as {used} (the regulation's order, form {form.code}); "
        f"if your sheet has U{len(order) - 1} = {order[-1]}, pass --columns {','.join(swapped)}"
    )


def load_form(code: str) -> Form:
    try:
        forms = load_forms(get_settings().forms_dir)
    except FormError as exc:
        raise fail(str(exc)) from None
    if code not in forms:
        raise fail(f"unknown form {code!r}; known forms: {', '.join(sorted(forms))}")
    return forms[code]


# --- serve and db ---


def run_action(ctx: typer.Context, action: Any) -> Any:
    """Run one use-case in a write session, turning expected failures into clean exits."""
    try:
        with database_of(ctx).session(write=True) as session:
            return action(session)
    except AppError as exc:
        raise fail(exc.detail) from None
    except ValidationError as exc:
        raise fail(validation_summary(validation_items(exc.errors()))) from None
    except OSError as exc:  # an output file that cannot be written (permissions, disk full)
        raise fail(f"{exc.filename or 'output'}: {exc.strerror}") from None


def print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, empty: str) -> None:
    if not rows:
        typer.echo(empty)
        return
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


def period_of(text: str) -> Any:
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise fail(str(exc)) from None


# --- responses and the IKM ---

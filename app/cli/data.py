"""Responses and figures from the command line: importing sheets, computing the IKM of a file
or of stored responses, the report, the sample size."""

import hashlib
import itertools
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlmodel import Session

from app.cli.common import (
    Aggregate,
    AsJson,
    Columns,
    IncludeChildren,
    RoundNrr,
    RoundTotal,
    RoundWeighted,
    RowRate,
    SheetName,
    Table,
    Weight,
    aggregate_of,
    cli,
    database_of,
    fail,
    load_form,
    method_of,
    open_form_sheet,
    output_format,
    period_of,
    print_result,
    progress,
    read_form_sheet,
    run_action,
    sheet_notices,
    writable,
)
from app.core import ikm
from app.core.periods import PERIOD_HELP
from app.core.sheets import MAX_REPORTED, SheetError, SheetReader, SheetRow
from app.errors import Conflict, InvalidInput
from app.models import (
    utcnow,
)
from app.reports.docx import write_docx
from app.reports.pdf import write_pdf
from app.reports.xlsx import write_xlsx
from app.services import (
    export,
    intake,
    org,
    questionnaires,
    results,
    scopes,
)
from app.services.report_data import build_report, respondents

# Rows per INSERT batch of an import: memory holds one batch, not the file.
IMPORT_BATCH = 2000


@cli.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    unit: Annotated[str, typer.Option(help="Unit code")],
    service: Annotated[str | None, typer.Option(help="Service code")] = None,
    form: Annotated[str | None, typer.Option(help="Form code [default: the unit's form]")] = None,
    channel: Annotated[str, typer.Option(help="qr, kiosk, paper or api")] = "paper",
    on_date: Annotated[
        str | None,
        typer.Option(
            "--date", help="Date of rows without tanggal (YYYY-MM-DD) [default: today, unit's zone]"
        ),
    ] = None,
    columns: Columns = None,
    sheet: SheetName = None,
) -> None:
    """Import a CSV/XLSX of paper questionnaires: all rows or none; re-importing is a no-op."""
    if channel not in ("qr", "kiosk", "paper", "api"):
        raise fail(f"--channel must be qr, kiosk, paper or api, got {channel!r}")
    try:
        given_date = date.fromisoformat(on_date) if on_date else None
    except ValueError:
        raise fail(f"--date {on_date!r} is not a date (YYYY-MM-DD)") from None
    version = _version(file)
    # The key derives from the unit, the file's bytes and the line: importing a file twice into
    # a unit adds nothing, and the same file may still be imported into another unit.
    with file.open("rb") as raw:
        digest = hashlib.file_digest(raw, "sha256").hexdigest()[:32]

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        form_code = form or target.form_code or questionnaires.default_form_code()
        parsed_form = load_form(form_code)
        reader = open_form_sheet(file, parsed_form, columns, strict=True, sheet=sheet)
        svc = org.get_service(session=session, unit=target, code=service) if service else None
        # The unit's own calendar day: before 08:00 WITA on 1 July, UTC still says 30 June.
        default_date = given_date or utcnow().astimezone(target.zone).date()
        codes = parsed_form.element_codes

        def response(row: SheetRow) -> intake.ResponseIn:
            return intake.ResponseIn(
                idempotency_key=f"import:{target.id}:{digest}:{row.line}",
                submitted_at=intake.local_noon(row.date or default_date, target.zone),
                answers=dict(zip(codes, row.answers, strict=True)),
                suggestion=row.suggestion,
                **row.profile,
            )

        # Pass 1 reads every row and keeps only the problems (the first few of them), so memory
        # does not grow with the file; pass 2 reads it again and stores it in batches within
        # one transaction, committed at the end: a bad last row still leaves nothing stored.
        try:
            total, undated = _check_rows(file, reader, response)
        except SheetError as exc:  # a file that cannot be read, or a cell over the caps
            raise fail(str(exc)) from None
        sheet_notices(reader, explicit=columns is not None)
        inserted = duplicates = 0
        rate = RowRate("storing", total=total)
        rows = (row for row, _ in reader.rows())
        while batch := _batch(file, rows):
            try:
                # Strict: a row stored before with other values (another --columns mapping,
                # an edited cell) is refused rather than silently kept as it was.
                result = intake.record_responses(
                    session=session,
                    unit=target,
                    items=[response(row) for row in batch],
                    channel=channel,  # type: ignore[arg-type]
                    form_code=form_code,
                    service=svc,
                    strict_replay=True,
                    commit=False,
                )
            except InvalidInput as exc:
                at = exc.loc[1] if exc.loc[1:] and isinstance(exc.loc[1], int) else None
                detail = exc.detail.split(": ", 1)[-1] if at is not None else exc.detail
                problem = f"line {batch[at].line}: {detail}" if at is not None else detail
                raise fail(_problems(file, [problem])) from None
            except Conflict:
                raise fail(
                    f"{file}: rows of this file were imported into {target.code} before with "
                    "other values (another --columns mapping, or cells edited since); nothing "
                    "was imported. Stored responses are never changed: import a corrected file "
                    "under a new name only if the earlier rows were not counted"
                ) from None
            inserted += result.inserted
            duplicates += result.duplicates
            rate.add(len(batch))
        if _version(file) != version:
            raise fail(f"{file} changed while it was imported; nothing was imported")
        session.commit()
        if undated:
            typer.echo(f"{undated} row(s) without tanggal were dated {default_date}")
        typer.echo(
            f"imported {inserted} response(s) into {target.code}; {duplicates} already imported"
        )

    run_action(ctx, action)


def _batch(file: Path, rows: Iterator[SheetRow | None]) -> list[SheetRow]:
    """The next IMPORT_BATCH rows of pass 2, which found no problem in pass 1."""
    try:
        batch = list(itertools.islice(rows, IMPORT_BATCH))
    except SheetError:
        batch = [None]
    if None in batch:
        raise fail(f"{file} changed while it was imported; nothing was imported")
    return [row for row in batch if row is not None]


def _version(file: Path) -> tuple[int, int]:
    """What tells a file that changed under an import from one that did not."""
    stat = file.stat()
    return stat.st_size, stat.st_mtime_ns


def _check_rows(
    file: Path, reader: SheetReader, response: Callable[[SheetRow], intake.ResponseIn]
) -> tuple[int, int]:
    """Pass 1 of an import: every row read and validated as a response, keeping only the
    counts and the first problems; fails listing those, as read_sheet would. Returns the
    number of rows and of rows without a date."""
    sheet_problems: list[str] = []  # a cell the sheet reader refuses
    problems: list[str] = []  # a row the response model refuses (a date out of range ...)
    counts = {"sheet": 0, "response": 0, "rows": 0, "undated": 0}
    rate = RowRate("checking")
    for row, row_problems in reader.rows():
        rate.add()
        if row is None:
            counts["sheet"] += len(row_problems)
            sheet_problems.extend(row_problems[: MAX_REPORTED - len(sheet_problems)])
            continue
        counts["rows"] += 1
        counts["undated"] += row.date is None
        try:
            response(row)
        except ValidationError as exc:
            found = [f"line {row.line}: {_sheet_problem(e, reader.headers)}" for e in exc.errors()]
            counts["response"] += len(found)
            problems.extend(found[: MAX_REPORTED - len(problems)])
    if sheet_problems:
        raise fail(str(SheetError(file, sheet_problems, total=counts["sheet"])))
    if not counts["rows"]:
        raise fail(str(SheetError(file, ["no response rows"])))
    if problems:
        raise fail(_problems(file, problems, total=counts["response"]))
    return counts["rows"], counts["undated"]


@cli.command()
def compute(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    form: Annotated[
        str | None, typer.Option(help="Form code [default: setting SKM_DEFAULT_FORM]")
    ] = None,
    weight: Weight = "exact",
    round_nrr: RoundNrr = None,
    round_weighted: RoundWeighted = None,
    round_total: RoundTotal = None,
    table: Table = None,
    as_json: AsJson = False,
    columns: Columns = None,
    sheet: SheetName = None,
) -> None:
    """The IKM of a CSV/XLSX of responses, straight from the file (no database)."""
    method = method_of(weight, round_nrr, round_weighted, round_total, table)
    parsed_form = load_form(form or questionnaires.default_form_code())
    read = read_form_sheet(file, parsed_form, columns, strict=False, sheet=sheet)
    tally = ikm.Tally.of(
        parsed_form.element_codes,
        (row.answers for row in read.rows),
        parsed_form.interval_table,
    )
    result = ikm.compute(tally, method)
    print_result(result, f"{file.name} ({parsed_form.code})", as_json, {"file": str(file)})


@cli.command("ikm")
def ikm_command(
    ctx: typer.Context,
    unit: Annotated[str, typer.Option(help="Unit code")],
    period: Annotated[str, typer.Option(help=PERIOD_HELP)],
    service: Annotated[str | None, typer.Option(help="Service code")] = None,
    counter: Annotated[str | None, typer.Option(help="Counter code")] = None,
    include_children: IncludeChildren = True,
    include_flagged: Annotated[
        bool, typer.Option(help="Count responses flagged as suspicious (left out by default)")
    ] = False,
    aggregate: Aggregate = "pooled",
    weight: Weight = "exact",
    round_nrr: RoundNrr = None,
    round_weighted: RoundWeighted = None,
    round_total: RoundTotal = None,
    table: Table = None,
    as_json: AsJson = False,
) -> None:
    """The IKM of a unit and its descendants (or its own responses only, a service or a
    counter) in a period, with the units it covers."""
    method = method_of(weight, round_nrr, round_weighted, round_total, table)
    how = aggregate_of(aggregate)
    parsed = period_of(period)

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        scope = scopes.resolve_scope(
            session=session,
            unit=target,
            period=parsed,
            service_code=service,
            counter_code=counter,
            include_children=include_children,
            include_flagged=include_flagged,
        )
        result = results.scope_ikm(session=session, scope=scope, method=method, aggregate=how)
        extra = {
            "unit": target.code,
            "period": parsed.label,
            "include_children": scope.include_children,
        }
        print_result(result, f"{target.name} ({target.code}), {parsed}", as_json, extra)

    run_action(ctx, action)


@cli.command("report")
def report_command(
    ctx: typer.Context,
    unit: Annotated[str, typer.Option(help="Unit code")],
    period: Annotated[str, typer.Option(help=PERIOD_HELP)],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="pdf, docx, xlsx or csv [default: from the file name]"),
    ] = None,
    include_children: IncludeChildren = True,
    weight: Weight = "exact",
    round_nrr: RoundNrr = None,
    round_weighted: RoundWeighted = None,
    round_total: RoundTotal = None,
    table: Table = None,
    aggregate: Aggregate = "pooled",
) -> None:
    """Write the SKM report of a unit for a period: the PDF report (BAB I-V), the same report
    as a DOCX to edit in Word or LibreOffice Writer, the XLSX processing sheet with live
    formulas and the report's tables, or the CSV of respondents."""
    writable(output)
    fmt = output_format(output, fmt, ("pdf", "docx", "xlsx", "csv"))
    method = method_of(weight, round_nrr, round_weighted, round_total, table)
    parsed = period_of(period)

    def action(session: Session) -> None:
        how = aggregate_of(aggregate)
        target = org.get_unit(session=session, code=unit)
        if fmt == "csv":
            scope = scopes.Scope(unit=target, period=parsed, include_children=include_children)
            scope = scopes.ordered_reads(session=session, scope=scope)
            total = export.summary(session=session, scope=scope)[0]
            chunks = export.csv_stream(database_of(ctx).session, scope)
            with output.open("wb") as out, progress(range(total), label="Rows") as bar:
                for chunk in chunks:
                    out.write(chunk)
                    bar.update(chunk.count(b"\r\n"))
            typer.echo(f"wrote {output} ({total} response(s))")
            return
        data = build_report(
            session=session,
            unit=target,
            period=parsed,
            method=method,
            include_children=include_children,
            aggregate=how,
        )
        if fmt == "pdf":
            write_pdf(data, respondents(session, data, target), output)
        elif fmt == "docx":
            write_docx(data, respondents(session, data, target), output)
        else:
            rows = respondents(session, data, target)
            with progress(rows, length=data.sheet_rows, label="Rows") as bar:
                write_xlsx(data, bar, output)
        typer.echo(f"wrote {output} ({output.stat().st_size} bytes, {data.result.n} response(s))")

    run_action(ctx, action)


@cli.command("sample-size")
def sample_size(population: int) -> None:
    """The Krejcie-Morgan minimum number of respondents for a population N."""
    if population < 1:
        raise fail(f"population must be at least 1, got {population}")
    typer.echo(ikm.sample_size(population))


def _sheet_problem(error: Any, headers: dict[str, str]) -> str:
    """A validation error of one row, named by the sheet's column (as its header writes it)
    rather than by the response field; a date the sheet did not give came from --date."""
    field = str(error["loc"][0]) if error["loc"] else ""
    message = str(error["msg"]).removeprefix("Value error, ")
    target = "date" if field == "submitted_at" else field
    column = headers.get(target, "--date" if target == "date" else field)
    return f"{column}: {message.replace(field, column)}" if column else message


def _problems(file: Path, problems: list[str], *, total: int | None = None) -> str:
    # ``total``: how many there were, when only the first MAX_REPORTED were kept.
    total = len(problems) if total is None else total
    more = f"\n  ... and {total - MAX_REPORTED} more" if total > MAX_REPORTED else ""
    listed = "\n".join(f"  {p}" for p in problems[:MAX_REPORTED])
    return f"{file}: {total} problem(s), nothing was imported:\n{listed}{more}"

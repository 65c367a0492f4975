"""The ``skm`` command line. Output is in English; regulation terms stay as they are."""

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar
from urllib.parse import urlsplit

import alembic.util.exc
import sqlalchemy as sa
import typer
from pydantic import ValidationError
from sqlmodel import Session
from starlette.routing import Match

from app.config import get_settings
from app.core import ikm
from app.core.forms import Form, FormError, load_forms
from app.core.periods import PERIOD_HELP, PeriodError, parse_period
from app.core.sheets import Sheet, SheetError, check_order, read_sheet
from app.db import Database, downgrade_schema, schema_is_current, upgrade_schema
from app.errors import AppError, NotFound, validation_items, validation_summary
from app.models import (
    SCOPES,
    CounterCreate,
    CounterUpdate,
    ServiceCreate,
    Unit,
    UnitCreate,
    utcnow,
    zone_label,
)
from app.reports import qr
from app.reports.pdf import write_pdf
from app.reports.xlsx import write_xlsx
from app.services import (
    apikeys,
    datafix,
    export,
    intake,
    org,
    questionnaires,
    results,
    rollups,
    scopes,
)
from app.services.report_data import build_report, respondents

cli = typer.Typer(no_args_is_help=True, help="Survei Kepuasan Masyarakat (SKM) service.")
db_cli = typer.Typer(no_args_is_help=True, help="Database schema and data fixes.")
unit_cli = typer.Typer(no_args_is_help=True, help="Units (unit pelayanan) and the org tree.")
service_cli = typer.Typer(no_args_is_help=True, help="Services (jenis layanan) of a unit.")
counter_cli = typer.Typer(no_args_is_help=True, help="Counters (loket / QR points) of a unit.")
population_cli = typer.Typer(no_args_is_help=True, help="Service-user population per period.")
apikey_cli = typer.Typer(no_args_is_help=True, help="API keys for other systems.")
for sub, name in (
    (db_cli, "db"),
    (unit_cli, "unit"),
    (service_cli, "service"),
    (counter_cli, "counter"),
    (population_cli, "population"),
    (apikey_cli, "apikey"),
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


def _writable(path: Path) -> None:
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


def _progress(
    items: Iterable[T], *, label: str, length: int | None = None
) -> AbstractContextManager[_Bar[T]]:
    """A progress bar on a terminal; nothing at all when the output goes to a file, a pipe or
    a cron log, where the label and the redraws are noise."""
    if sys.stdout.isatty():
        return typer.progressbar(items, length=length, label=label)
    return nullcontext(_Quiet(items))


def _output_format(output: Path, fmt: str | None, choices: tuple[str, ...]) -> str:
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


def _database(ctx: typer.Context) -> Database:
    # Tests hand in a Database bound to their transaction through ctx.obj.
    if ctx.obj is None:
        ctx.obj = Database.from_settings(get_settings())
    assert isinstance(ctx.obj, Database)
    return ctx.obj


def _method(
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


def _aggregate(text: str) -> ikm.Aggregation:
    choices: dict[str, ikm.Aggregation] = {
        "pooled": "pooled",
        "mean-of-children": "mean_of_children",
    }
    if text not in choices:
        raise fail(f"--aggregate must be pooled or mean-of-children, got {text!r}")
    return choices[text]


def _print_result(
    result: ikm.IkmResult, heading: str, as_json: bool, extra: dict[str, Any]
) -> None:
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


def _read_sheet(file: Path, form: Form, columns: str | None, *, strict: bool) -> Sheet:
    """Read a sheet, saying how its U columns were mapped: published sheets differ in the
    order of the last two elements, and a wrong guess silently swaps two elements' scores."""
    order = None if columns is None else [c.strip().lower() for c in columns.split(",")]
    if order is not None:
        try:
            check_order(order, form)
        except ValueError as exc:
            raise fail(f"--columns: {exc}") from None
    try:
        sheet = read_sheet(file, form, strict=strict, order=order)
    except SheetError as exc:
        raise fail(str(exc)) from None
    for warning in sheet.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    if sheet.positional is not None:
        notice = _positional_notice(form, sheet.positional, explicit=order is not None)
        typer.echo(f"notice: {notice}", err=True)
    return sheet


def _positional_notice(form: Form, order: tuple[str, ...], *, explicit: bool) -> str:
    """Says how U1..Uk were read, and how to read them the other common way."""
    used = ", ".join(f"U{i}={code}" for i, code in enumerate(order, start=1))
    if explicit:
        return f"columns U1..U{len(order)} read as {used} (from --columns)"
    swapped = (*order[:-2], order[-1], order[-2])
    return (
        f"columns U1..U{len(order)} read as {used} (the regulation's order, form {form.code}); "
        f"if your sheet has U{len(order) - 1} = {order[-1]}, pass --columns {','.join(swapped)}"
    )


def _load_form(code: str) -> Form:
    try:
        forms = load_forms(get_settings().forms_dir)
    except FormError as exc:
        raise fail(str(exc)) from None
    if code not in forms:
        raise fail(f"unknown form {code!r}; known forms: {', '.join(sorted(forms))}")
    return forms[code]


# --- serve and db ---


def _prepare_schema(url: str, is_sqlite: bool) -> None:
    if is_sqlite:
        upgrade_schema(url)
    elif not schema_is_current(url):
        raise fail("the database schema is not current; run `skm db upgrade` first")


# Pages the demo points at, shown when the app serves them (a staff console, once it exists).
DEMO_PAGES = (("landing page", "/"), ("staff console", "/console"), ("API documentation", "/docs"))


def _base_url_warnings(base_url: str, port: int) -> list[str]:
    """What is wrong with SKM_PUBLIC_BASE_URL for a server on ``port``: the survey links and
    QR codes are built from it, whatever port the server listens on."""
    found = []
    if qr.is_local_url(base_url):
        found.append(
            f"SKM_PUBLIC_BASE_URL is {base_url}, an address of this computer only: survey links "
            "and QR codes will not open on phones. Set SKM_PUBLIC_BASE_URL to the address "
            f"phones can reach, e.g. http://<this server's LAN address>:{port} or "
            "https://<your domain>"
        )
    try:
        named = urlsplit(base_url).port
    except ValueError:  # a port that is not a number
        named = None
    if named is not None and named != port:
        found.append(
            f"SKM_PUBLIC_BASE_URL names port {named}, but this server listens on port {port}: "
            f"survey links and QR codes will miss it. Set SKM_PUBLIC_BASE_URL with port {port}, "
            f"or serve with --port {named} (unless a proxy forwards port {named} here)"
        )
    return found


def _demo_links(session: Session, host: str, port: int) -> list[tuple[str, str]]:
    """The demo's pages on this computer, and one counter's survey."""
    from app.main import create_app
    from app.services.demo import SHOWCASE_UNIT

    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 (compared)
    local = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    app = create_app()

    def served(path: str) -> bool:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
        return any(route.matches(scope)[0] == Match.FULL for route in app.routes)

    links = [(label, local + path) for label, path in DEMO_PAGES if served(path)]
    unit = org.get_unit(session=session, code=SHOWCASE_UNIT)
    for counter in org.list_counters(session=session, unit=unit):
        label = "a kiosk survey" if counter.kiosk else "a survey"
        links.append(
            (label, f"{qr.survey_url(local, counter.token)} ({unit.name}, {counter.name})")
        )
    return links


@cli.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    demo: Annotated[
        bool,
        typer.Option(help="Seed the Kendari demo data if empty; allow QR codes on a local URL"),
    ] = False,
) -> None:
    """Serve the HTTP API (on SQLite, migrations are applied first)."""
    import uvicorn

    settings = get_settings()
    _prepare_schema(settings.database_url, settings.is_sqlite)
    for warning in _base_url_warnings(settings.public_base_url, port):
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    database = _database(ctx)
    links: list[tuple[str, str]] = []
    with database.session(write=True) as session:
        questionnaires.sync_forms(session=session, forms_dir=settings.forms_dir)
        if demo:
            from app.services.demo import seed_demo

            seeded = seed_demo(session=session)
            typer.echo("demo data seeded" if seeded else "database not empty: demo not seeded")
            with suppress(NotFound):  # a database that held other units before
                links = _demo_links(session, host, port)
    if demo:
        # Set in the environment, which the workers (separate processes) read their settings from.
        os.environ["SKM_ALLOW_LOCAL_BASE_URL"] = "true"
        get_settings.cache_clear()
        typer.echo(
            "demo: QR codes and posters are served even on a local SKM_PUBLIC_BASE_URL "
            "(SKM_ALLOW_LOCAL_BASE_URL=true for this server)"
        )
    if links:
        width = max(len(label) for label, _ in links)
        typer.echo("open in a browser on this computer:")
        for label, url in links:
            typer.echo(f"  {label:<{width}}  {url}")
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers)


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head) and load the survey forms."""
    settings = get_settings()
    upgrade_schema(settings.database_url, revision)
    with Database.from_settings(settings).session(write=True) as session:
        added = questionnaires.sync_forms(session=session, forms_dir=settings.forms_dir)
    typer.echo(f"schema upgraded to {revision}; {added} new form version(s)")


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (default: one step; 'base' removes everything)."""
    downgrade_schema(get_settings().database_url, revision)
    typer.echo(f"schema downgraded to {revision}")


@db_cli.command("check")
def db_check() -> None:
    """Exit non-zero when the database is not at the newest migration."""
    if not schema_is_current(get_settings().database_url):
        raise fail("the database schema is not current; run `skm db upgrade`")
    typer.echo("schema is current")


@db_cli.command("redate")
def db_redate(
    ctx: typer.Context,
    unit: Annotated[str | None, typer.Option(help="Unit code")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every unit")] = False,
) -> None:
    """Re-date stored responses from the moment each was sent, in its unit's time zone, and
    rebuild the IKM rollups of the units where a date changed (after a zone was corrected)."""
    if (unit is None) == (not every):
        raise fail("name one unit with --unit CODE, or pass --all")

    def action(session: Session) -> None:
        if unit:
            units = [org.get_unit(session=session, code=unit)]
        else:
            units = [found for found, _ in org.unit_tree(session=session)]
        done = datafix.redate(session=session, units=units)
        typer.echo(
            f"{done.responses} response(s) changed date in {len(done.unit_ids)} unit(s) "
            f"of {len(units)} checked; their rollups were rebuilt"
        )

    _run(ctx, action)


@db_cli.command("rebuild-rollups")
def db_rebuild_rollups(ctx: typer.Context) -> None:
    """Recompute the per-day IKM rollups from the stored export."""
    with _database(ctx).session(write=True) as session:
        rows = rollups.rebuild(session=session)
    typer.echo(f"rollups rebuilt: {rows} row(s)")


# --- organisation ---


def _run(ctx: typer.Context, action: Any) -> Any:
    """Run one use-case in a write session, turning expected failures into clean exits."""
    try:
        with _database(ctx).session(write=True) as session:
            return action(session)
    except AppError as exc:
        raise fail(exc.detail) from None
    except ValidationError as exc:
        raise fail(validation_summary(validation_items(exc.errors()))) from None
    except OSError as exc:  # an output file that cannot be written (permissions, disk full)
        raise fail(f"{exc.filename or 'output'}: {exc.strerror}") from None


@unit_cli.command("add")
def unit_add(
    ctx: typer.Context,
    code: str,
    name: str,
    parent: Annotated[str | None, typer.Option(help="Parent unit code")] = None,
    tz: Annotated[
        str | None,
        typer.Option(help="WIB, WITA or WIT; required at the top, else the parent's zone"),
    ] = None,
    address: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a unit (a pemda, an OPD or a unit pelayanan) to the organisation tree."""
    if tz is None and parent is None:
        raise fail("--tz is required for a unit at the top of the tree: WIB, WITA or WIT")

    def action(session: Session) -> None:
        data = UnitCreate(code=code, name=name, parent_code=parent, time_zone=tz, address=address)
        unit = org.create_unit(session=session, data=data)
        inherited = "" if tz else f", as its parent {parent}"
        typer.echo(f"unit {unit.code} added ({unit.name}, {zone_label(unit.time_zone)}{inherited})")

    _run(ctx, action)


@unit_cli.command("list")
def unit_list(ctx: typer.Context) -> None:
    """Print the organisation tree."""

    def action(session: Session) -> None:
        for unit, depth in org.unit_tree(session=session):
            state = "" if unit.active else "  (inactive)"
            zone = zone_label(unit.time_zone)
            typer.echo(f"{'  ' * depth}{unit.code}  {unit.name}  [{zone}]{state}")

    _run(ctx, action)


@service_cli.command("add")
def service_add(
    ctx: typer.Context, code: str, name: str, unit: Annotated[str, typer.Option(help="Unit code")]
) -> None:
    """Add a service (jenis layanan) to a unit."""

    def action(session: Session) -> None:
        data = ServiceCreate(unit_code=unit, code=code, name=name)
        service = org.create_service(session=session, data=data)
        typer.echo(f"service {service.code} added to unit {data.unit_code}")

    _run(ctx, action)


def _print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, empty: str) -> None:
    if not rows:
        typer.echo(empty)
        return
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


@service_cli.command("list")
def service_list(ctx: typer.Context, unit: Annotated[str, typer.Option(help="Unit code")]) -> None:
    """List a unit's services (jenis layanan)."""

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        services = org.list_services(session=session, unit=target)
        rows = [(s.code, s.name, "active" if s.active else "inactive") for s in services]
        _print_table(("code", "name", "state"), rows, empty=f"unit {target.code} has no services")

    _run(ctx, action)


@counter_cli.command("list")
def counter_list(ctx: typer.Context, unit: Annotated[str, typer.Option(help="Unit code")]) -> None:
    """List a unit's counters (loket) with their service, state, kiosk mode and survey URL."""
    base_url = get_settings().public_base_url

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        counters = org.list_counters(session=session, unit=target)
        services = {s.id: s.code for s in org.list_services(session=session, unit=target)}
        rows = [
            (
                c.code,
                c.name,
                services.get(c.service_id, "-"),
                "open" if c.active else "closed",
                "yes" if c.kiosk else "no",
                qr.survey_url(base_url, c.token),
            )
            for c in counters
        ]
        header = ("code", "name", "service", "state", "kiosk", "survey URL")
        _print_table(header, rows, empty=f"unit {target.code} has no counters")

    _run(ctx, action)


@counter_cli.command("add")
def counter_add(
    ctx: typer.Context,
    code: str,
    name: str,
    unit: Annotated[str, typer.Option(help="Unit code")],
    service: Annotated[str | None, typer.Option(help="Service code this counter serves")] = None,
) -> None:
    """Add a counter (loket) and print its survey URL for the QR code."""

    def action(session: Session) -> None:
        data = CounterCreate(unit_code=unit, code=code, name=name, service_code=service)
        counter = org.create_counter(session=session, data=data)
        base = get_settings().public_base_url.rstrip("/")
        typer.echo(f"counter {counter.code} added; survey URL: {base}/s/{counter.token}")

    _run(ctx, action)


def _counter_action(ctx: typer.Context, unit: str, code: str, change: Any) -> None:
    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        counter = change(
            session=session, counter=org.get_counter(session=session, unit=target, code=code)
        )
        base = get_settings().public_base_url
        state = "open" if counter.active else "closed"
        typer.echo(
            f"counter {counter.code} is {state}; survey URL: {qr.survey_url(base, counter.token)}"
        )

    _run(ctx, action)


@counter_cli.command("deactivate")
def counter_deactivate(
    ctx: typer.Context, code: str, unit: Annotated[str, typer.Option(help="Unit code")]
) -> None:
    """Close a counter's survey (its page then says the survey is closed)."""
    _counter_action(ctx, unit, code, partial(org.update_counter, data=CounterUpdate(active=False)))


@counter_cli.command("activate")
def counter_activate(
    ctx: typer.Context, code: str, unit: Annotated[str, typer.Option(help="Unit code")]
) -> None:
    """Reopen a counter's survey."""
    _counter_action(ctx, unit, code, partial(org.update_counter, data=CounterUpdate(active=True)))


@counter_cli.command("rotate")
def counter_rotate(
    ctx: typer.Context, code: str, unit: Annotated[str, typer.Option(help="Unit code")]
) -> None:
    """Give a counter a new survey URL; codes printed with the old one stop working."""
    _counter_action(ctx, unit, code, org.rotate_counter_token)


@counter_cli.command("kiosk")
def counter_kiosk(
    ctx: typer.Context,
    code: str,
    unit: Annotated[str, typer.Option(help="Unit code")],
    on: Annotated[
        bool,
        typer.Option(
            "--on/--off",
            help="--on: a tablet at the counter that everyone answers on; --off: a QR code "
            "for personal phones",
        ),
    ],
) -> None:
    """Make a counter a kiosk (a shared tablet) or a QR point for personal phones again."""

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        counter = org.update_counter(
            session=session,
            counter=org.get_counter(session=session, unit=target, code=code),
            data=CounterUpdate(kiosk=on),
        )
        kind = "a kiosk (shared tablet)" if counter.kiosk else "a QR point for personal phones"
        typer.echo(f"counter {counter.code} of unit {target.code} is {kind}")

    _run(ctx, action)


@cli.command("qr")
def qr_command(
    ctx: typer.Context,
    unit: Annotated[str, typer.Option(help="Unit code")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write")],
    counter: Annotated[str | None, typer.Option(help="Counter code (png/svg need one)")] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="png, svg or pdf (posters) [default: from the file name]"),
    ] = None,
    allow_local: Annotated[
        bool,
        typer.Option(
            "--allow-local", help="Print even on a loopback SKM_PUBLIC_BASE_URL (a local trial)"
        ),
    ] = False,
) -> None:
    """Write a counter's QR code (PNG/SVG) or the A5 posters of a unit's counters (PDF), with
    survey links under SKM_PUBLIC_BASE_URL (refused while it is a loopback address)."""
    _writable(output)
    fmt = _output_format(output, fmt, ("png", "svg", "pdf"))
    if fmt != "pdf" and counter is None:
        raise fail(f"a {fmt} file holds one QR code: name the counter with --counter")
    settings = get_settings()
    try:
        base_url = org.printable_base_url(
            base_url=settings.public_base_url,
            allow_local=allow_local or settings.allow_local_base_url,
            to_allow="pass --allow-local",
        )
    except AppError as exc:
        raise fail(exc.detail) from None

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        chosen = org.get_counter(session=session, unit=target, code=counter) if counter else None
        found = org.posters(session=session, unit=target, counter=chosen, base_url=base_url)
        if fmt == "pdf":
            data = qr.posters_pdf(found)
        else:
            data = (qr.qr_png if fmt == "png" else qr.qr_svg)(found[0].url)
        output.write_bytes(data)
        typer.echo(f"wrote {output} ({len(found)} counter(s), {len(data)} bytes)")

    _run(ctx, action)


@apikey_cli.command("create")
def apikey_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    scope: Annotated[list[str], typer.Option(help=f"Repeatable: {', '.join(SCOPES)}")],
    unit: Annotated[str | None, typer.Option(help="Limit the key to this unit's subtree")] = None,
    expires: Annotated[str | None, typer.Option(help="Last valid day (YYYY-MM-DD)")] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    try:
        expiry = date.fromisoformat(expires) if expires else None
    except ValueError:
        raise fail(f"--expires {expires!r} is not a date (YYYY-MM-DD)") from None

    def action(session: Session) -> None:
        key, plaintext = apikeys.create_key(
            session=session, name=name, scopes=scope, unit_code=unit, expires=expiry
        )
        typer.echo(plaintext)
        typer.echo(f"key {key.prefix} ({key.scopes}) created; it is shown only this once", err=True)

    _run(ctx, action)


@apikey_cli.command("list")
def apikey_list(ctx: typer.Context) -> None:
    """List API keys (prefix, name, scopes, limits, last use); never the secrets."""

    def action(session: Session) -> None:
        for key in apikeys.list_keys(session=session):
            state = "revoked" if key.revoked_at else "active"
            used = key.last_used_at.isoformat(timespec="minutes") if key.last_used_at else "never"
            unit = session.get(Unit, key.unit_id) if key.unit_id else None
            limit = f" unit={unit.code}" if unit else ""
            expiry = f" expires={key.expires_at.date()}" if key.expires_at else ""
            typer.echo(
                f"{key.prefix}  {key.name}  [{key.scopes}]{limit}{expiry}  {state}  "
                f"last used {used}"
            )

    _run(ctx, action)


@apikey_cli.command("revoke")
def apikey_revoke(ctx: typer.Context, prefix: str) -> None:
    """Revoke an API key by its prefix; it stops working at once."""

    def action(session: Session) -> None:
        key = apikeys.revoke_key(session=session, prefix=prefix)
        typer.echo(f"key {key.prefix} revoked")

    _run(ctx, action)


@population_cli.command("set")
def population_set(
    ctx: typer.Context,
    population: int,
    unit: Annotated[str, typer.Option(help="Unit code")],
    period: Annotated[str, typer.Option(help=PERIOD_HELP)],
) -> None:
    """Record the number of service users of a unit in a period (for the sample check)."""
    parsed = _period(period)

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        org.set_population(session=session, unit=target, period=parsed, population=population)
        minimum = ikm.sample_size(population)
        typer.echo(
            f"population of {target.code} in {parsed}: {population} (minimum sample {minimum})"
        )

    _run(ctx, action)


def _period(text: str) -> Any:
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise fail(str(exc)) from None


# --- responses and the IKM ---


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
) -> None:
    """Import a CSV/XLSX of paper questionnaires: all rows or none; re-importing is a no-op."""
    if channel not in ("qr", "kiosk", "paper", "api"):
        raise fail(f"--channel must be qr, kiosk, paper or api, got {channel!r}")
    try:
        given_date = date.fromisoformat(on_date) if on_date else None
    except ValueError:
        raise fail(f"--date {on_date!r} is not a date (YYYY-MM-DD)") from None
    # The key derives from the unit, the file's bytes and the line: importing a file twice into
    # a unit adds nothing, and the same file may still be imported into another unit.
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:32]

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        form_code = form or target.form_code or questionnaires.default_form_code()
        parsed_form = _load_form(form_code)
        sheet = _read_sheet(file, parsed_form, columns, strict=True)
        undated = sum(1 for row in sheet.rows if row.date is None)
        svc = org.get_service(session=session, unit=target, code=service) if service else None
        # The unit's own calendar day: before 08:00 WITA on 1 July, UTC still says 30 June.
        default_date = given_date or utcnow().astimezone(target.zone).date()
        items = []
        with _progress(sheet.rows, label="Reading rows") as rows:
            for row in rows:
                items.append(
                    intake.ResponseIn(
                        idempotency_key=f"import:{target.id}:{digest}:{row.line}",
                        submitted_at=intake.local_noon(row.date or default_date, target.zone),
                        answers=dict(zip(parsed_form.element_codes, row.answers, strict=True)),
                        suggestion=row.suggestion,
                        **row.profile,
                    )
                )
        result = intake.record_responses(
            session=session,
            unit=target,
            items=items,
            channel=channel,  # type: ignore[arg-type]
            form_code=form_code,
            service=svc,
        )
        if undated:
            typer.echo(f"{undated} row(s) without tanggal were dated {default_date}")
        typer.echo(
            f"imported {result.inserted} response(s) into {target.code}; "
            f"{result.duplicates} already imported"
        )

    _run(ctx, action)


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
) -> None:
    """The IKM of a CSV/XLSX of responses, straight from the file (no database)."""
    method = _method(weight, round_nrr, round_weighted, round_total, table)
    parsed_form = _load_form(form or questionnaires.default_form_code())
    sheet = _read_sheet(file, parsed_form, columns, strict=False)
    tally = ikm.Tally.of(
        parsed_form.element_codes,
        (row.answers for row in sheet.rows),
        parsed_form.interval_table,
    )
    result = ikm.compute(tally, method)
    _print_result(result, f"{file.name} ({parsed_form.code})", as_json, {"file": str(file)})


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
    method = _method(weight, round_nrr, round_weighted, round_total, table)
    how = _aggregate(aggregate)
    parsed = _period(period)

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
        _print_result(result, f"{target.name} ({target.code}), {parsed}", as_json, extra)

    _run(ctx, action)


@cli.command("report")
def report_command(
    ctx: typer.Context,
    unit: Annotated[str, typer.Option(help="Unit code")],
    period: Annotated[str, typer.Option(help=PERIOD_HELP)],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="pdf, xlsx or csv [default: from the file name]"),
    ] = None,
    include_children: IncludeChildren = True,
    weight: Weight = "exact",
    round_nrr: RoundNrr = None,
    round_weighted: RoundWeighted = None,
    round_total: RoundTotal = None,
    table: Table = None,
    aggregate: Aggregate = "pooled",
) -> None:
    """Write the SKM report of a unit for a period: the PDF report (BAB I-V), the XLSX
    processing sheet with live formulas and the report's tables, or the CSV of respondents."""
    _writable(output)
    fmt = _output_format(output, fmt, ("pdf", "xlsx", "csv"))
    method = _method(weight, round_nrr, round_weighted, round_total, table)
    parsed = _period(period)

    def action(session: Session) -> None:
        how = _aggregate(aggregate)
        target = org.get_unit(session=session, code=unit)
        if fmt == "csv":
            scope = scopes.Scope(unit=target, period=parsed, include_children=include_children)
            scope = scopes.ordered_reads(session=session, scope=scope)
            total = export.summary(session=session, scope=scope)[0]
            chunks = export.csv_stream(_database(ctx).session, scope)
            with output.open("wb") as out, _progress(range(total), label="Rows") as bar:
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
            write_pdf(data, output)
        else:
            rows = respondents(session, data, target)
            with _progress(rows, length=data.sheet_rows, label="Rows") as bar:
                write_xlsx(data, bar, output)
        typer.echo(f"wrote {output} ({output.stat().st_size} bytes, {data.result.n} response(s))")

    _run(ctx, action)


@cli.command("sample-size")
def sample_size(population: int) -> None:
    """The Krejcie-Morgan minimum number of respondents for a population N."""
    if population < 1:
        raise fail(f"population must be at least 1, got {population}")
    typer.echo(ikm.sample_size(population))


def main() -> None:
    # Failures a user can fix without a traceback: the database, a migration name.
    try:
        cli()
    except sa.exc.OperationalError as exc:
        raise SystemExit(f"error: cannot use the database: {exc.orig or exc}") from None
    except alembic.util.exc.CommandError as exc:
        raise SystemExit(f"error: {exc}") from None

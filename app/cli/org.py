"""The organisation from the command line: units, services, counters (and their QR codes),
populations and API keys."""

from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from app.cli.common import (
    apikey_cli,
    cli,
    counter_cli,
    fail,
    output_format,
    period_of,
    population_cli,
    print_table,
    run_action,
    service_cli,
    unit_cli,
    writable,
)
from app.config import get_settings
from app.core import ikm
from app.core.periods import PERIOD_HELP
from app.errors import AppError
from app.models import (
    SCOPES,
    CounterCreate,
    CounterUpdate,
    ServiceCreate,
    Unit,
    UnitCreate,
    UnitReportSettingUpdate,
    zone_label,
)
from app.reports import qr
from app.reports.wording import nip_text
from app.services import (
    apikeys,
    org,
    report_settings,
)


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

    run_action(ctx, action)


@unit_cli.command("list")
def unit_list(ctx: typer.Context) -> None:
    """Print the organisation tree."""

    def action(session: Session) -> None:
        for unit, depth in org.unit_tree(session=session):
            state = "" if unit.active else "  (inactive)"
            zone = zone_label(unit.time_zone)
            typer.echo(f"{'  ' * depth}{unit.code}  {unit.name}  [{zone}]{state}")

    run_action(ctx, action)


@unit_cli.command("report-settings")
def unit_report_settings(
    ctx: typer.Context,
    code: str,
    signer_title: Annotated[
        str | None,
        typer.Option(help="Jabatan, e.g. 'Wali Kota Kendari' [default: 'Kepala ' + unit name]"),
    ] = None,
    signer_name: Annotated[str | None, typer.Option(help="Name with degrees, as signed")] = None,
    signer_nip: Annotated[str | None, typer.Option(help="18 digits, spaces allowed")] = None,
    city: Annotated[
        str | None, typer.Option(help="Place of signing [default: the nearest parent's]")
    ] = None,
    sign_date: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD [default: the day of the report]")
    ] = None,
    foreword: Annotated[
        Path | None,
        typer.Option(help="A text file with the kata pengantar (blank lines between paragraphs)"),
    ] = None,
) -> None:
    """Show or change what a unit's report prints besides its figures: the signer, the place
    and date of signing, the kata pengantar. Options not given stay; '' returns one to its
    default (for --foreword, an empty file)."""
    changes: dict[str, Any] = {
        "signer_title": signer_title,
        "signer_name": signer_name,
        "signer_nip": signer_nip,
        "city": city,
        "sign_date": sign_date,
    }
    if foreword is not None:
        try:
            changes["foreword"] = foreword.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"--foreword {foreword}: {exc}") from None
    given = {name: value.strip() or None for name, value in changes.items() if value is not None}

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=code)
        if given:
            current = report_settings.own_settings(session=session, unit=target)
            before = (
                current.model_dump(include=set(UnitReportSettingUpdate.model_fields))
                if current
                else {}
            )
            data = UnitReportSettingUpdate.model_validate({**before, **given})
            report_settings.put_settings(session=session, unit=target, data=data)
        found = report_settings.resolve(session=session, unit=target)
        inherited = (
            f" (from {found.city_from})" if found.city_from not in (None, target.code) else ""
        )
        lines = [
            ("jabatan", found.signer_title or f"Kepala {target.name} (default)"),
            ("name", found.signer_name or "- (a line to sign over)"),
            ("NIP", nip_text(found.signer_nip) if found.signer_nip else "-"),
            ("city", f"{found.city}{inherited}" if found.city else "- (a line to fill in)"),
            ("sign date", str(found.sign_date) if found.sign_date else "the day of the report"),
            (
                "kata pengantar",
                f"{len(found.foreword)} characters" if found.foreword else "standard",
            ),
            (
                "logo",
                f"{found.logo.media_type} from {found.logo_from}" if found.logo else "none",
            ),
        ]
        typer.echo(f"report settings of unit {target.code}:")
        for name, value in lines:
            typer.echo(f"  {name:<15}{value}")

    run_action(ctx, action)


@unit_cli.command("logo")
def unit_logo(
    ctx: typer.Context,
    code: str,
    image: Annotated[Path | None, typer.Argument(help="A PNG, JPEG or SVG file")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the unit's own logo")] = False,
) -> None:
    """Store a unit's logo (printed on its reports and those of the units below it that have
    none), or remove it with --remove."""
    if (image is None) == (not remove):
        raise fail("give either an image file or --remove")
    content = b""
    if image is not None:
        try:
            content = image.read_bytes()
        except OSError as exc:
            raise fail(f"{image}: {exc.strerror}") from None

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=code)
        if remove:
            report_settings.remove_logo(session=session, unit=target)
            typer.echo(f"logo of unit {target.code} removed")
            return
        stored = report_settings.set_logo(session=session, unit=target, content=content)
        typer.echo(f"logo of unit {target.code} stored ({stored.media_type}, {len(content)} bytes)")

    run_action(ctx, action)


@service_cli.command("add")
def service_add(
    ctx: typer.Context, code: str, name: str, unit: Annotated[str, typer.Option(help="Unit code")]
) -> None:
    """Add a service (jenis layanan) to a unit."""

    def action(session: Session) -> None:
        data = ServiceCreate(unit_code=unit, code=code, name=name)
        service = org.create_service(session=session, data=data)
        typer.echo(f"service {service.code} added to unit {data.unit_code}")

    run_action(ctx, action)


@service_cli.command("list")
def service_list(ctx: typer.Context, unit: Annotated[str, typer.Option(help="Unit code")]) -> None:
    """List a unit's services (jenis layanan)."""

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        services = org.list_services(session=session, unit=target)
        rows = [(s.code, s.name, "active" if s.active else "inactive") for s in services]
        print_table(("code", "name", "state"), rows, empty=f"unit {target.code} has no services")

    run_action(ctx, action)


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
        print_table(header, rows, empty=f"unit {target.code} has no counters")

    run_action(ctx, action)


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

    run_action(ctx, action)


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

    run_action(ctx, action)


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

    run_action(ctx, action)


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
    writable(output)
    fmt = output_format(output, fmt, ("png", "svg", "pdf"))
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

    run_action(ctx, action)


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

    run_action(ctx, action)


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

    run_action(ctx, action)


@apikey_cli.command("revoke")
def apikey_revoke(ctx: typer.Context, prefix: str) -> None:
    """Revoke an API key by its prefix; it stops working at once."""

    def action(session: Session) -> None:
        key = apikeys.revoke_key(session=session, prefix=prefix)
        typer.echo(f"key {key.prefix} revoked")

    run_action(ctx, action)


@population_cli.command("set")
def population_set(
    ctx: typer.Context,
    population: int,
    unit: Annotated[str, typer.Option(help="Unit code")],
    period: Annotated[str, typer.Option(help=PERIOD_HELP)],
) -> None:
    """Record the number of service users of a unit in a period (for the sample check)."""
    parsed = period_of(period)

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        org.set_population(session=session, unit=target, period=parsed, population=population)
        minimum = ikm.sample_size(population)
        typer.echo(
            f"population of {target.code} in {parsed}: {population} (minimum sample {minimum})"
        )

    run_action(ctx, action)

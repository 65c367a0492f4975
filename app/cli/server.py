"""``skm serve`` and ``skm db``: running the service, its schema and data fixes."""

import os
import secrets
import sys
from contextlib import suppress
from typing import Annotated
from urllib.parse import urlsplit

import typer
from sqlmodel import Session
from starlette.routing import Match

from app.cli.common import (
    cli,
    database_of,
    db_cli,
    fail,
    run_action,
)
from app.config import PLACEHOLDER_SECRET, get_settings
from app.db import Database, downgrade_schema, schema_is_current, upgrade_schema
from app.errors import NotFound
from app.reports import qr
from app.services import (
    datafix,
    org,
    questionnaires,
    rollups,
)
from app.workers import command_line


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
    settings = get_settings()
    _prepare_schema(settings.database_url, settings.is_sqlite)
    if settings.secret_key.get_secret_value() == PLACEHOLDER_SECRET:
        typer.secho(
            "warning: SKM_SECRET_KEY is the development placeholder; production refuses it "
            "(run `skm secret` to make a key)",
            fg=typer.colors.YELLOW,
            err=True,
        )
    for warning in _base_url_warnings(settings.public_base_url, port):
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    opened_here = ctx.obj is None  # not a database a test handed in
    database = database_of(ctx)
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
        from app.services.demo import DEMO_ACCOUNTS

        typer.echo("sign in to the staff console (demo accounts; never use them in production):")
        for email, password, role, unit in DEMO_ACCOUNTS:
            typer.echo(f"  {role:<8} of {unit:<14} {email}  password: {password}")
    if opened_here:
        database.engine.dispose()  # its connections closed properly, not cut by the exec
    # This process becomes the server (same pid, signals reach uvicorn directly), running a
    # module light enough for every spawned worker to import again (see app/workers.py).
    argv = command_line(
        host=host,
        port=port,
        workers=workers,
        healthcheck_seconds=settings.worker_healthcheck_seconds,
    )
    sys.stdout.flush()  # exec discards what Python has not yet written
    sys.stderr.flush()
    os.execv(argv[0], argv)  # noqa: S606 (the argv is built here, no shell involved)


@cli.command()
def secret() -> None:
    """Print a new random SKM_SECRET_KEY."""
    typer.echo(secrets.token_urlsafe(48))


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
        rebuilt = "; their rollups were rebuilt" if done.unit_ids else "; nothing to rebuild"
        typer.echo(
            f"{done.responses} response(s) changed date in {len(done.unit_ids)} unit(s) "
            f"of {len(units)} checked{rebuilt}"
        )

    run_action(ctx, action)


@db_cli.command("rebuild-rollups")
def db_rebuild_rollups(ctx: typer.Context) -> None:
    """Recompute the IKM rollups (per day and per month) from the stored responses."""
    with database_of(ctx).session(write=True) as session:
        rows = rollups.rebuild(session=session)
    typer.echo(f"rollups rebuilt: {rows} per-day row(s) and their month rows")


# --- organisation ---

"""``skm user``: the staff accounts of the web console."""

import sys
from typing import Annotated

import typer
from sqlmodel import Session

from app.cli.common import database_of, fail, jobs_cli, print_table, run_action, user_cli
from app.config import get_settings
from app.models import ROLES
from app.services import accounts, jobs, org

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input")
]


def _password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or asked twice at the terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < accounts.PASSWORD_MIN:
        raise fail(f"the password needs at least {accounts.PASSWORD_MIN} characters")
    return password


@user_cli.command("create")
def user_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="The login e-mail")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}")],
    unit: Annotated[str, typer.Option(help="Unit code: the account works on its subtree")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a console account (admin, manager or viewer over a unit's subtree)."""
    if role not in ROLES:
        raise fail(f"--role must be one of {', '.join(ROLES)}")
    password = _password(password_stdin)

    def action(session: Session) -> None:
        target = org.get_unit(session=session, code=unit)
        user = accounts.create_user(
            session=session, email=email, password=password, role=role, unit=target
        )
        typer.echo(f"user {user.email} ({user.role} of {target.code}) created")

    run_action(ctx, action)


@user_cli.command("list")
def user_list(ctx: typer.Context) -> None:
    """List console accounts: e-mail, role, unit, state."""

    def action(session: Session) -> None:
        rows = [
            (user.email, user.role, unit.code, "active" if user.active else "disabled")
            for user, unit in accounts.list_users(session=session)
        ]
        print_table(("email", "role", "unit", "state"), rows, empty="no users")

    run_action(ctx, action)


@user_cli.command("disable")
def user_disable(ctx: typer.Context, email: str) -> None:
    """Disable an account: it cannot sign in, and its open sessions end at once."""

    def action(session: Session) -> None:
        user = accounts.get_user(session=session, email=email)
        accounts.set_active(session=session, user=user, active=False)
        typer.echo(f"user {user.email} disabled; its sessions have ended")

    run_action(ctx, action)


@user_cli.command("enable")
def user_enable(ctx: typer.Context, email: str) -> None:
    """Enable a disabled account again."""

    def action(session: Session) -> None:
        user = accounts.get_user(session=session, email=email)
        accounts.set_active(session=session, user=user, active=True)
        typer.echo(f"user {user.email} enabled")

    run_action(ctx, action)


@user_cli.command("reset-password")
def user_reset_password(
    ctx: typer.Context, email: str, password_stdin: PasswordStdin = False
) -> None:
    """Set a new password; every open session of the account ends."""
    password = _password(password_stdin)

    def action(session: Session) -> None:
        user = accounts.get_user(session=session, email=email)
        accounts.reset_password(session=session, user=user, password=password)
        typer.echo(f"password of {user.email} reset; its sessions have ended")

    run_action(ctx, action)


@jobs_cli.command("run")
def jobs_run(ctx: typer.Context) -> None:
    """Run one round of the periodic job now: raise alerts from the responses stored since the
    last round and send the webhook deliveries that are due (for cron, when the server's own
    rounds are off with SKM_BACKGROUND_JOBS=false)."""
    done = jobs.run_once(database_of(ctx), get_settings())
    typer.echo(
        f"{done.alerts} alert(s) raised; {done.delivered} of {done.deliveries} webhook "
        "deliveries sent"
    )

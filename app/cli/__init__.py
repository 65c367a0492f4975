"""The ``skm`` command line. Output is in English; regulation terms stay as they are.

``common`` holds the command groups and shared helpers; ``server`` (serve, db), ``org`` (units,
services, counters, QR codes, populations, API keys), ``users`` (console accounts) and ``data``
(import, compute, ikm, report, sample-size) register their commands on import.
"""

import alembic.util.exc
import sqlalchemy as sa
from pydantic import ValidationError

from app.cli.common import cli
from app.config import Settings, settings_problem

# isort: off
# Importing registers the commands; `skm --help` lists them in this order.
from app.cli import server, org, users, data
# isort: on

__all__ = ["cli", "data", "main", "org", "server", "users"]


def main() -> None:
    # Failures a user can fix without a traceback: the settings, the database, a migration name.
    try:
        cli()
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        raise SystemExit(f"error: {settings_problem(exc)}") from None
    except sa.exc.OperationalError as exc:
        raise SystemExit(f"error: cannot use the database: {exc.orig or exc}") from None
    except alembic.util.exc.CommandError as exc:
        raise SystemExit(f"error: {exc}") from None

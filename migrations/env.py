"""Alembic environment: the models' metadata, SQLite batch mode, type comparison."""

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import app.models  # noqa: F401 (registers the tables on SQLModel.metadata)
from app.config import get_settings
from app.db import MIGRATION_LOCK, create_db_engine

config = context.config
target_metadata = SQLModel.metadata


def _connectable() -> sa.Engine:
    url = config.attributes.get("database_url") or get_settings().database_url
    return create_db_engine(url, poolclass=sa.pool.NullPool)


def run_migrations_offline() -> None:
    context.configure(
        url=config.attributes.get("database_url") or get_settings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = _connectable()
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two upgrades at once (two deploy jobs, two replicas starting): the second waits
            # here, then reads the version the first committed and finds nothing to do. The
            # lock is released with the transaction.
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

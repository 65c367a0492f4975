"""Fixtures: one migrated database per test run (SQLite, or PostgreSQL when
SKM_TEST_DATABASE_URL points at a server), and one rolled-back transaction per test."""

import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import cli
from app.config import REPO_ROOT
from app.db import Database, create_db_engine, upgrade_schema
from app.main import create_app
from app.services import apikeys, questionnaires
from app.services.demo import seed_demo
from tests.console import ADMIN, MANAGER, Staff, app_over, signed_in

PG_URL = os.environ.get("SKM_TEST_DATABASE_URL")
FORMS_DIR = REPO_ROOT / "survey_forms"


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    """A new empty database: a file on SQLite, a uniquely named database on PostgreSQL."""
    if not PG_URL:
        yield f"sqlite:///{tmp_dir / f'skm-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"skm_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        upgrade_schema(url)
        engine = create_db_engine(url)
        with Session(engine) as session:
            questionnaires.sync_forms(session=session, forms_dir=FORMS_DIR)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


class TransactionDatabase(Database):
    """Every session joins the test's outer transaction; commits become savepoints."""

    def __init__(self, engine: sa.Engine, connection: sa.Connection) -> None:
        super().__init__(engine)
        self.connection = connection

    @contextmanager
    def session(self, *, write: bool = False, snapshot: bool = True) -> Iterator[Session]:
        with Session(bind=self.connection, join_transaction_mode="create_savepoint") as session:
            yield session


@pytest.fixture
def database(engine: sa.Engine) -> Iterator[TransactionDatabase]:
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield TransactionDatabase(engine, connection)
        finally:
            transaction.rollback()


@pytest.fixture
def session(database: TransactionDatabase) -> Iterator[Session]:
    with database.session() as session:
        yield session


@pytest.fixture
def app(database: TransactionDatabase) -> FastAPI:
    from app import deps

    app = create_app()
    app.dependency_overrides[deps.database] = lambda: database
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def admin(session: Session) -> str:
    """A plaintext API key with scope admin over the whole organisation."""
    return apikeys.create_key(session=session, name="Bagian Organisasi", scopes=["admin"])[1]


class Cli:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> tuple[int, str]:
        result = self.runner.invoke(cli, list(args), obj=self.database, input=input)
        return result.exit_code, result.output


@pytest.fixture
def run_cli(database: TransactionDatabase) -> Cli:
    return Cli(database)


@dataclass(frozen=True)
class Statement:
    sql: str
    cache: str  # as SQLAlchemy's log shows it: "cached since ...", "generated in ..."
    invoked: Any  # the statement object executed

    @property
    def cached(self) -> bool:
        return self.cache.startswith("cached since")


class StatementLog:
    """The SQL statements the engine runs inside ``recording()`` (transaction control such as
    SAVEPOINT left out), with whether each compiled form came from SQLAlchemy's cache."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @contextmanager
    def recording(self) -> Iterator[list[Statement]]:
        found: list[Statement] = []

        def after(
            _conn: Any, _cursor: Any, sql: str, _params: Any, context: Any, _many: bool
        ) -> None:
            if not re.match(r"\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)\b", sql, re.I):
                # The text SQLAlchemy logs: "[cached since ...]", "[generated in ...]".
                found.append(Statement(sql, context._get_cache_stats(), context.invoked_statement))

        event.listen(self.engine, "after_cursor_execute", after)
        try:
            yield found
        finally:
            event.remove(self.engine, "after_cursor_execute", after)


@pytest.fixture
def statement_log(engine: sa.Engine) -> StatementLog:
    return StatementLog(engine)


@pytest.fixture
def private_database(tmp_path: Path) -> Iterator[Database]:
    """A migrated database of the test's own, whose sessions are separate connections (for
    what concurrent sessions see and wait for). A lock wait fails after 2 s, not never."""
    with fresh_database(tmp_path) as url:
        upgrade_schema(url)
        if url.startswith("sqlite"):
            engine = create_db_engine(url, sqlite_busy_timeout_ms=2_000)
        else:
            engine = create_db_engine(url, connect_args={"options": "-c lock_timeout=2000"})
        with Session(engine) as session:
            questionnaires.sync_forms(session=session, forms_dir=FORMS_DIR)
        try:
            yield Database(engine)
        finally:
            engine.dispose()


# --- the Kendari demo, seeded once per module (the report tests read it) ---

DEMO_NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # as tests/test_demo.py: 2026-Q4 under way
DEMO_PERIOD = "2026-Q3"


@dataclass(frozen=True)
class Demo:
    database: TransactionDatabase
    session: Session
    cli: Cli


@pytest.fixture(scope="module")
def demo(engine: sa.Engine) -> Iterator[Demo]:
    """The Kendari demo seeded once for a test module, in a transaction rolled back at its end."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            database = TransactionDatabase(engine, connection)
            with database.session() as session:
                assert seed_demo(session=session, now=DEMO_NOW)
                yield Demo(database, session, Cli(database))
        finally:
            transaction.rollback()


# --- the console over the module's demo: its app, and clients signed in as the demo's staff ---


@pytest.fixture(scope="module")
def demo_app(demo: Demo) -> FastAPI:
    return app_over(demo.database)


@pytest.fixture
async def admin_staff(demo_app: FastAPI) -> AsyncIterator[Staff]:
    """The demo's admin of the whole pemda, signed in."""
    staff = await signed_in(demo_app, ADMIN)
    yield staff
    await staff.client.aclose()


@pytest.fixture
async def manager(demo_app: FastAPI) -> AsyncIterator[Staff]:
    """The demo's manager of one puskesmas, signed in."""
    staff = await signed_in(demo_app, MANAGER)
    yield staff
    await staff.client.aclose()

"""Engines and sessions. SQLite is tuned so that an acknowledged write is durable and
concurrent writers queue instead of failing; PostgreSQL needs nothing special."""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import psycopg
import psycopg._queries
import sqlalchemy as sa
from psycopg.adapt import Dumper
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from app.config import Settings, get_settings
from app.errors import Conflict

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

WRITE = {"skm_write": True}
# The PostgreSQL advisory lock key that serialises schema migrations (any fixed 64-bit number;
# this one spells "skm" in ASCII).
MIGRATION_LOCK = 0x736B6D


class _IdsText(str):
    """Integer ids in PostgreSQL's array text form, ``{1,2,3}``: see :func:`id_array`."""


class _IdsTextDumper(Dumper):
    oid = psycopg.postgres.types["int4"].array_oid

    def dump(self, obj: Any) -> bytes:
        return str(obj).encode()


psycopg.adapters.register_dumper(_IdsText, _IdsTextDumper)

# psycopg turns a statement's %(name)s placeholders into PostgreSQL's $n by a regular
# expression on every call, unless the statement is at most 4 KB long (then the result is
# cached). The rollup statements are longer: intake's one statement (the insert and three
# rollup upserts) spent 0.3 ms per call parsing itself, half its CPU. A larger limit lets
# the cache (128 statements) hold them; tests/test_main.py checks that it does.
psycopg._queries.MAX_CACHED_STATEMENT_LENGTH = 64 * 1024


class _IdArray(sa.types.UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "INTEGER[]"


def id_array(ids: Sequence[int]) -> sa.BindParameter[Any]:
    """Integer ids as one PostgreSQL ``integer[]`` parameter, sent in the array's text form.
    The driver took 1.5 ms to send a province's two thousand ids as a list, on each of a
    reader's statements; as text, 0.3 ms. The server reads it at bind time, so the planner
    sees a constant array (which it hashes: no scan of it per row)."""
    return sa.bindparam(None, _IdsText("{" + ",".join(str(int(i)) for i in ids) + "}"), _IdArray())


def create_db_engine(
    url: str, *, sqlite_busy_timeout_ms: int = 10_000, pool_size: int = 10, **kwargs: Any
) -> sa.Engine:
    # A statement's parameters are responses' text (saran): error messages, and so tracebacks
    # in the server log, name the statement only.
    kwargs.setdefault("hide_parameters", True)
    if not url.startswith("sqlite"):
        if "poolclass" not in kwargs:
            # A fixed pool and no overflow: SQLAlchemy closes an overflow connection when it
            # comes back, so under load requests kept paying for a new PostgreSQL backend (54
            # forks a second with 12 kept + 8 overflow: citizen path 262/s; 10 to 20 kept,
            # none overflow: 400-490/s, alike within the noise). A request finding every
            # connection busy waits for one (the pool's 30 s, then 503) instead.
            kwargs.setdefault("pool_size", pool_size)
            kwargs.setdefault("max_overflow", 0)
        engine = sa.create_engine(url, **kwargs)
        _ping_when_idle(engine)

        @event.listens_for(engine, "connect")
        def _no_jit(dbapi_connection: Any, _record: Any) -> None:
            # PostgreSQL compiles a statement it costs above jit_above_cost to machine code
            # first: 30 ms to 800 ms for a province's rollup read that runs in tens, every
            # time (each statement is compiled anew). The app's statements are all short.
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET jit = off")
            dbapi_connection.commit()

        return engine
    engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite (it would otherwise issue its own
        # BEGIN lazily and break SAVEPOINTs), then set the durability pragmas.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            f"busy_timeout={int(sqlite_busy_timeout_ms)}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A writer takes the write lock up front, so two writers never deadlock on upgrade
        # from a read lock (SQLITE_BUSY mid-transaction); readers keep a plain deferred BEGIN.
        write = connection.get_execution_options().get("skm_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# A pooled connection back from a request moments ago is almost surely alive; one that sat in
# the pool longer may have been cut (a server restart, an idle timeout, a firewall).
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: sa.Engine) -> None:
    """Test a pooled connection before use only when it sat idle (SQLAlchemy's pool_pre_ping
    tests every checkout: a round trip per request that cost 0.4 ms of CPU on the busiest
    route). A connection that dies while in use still fails its request with a disconnect
    (503), and SQLAlchemy then discards every connection made before it."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["skm_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("skm_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:
            # The pool replaces the connection and tries again (SQLAlchemy's documented
            # "pessimistic" handling).
            raise sa.exc.DisconnectionError(type(exc).__name__) from exc


class Database:
    """The engine plus the two kinds of session the services use."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._write_engine: sa.Engine = engine.execution_options(**WRITE)
        # PostgreSQL runs each statement of an unpinned session as its own transaction: no
        # BEGIN and COMMIT (or ROLLBACK) round trips. SQLite keeps its transactions: its BEGIN
        # is in-process and costs nothing, and a writer must take the write lock up front.
        self._autocommit_unpinned = engine.dialect.name != "sqlite"

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        return cls(
            create_db_engine(
                settings.database_url,
                sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                pool_size=settings.database_pool_size,
            )
        )

    @contextmanager
    def session(self, *, write: bool = False, snapshot: bool = True) -> Iterator[Session]:
        """A session; ``snapshot=False`` lets each statement see the newest data on its own
        instead of one snapshot for all, and on PostgreSQL commit as it runs. For a busy
        page whose few reads need not agree with each other, or a write that is a single
        statement (a lone API response), it saves two round trips to PostgreSQL."""
        if snapshot or not self._autocommit_unpinned:
            with Session(self._write_engine if write else self.engine) as session:
                yield session
            return
        # Autocommit set on the connection, not by an engine with that isolation level: such an
        # engine listens to its connections' events, and every statement then dispatched four
        # (before and after execute, before and after the cursor's), 40 us of CPU a session.
        with self.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT", **(WRITE if write else {}))
            with Session(connection) as session:
                yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))


def upsert(session: Session, table: Any) -> Any:
    """A dialect INSERT that knows ON CONFLICT (PostgreSQL and SQLite spell it alike)."""
    return upsert_for(session.get_bind().dialect.name, table)


def upsert_for(dialect: str, table: Any) -> Any:
    """:func:`upsert` for a dialect named ``dialect``."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


S = TypeVar("S")


def per_dialect(build: Callable[[str], S]) -> Callable[[Session], S]:
    """A statement built by ``build(dialect name)`` once per dialect, then reused.

    SQLAlchemy caches the compiled SQL by the statement's cache key, but building a large
    statement (the rollup upsert names 39 columns twice) and computing its key cost
    milliseconds per call; a statement object built once keeps its key and costs neither.
    """
    built: dict[str, S] = {}

    def statement(session: Session) -> S:
        dialect = session.get_bind().dialect.name
        found = built.get(dialect)
        if found is None:
            found = built[dialect] = build(dialect)
        return found

    return statement


M = TypeVar("M", bound=SQLModel)


class ModelColumns(Generic[M]):
    """A table model's columns in a Core statement, each labelled with a prefix, and the model
    built back from a row of it: for the busiest reads (every survey page), where the ORM's
    loading of entities (identity map, instance state, events) cost as much CPU as the
    statement's round trip, and building the model from the row costs 3 us.

    The instances are read-only snapshots, unknown to any session: read them, never add
    them to a session. ``source`` is the table or an alias of it in the statement.
    """

    def __init__(self, model: type[M], prefix: str, source: sa.FromClause | None = None) -> None:
        table = model.__table__ if source is None else source  # type: ignore[attr-defined]
        self.model = model
        self.columns = [column.label(prefix + column.name) for column in table.columns]
        self._names = [(column.name, prefix + column.name) for column in table.columns]
        self._key = [prefix + column.name for column in table.columns if column.primary_key]
        self._configured = False

    def build(self, row: sa.RowMapping) -> M | None:
        """The model in a row (its ``_mapping``); None when its primary key is NULL (an outer
        join found none)."""
        if all(row[label] is None for label in self._key):
            return None
        if not self._configured:
            # The model's attributes read through its mapper, which is set up by the first
            # ORM query; in a new worker this read may be the first.
            sa.orm.configure_mappers()
            self._configured = True
        built = self.model.model_construct(**{name: row[label] for name, label in self._names})
        return cast(M, built)


def store_new(session: Session, row: Any, taken: str) -> None:
    """Commit a new row; when a concurrent request won the race for its unique code, the
    unique index refuses it and the client hears the same 409 as the earlier check gives."""
    session.add(row)
    try:
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict(taken) from None
    session.refresh(row)


@contextmanager
def without_waiting(session: Session) -> Iterator[None]:
    """On SQLite, statements in the block fail at once ("database is locked", see
    :func:`is_busy`) instead of waiting for another connection's write lock. PostgreSQL
    statements say it themselves (``SKIP LOCKED``, ``NOWAIT``)."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    # The driver's own connection: its settings can be restored whatever state the
    # transaction is left in.
    raw = session.connection().connection.driver_connection
    assert raw is not None
    previous = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout = {previous}")


def is_busy(exc: sa.exc.OperationalError) -> bool:
    """Whether SQLite refused a statement because another connection holds the lock."""
    return "database is locked" in str(exc.orig)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@lru_cache
def get_database() -> Database:
    return Database.from_settings(get_settings())


def alembic_config(url: str) -> "AlembicConfig":
    from alembic.config import Config as AlembicConfig

    import migrations

    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["database_url"] = url
    return config


def upgrade_schema(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade_schema(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def schema_is_current(url: str) -> bool:
    """Whether the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    engine = create_db_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    return set(current) == set(script.get_heads())


def contains_pattern(text: str) -> str:
    """A LIKE pattern (``escape="\\"``) matching values that hold ``text`` as typed: its
    ``%``, ``_`` and backslashes stand for themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"

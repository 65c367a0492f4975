from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.db import Database, create_db_engine, get_database
from app.main import create_app


async def test_healthz_reports_database_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_healthz_unreachable_database_is_503(tmp_path: Path) -> None:
    app = create_app()
    broken = Database(create_db_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"))
    app.dependency_overrides[get_database] = lambda: broken
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "error": "unavailable",
        "detail": "database unreachable: OperationalError",
    }


async def test_unknown_route_uses_error_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not Found"}


async def test_openapi_schema_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert "/healthz" in response.json()["paths"]


def test_sqlite_engine_makes_writes_durable(tmp_path: Path) -> None:
    # The embedded default is tested whichever database the rest of the suite runs on.
    engine = create_db_engine(f"sqlite:///{tmp_path / 'durable.db'}")
    with engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "synchronous", "foreign_keys")
        }
    engine.dispose()
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}


def test_sqlite_write_session_takes_the_write_lock_up_front(tmp_path: Path) -> None:
    """A write session holds the lock from BEGIN, so a second writer waits instead of racing."""
    database = Database(
        create_db_engine(f"sqlite:///{tmp_path / 'lock.db'}", sqlite_busy_timeout_ms=50)
    )
    with database.session() as reader, database.session() as other_reader:
        reader.connection()
        other_reader.connection()  # plain BEGIN: readers never block each other
    with database.session(write=True) as first, database.session(write=True) as second:
        first.connection()
        with pytest.raises(sa.exc.OperationalError, match="database is locked"):
            second.connection()
    database.engine.dispose()

"""The served app through a PostgreSQL crash: 503 in the error envelope while the database is
gone, service again without a restart once it is back, every acknowledged response stored
once. The cluster is a private one (tests/pgcluster.py), whatever database the suite uses."""

import time

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app import db
from app.core import ikm
from app.core.periods import parse_period
from app.db import create_db_engine, upgrade_schema
from app.models import Response, Unit
from app.services import apikeys, questionnaires, results, rollups, scopes
from tests.conftest import FORMS_DIR
from tests.factories import CODES, bearer, make_unit
from tests.pgcluster import Cluster
from tests.served import STARTED, Server, free_port

UNAVAILABLE = {"error": "unavailable", "detail": "the database is not reachable; try again shortly"}


def _one(unit: str, key: str) -> dict[str, object]:
    return {
        "unit": unit,
        "responses": [
            {
                "idempotency_key": key,
                "submitted_at": "2026-05-14T09:30:00+08:00",
                "answers": dict.fromkeys(CODES, 4),
            }
        ],
    }


@pytest.mark.slow
def test_postgresql_killed_and_restarted_is_503_then_served_again_losing_nothing() -> None:
    with Cluster() as cluster:
        url = cluster.create_database("skm")
        upgrade_schema(url)
        engine = create_db_engine(url)
        with Session(engine) as session:
            questionnaires.sync_forms(session=session, forms_dir=FORMS_DIR)
            unit = make_unit(session)
            code, unit_id = unit.code, unit.id
            _, writer = apikeys.create_key(session=session, name="k", scopes=["responses:write"])
        port = free_port()
        server = Server({"SKM_DATABASE_URL": url}, "serve", "--port", str(port))
        try:
            server.wait_for(STARTED)
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=30, headers=bearer(writer)) as client:
                assert (
                    client.post("/api/v1/responses", json=_one(code, "before")).status_code == 201
                )
                cluster.crash()
                during = client.post("/api/v1/responses", json=_one(code, "during"))
                assert (during.status_code, during.json()) == (503, UNAVAILABLE)
                assert during.headers["retry-after"] == "5"
                assert client.get("/healthz").status_code == 503
                cluster.start()
                # The client retries the same key; the server was not restarted.
                deadline = time.monotonic() + 60
                while (
                    retried := client.post("/api/v1/responses", json=_one(code, "during"))
                ).status_code == 503:
                    assert time.monotonic() < deadline, retried.text
                    time.sleep(0.1)  # polling the server's state
                assert retried.status_code == 201, retried.text
                assert client.post("/api/v1/responses", json=_one(code, "after")).status_code == 201
        finally:
            server.stop()
        with Session(engine) as session:
            unit = session.get_one(Unit, unit_id)
            keys = session.exec(select(Response.idempotency_key).order_by(col(Response.id))).all()
            assert keys == [f"api:{unit_id}:{k}" for k in ("before", "during", "after")]
            scope = scopes.Scope(unit=unit, period=parse_period("2026"))
            counted = results.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
            assert counted.n == 3
            assert rollups.rebuild(session=session, commit=False) > 0
            rebuilt = results.scope_ikm(session=session, scope=scope, method=ikm.DEFAULT_METHOD)
            assert rebuilt == counted
            session.rollback()
        engine.dispose()


@pytest.mark.slow
def test_a_pooled_connection_cut_while_idle_is_replaced_before_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Connections are tested only after sitting idle (app.db.PING_AFTER_IDLE_SECONDS); here
    # "idle" is set to any time at all, then to never, with a backend cut in between.
    def cut_the_pooled_backend(engine: sa.Engine, admin: sa.Engine) -> int:
        with engine.connect() as connection:
            pid = int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        with admin.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        return pid

    with Cluster() as cluster:
        url = cluster.create_database("skm")
        engine = create_db_engine(url, pool_size=1, max_overflow=0)
        admin = sa.create_engine(cluster.url(), poolclass=sa.pool.NullPool)
        try:
            monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
            cut = cut_the_pooled_backend(engine, admin)
            with engine.connect() as connection:
                now = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            assert now != cut

            monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
            cut_the_pooled_backend(engine, admin)
            with pytest.raises(sa.exc.OperationalError), engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        finally:
            engine.dispose()
            admin.dispose()

import asyncio
import gc
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from sqlmodel import Session
from starlette.types import Message

from app import deps
from app.config import get_settings
from app.db import Database, create_db_engine
from app.main import SecurityHeaders, create_app
from app.models import CounterCreate
from app.services import intake, org
from tests.factories import bearer, make_unit, response

PLAIN = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE = {**PLAIN, "content-security-policy": POLICY}
SURVEY = {**PAGE, "cache-control": "no-store"}


def _security_headers(response: httpx.Response) -> dict[str, str]:
    """The response's security headers, each once (a duplicate would show as "a, b")."""
    names = {*SURVEY}
    return {name: value for name, value in response.headers.items() if name in names}


async def test_healthz_reports_database_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_healthz_unreachable_database_is_503(tmp_path: Path) -> None:
    app = create_app()
    broken = Database(create_db_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"))
    app.dependency_overrides[deps.database] = lambda: broken
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


def test_a_postgresql_pool_is_fixed_at_its_setting_with_no_overflow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An overflow connection is closed when it comes back: under load every request past the
    pool paid for a new backend. The pool size is the setting, and nothing beyond it."""
    monkeypatch.setenv("SKM_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("SKM_DATABASE_POOL_SIZE", "7")
    get_settings.cache_clear()
    try:
        pool = Database.from_settings(get_settings()).engine.pool
    finally:
        get_settings.cache_clear()
    assert isinstance(pool, sa.pool.QueuePool)
    assert (pool.size(), pool._max_overflow) == (7, 0)


def test_connections_are_set_up_for_the_apps_short_statements(
    private_database: Database,
) -> None:
    """PostgreSQL: no JIT compilation (it took 30-800 ms before a province's rollup read of
    tens of ms). SQLite: the write-ahead log and full syncs that make an acknowledgement
    durable."""
    with private_database.engine.connect() as connection:
        if private_database.engine.dialect.name == "postgresql":
            assert connection.exec_driver_sql("SHOW jit").scalar_one() == "off"
        else:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL


def test_the_driver_parses_the_long_intake_statement_once() -> None:
    """psycopg caches its placeholder conversion only for statements of at most
    MAX_CACHED_STATEMENT_LENGTH bytes; app.db raises that limit, because intake's statement
    (the insert with the three rollup upserts) is longer and spent 0.3 ms per call being
    parsed. A psycopg that renamed the limit would make this fail, not the app slow."""
    import psycopg._queries as queries
    from sqlalchemy.dialects import postgresql

    pg = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = intake._counted_insert(9, arrays=False).compile(dialect=pg)
    sql = str(compiled).encode()
    assert len(sql) > 4096  # psycopg's own limit
    assert len(sql) <= queries.MAX_CACHED_STATEMENT_LENGTH
    params = dict.fromkeys(compiled.params, 1)
    before = queries._query2pg.cache_info().hits
    for _ in range(2):
        queries.PostgresQuery(psycopg.adapt.Transformer()).convert(sql, params)
    assert queries._query2pg.cache_info().hits > before


@pytest.mark.parametrize("write", [False, True])
def test_a_session_without_snapshot_runs_each_statement_on_its_own(
    private_database: Database, write: bool
) -> None:
    """On PostgreSQL no transaction is left open between its statements (no BEGIN, no
    COMMIT or ROLLBACK round trip), for reads and for a write of one statement (a lone API
    response); a plain session holds one until it ends. Both read the same."""

    def in_transaction(session: Session) -> bool:
        raw: Any = session.connection().connection.dbapi_connection
        if private_database.engine.dialect.name == "sqlite":
            return bool(raw.in_transaction)
        return bool(raw.info.transaction_status != 0)  # 0: IDLE

    seen: dict[object, object] = {}
    for snapshot in (True, False):
        with private_database.session(write=write, snapshot=snapshot) as session:
            seen[snapshot] = session.execute(sa.text("SELECT 41 + 1")).scalar_one()
            seen[snapshot, "open"] = in_transaction(session)
    expected_open = private_database.engine.dialect.name == "sqlite"  # SQLite's is free
    assert seen == {True: 42, (True, "open"): True, False: 42, (False, "open"): expected_open}


def test_sqlite_write_session_takes_the_write_lock_up_front(tmp_path: Path) -> None:
    """A write session holds the lock from BEGIN, so a second writer waits instead of racing."""
    database = Database(
        create_db_engine(f"sqlite:///{tmp_path / 'lock.db'}", sqlite_busy_timeout_ms=50)
    )
    with database.session() as reader, database.session() as other_reader:
        reader.connection()
        other_reader.connection()  # plain BEGIN: readers never block each other
    for snapshot in (True, False):  # the lone API response's session too
        with (
            database.session(write=True) as first,
            database.session(write=True, snapshot=snapshot) as second,
        ):
            first.connection()
            with pytest.raises(sa.exc.OperationalError, match="database is locked"):
                second.connection()
    database.engine.dispose()


async def test_docs_load_swagger_ui_from_this_site_only(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    referenced = re.findall(r'(?:src|href)="([^"]*)"|url: \'([^\']*)\'', page.text)
    urls = sorted(u for pair in referenced for u in pair if u)
    assert urls == [
        "/docs/swagger-ui-5.35.0/favicon-32x32.png",
        "/docs/swagger-ui-5.35.0/swagger-ui-bundle.js",
        "/docs/swagger-ui-5.35.0/swagger-ui.css",
        "/openapi.json",
    ]
    assert "//" not in "".join(urls)  # no CDN, not even protocol-relative
    assert '"validatorUrl": null' in page.text  # no call to swagger.io's validator
    types = {}
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        types[url.rpartition("/")[2]] = asset.headers["content-type"]
    assert types == {
        "favicon-32x32.png": "image/png",
        "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
        "swagger-ui.css": "text/css; charset=utf-8",
        "openapi.json": "application/json",
    }


async def test_docs_serve_only_the_vendored_files(client: httpx.AsyncClient) -> None:
    for url in ("/docs/swagger-ui-5.35.0/SOURCE", "/docs/swagger-ui-5.35.0/..%2F..%2Fdocs.py"):
        missing = await client.get(url)
        assert (missing.status_code, missing.json()["error"]) == (404, "not_found"), url
    assert (await client.get("/redoc")).status_code == 404


async def test_openapi_declares_the_bearer_api_key(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"] == {
        "ApiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `skm apikey create`: `Authorization: Bearer skm_...`",
        }
    }
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    api = [(p, m, o.get("security")) for p, m, o in operations if p.startswith("/api/")]
    assert api and all(security == [{"ApiKey": []}] for _, _, security in api), api
    assert all("security" not in o for p, _, o in operations if not p.startswith("/api/"))


async def test_every_error_body_has_one_shape(client: httpx.AsyncClient, admin: str) -> None:
    headers = {"Authorization": f"Bearer {admin}"}
    missing = await client.get("/api/v1/ikm?service=x", headers=headers)
    assert missing.status_code == 422
    assert missing.json() == {
        "error": "validation_error",
        "detail": "query.unit: Field required; query.period: Field required",
        "errors": [
            {"loc": ["query", "unit"], "msg": "Field required", "type": "missing"},
            {"loc": ["query", "period"], "msg": "Field required", "type": "missing"},
        ],
    }
    bad_period = await client.get("/api/v1/ikm?unit=x&period=2026-Q9", headers=headers)
    assert bad_period.json() == {
        "error": "validation_error",
        "detail": bad_period.json()["detail"],
        "errors": [
            {"loc": ["query", "period"], "msg": bad_period.json()["detail"], "type": "value_error"}
        ],
    }
    assert "2026-Q9" in bad_period.json()["detail"]
    broken = await client.post(
        "/api/v1/responses",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert broken.json() == {
        "error": "validation_error",
        "detail": "body.1: JSON decode error: Expecting property name enclosed in double quotes",
        "errors": [
            {
                "loc": ["body", 1],
                "msg": "JSON decode error: Expecting property name enclosed in double quotes",
                "type": "json_invalid",
            }
        ],
    }
    unauthorized = await client.get("/api/v1/units")
    assert unauthorized.headers["www-authenticate"] == "Bearer"
    assert set(unauthorized.json()) == {"error", "detail"}


async def test_a_long_list_of_problems_is_summed_up(client: httpx.AsyncClient, admin: str) -> None:
    items = [{"idempotency_key": f"k-{i}"} for i in range(4)]
    body = {"unit": "x", "responses": items}
    refused = await client.post(
        "/api/v1/responses", json=body, headers={"Authorization": f"Bearer {admin}"}
    )
    assert refused.status_code == 422
    assert len(refused.json()["errors"]) == 8  # submitted_at and answers of each
    assert refused.json()["detail"] == (
        "body.responses.0.submitted_at: Field required; body.responses.0.answers: Field "
        "required; body.responses.1.submitted_at: Field required; body.responses.1.answers: "
        "Field required; body.responses.2.submitted_at: Field required; and 3 more"
    )


UNREACHABLE_DATABASES = [
    "postgresql+psycopg://postgres@127.0.0.1:1/none",  # nothing listens on port 1
    "sqlite:///{tmp}/missing/dir/skm.db",
]


@pytest.mark.parametrize("url", UNREACHABLE_DATABASES)
async def test_unreachable_database_is_503_with_retry_after(tmp_path: Path, url: str) -> None:
    app = create_app()
    broken = Database(create_db_engine(url.format(tmp=tmp_path)))
    app.dependency_overrides[deps.database] = lambda: broken
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        # A key of the right shape: one of another shape is refused without the database.
        well_formed = f"skm_{'0' * 8}.{'a' * 43}"
        api = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {well_formed}"})
        page = await client.get("/s/abc")
        sent = await client.post("/s/abc?lang=en", content=b"form_token=x")
        health = await client.get("/healthz")
    broken.engine.dispose()
    assert (api.status_code, api.headers["retry-after"]) == (503, "5")
    assert api.json() == {
        "error": "unavailable",
        "detail": "the database is not reachable; try again shortly",
    }
    assert (page.status_code, page.headers["retry-after"]) == (503, "5")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<p>Layanan sedang tidak tersedia. Mohon coba beberapa saat lagi.</p>" in page.text
    assert page.headers["cache-control"] == "no-store"  # still a survey page's headers
    assert (sent.status_code, sent.headers["retry-after"]) == (503, "5")
    assert "<p>The service is unavailable at the moment. Please try again shortly.</p>" in sent.text
    assert health.status_code == 503
    assert health.json() == {
        "error": "unavailable",
        "detail": "database unreachable: OperationalError",
    }


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/s/abc", "GET, HEAD, POST"),
        ("DELETE", "/api/v1/responses", "GET, POST"),
        ("DELETE", "/api/v1/units/x", "GET, PATCH"),
        ("POST", "/healthz", "GET"),
    ],
)
async def test_method_not_allowed_names_every_allowed_method(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"error": "method_not_allowed", "detail": "Method Not Allowed"}


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_create_app_refuses_a_short_production_secret_in_one_log_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Caught on the logger itself: once uvicorn has configured logging, nothing propagates.
    caught = Records()
    logging.getLogger("uvicorn.error").addHandler(caught)
    monkeypatch.setenv("SKM_ENVIRONMENT", "production")
    monkeypatch.setenv("SKM_SECRET_KEY", "x")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            create_app()
    finally:
        get_settings.cache_clear()
        logging.getLogger("uvicorn.error").removeHandler(caught)
    assert exited.value.code == 1
    assert [(r.levelname, r.getMessage()) for r in caught.records] == [
        (
            "ERROR",
            "error: SKM_SECRET_KEY must be at least 32 characters in production; "
            "run `skm secret` to make one",
        )
    ]


def test_database_errors_do_not_echo_statement_parameters(db_url: str) -> None:
    engine = create_db_engine(db_url)
    saran = "Petugas loket 3 bernama Budi, nomor saya 0812-0000-0000"
    with engine.connect() as connection:
        connection.exec_driver_sql(
            "CREATE TEMPORARY TABLE echo (id INTEGER PRIMARY KEY, saran TEXT)"
        )
        insert = sa.text("INSERT INTO echo (id, saran) VALUES (1, :saran)")
        connection.execute(insert, {"saran": "pertama"})
        with pytest.raises(sa.exc.IntegrityError) as refused:
            connection.execute(insert, {"saran": saran})
        connection.rollback()
    engine.dispose()
    assert saran not in str(refused.value)
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(refused.value)


@pytest.mark.slow
def test_uvicorn_refuses_a_short_production_secret_in_one_line() -> None:
    env = {**os.environ, "SKM_ENVIRONMENT": "production", "SKM_SECRET_KEY": "x"}
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        "ERROR:    error: SKM_SECRET_KEY must be at least 32 characters in production; "
        "run `skm secret` to make one\n",
    )


class LostSessions(Database):
    """Sessions whose connection is lost as the request's session dependency opens one."""

    @contextmanager
    def session(self, *, write: bool = False, snapshot: bool = True) -> Iterator[Session]:
        raise sa.exc.OperationalError("SELECT 1", None, Exception("server closed the connection"))
        yield  # a generator, as the real one


async def test_a_connection_lost_in_the_session_dependency_is_503(database: Database) -> None:
    app = create_app()
    lost = LostSessions(database.engine)
    app.dependency_overrides[deps.database] = lambda: lost
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        # A key of the right shape: one of another shape is refused without the database.
        well_formed = f"skm_{'0' * 8}.{'a' * 43}"
        api = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {well_formed}"})
        page = await client.get("/s/abc")
    assert (api.status_code, api.headers["retry-after"]) == (503, "5")
    assert api.json() == {
        "error": "unavailable",
        "detail": "the database is not reachable; try again shortly",
    }
    assert (page.status_code, page.headers["retry-after"]) == (503, "5")


async def test_every_kind_of_response_carries_the_security_headers(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    counter = org.create_counter(
        session=session, data=CounterCreate(unit_code=unit.code, code="loket-1", name="Loket 1")
    )
    api = await client.get(f"/api/v1/ikm?unit={unit.code}&period=2026", headers=bearer(admin))
    cached = await client.get(
        f"/api/v1/ikm?unit={unit.code}&period=2026",
        headers={**bearer(admin), "If-None-Match": api.headers["etag"]},
    )
    huge = {"Content-Length": str(100 * 1024 * 1024), "Content-Type": "application/json"}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b" " * (1024 * 1024)

    answers = {
        "API": (api, 200, PLAIN),
        "API 304": (cached, 304, PLAIN),
        "survey page": (await client.get(f"/s/{counter.token}"), 200, SURVEY),
        "unknown survey": (await client.get("/s/no-such-token"), 404, SURVEY),
        "landing page": (await client.get("/"), 200, PAGE),
        "landing HEAD": (await client.head("/"), 200, PAGE),
        "404": (await client.get("/no-such-page"), 404, PLAIN),
        "413 declared": (
            await client.post("/api/v1/responses", content=b"{}", headers=huge),
            413,
            PLAIN,
        ),
        "413 declared, survey": (
            await client.post(f"/s/{counter.token}", content=b"{}", headers=huge),
            413,
            SURVEY,
        ),
        "413 counted": (
            await client.post(
                "/api/v1/responses",
                content=chunks(),
                headers={**bearer(admin), "Content-Type": "application/json"},
            ),
            413,
            PLAIN,
        ),
    }
    seen = {name: (r.status_code, _security_headers(r)) for name, (r, _, _) in answers.items()}
    assert seen == {name: (status, headers) for name, (_, status, headers) in answers.items()}


async def test_security_headers_keep_a_routes_own_value() -> None:
    app = FastAPI()
    app.add_middleware(SecurityHeaders)

    @app.get("/s/framed")
    def framed() -> PlainTextResponse:
        own = {"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "max-age=60"}
        return PlainTextResponse("ok", headers=own)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/s/framed")
    assert _security_headers(response) == {
        **SURVEY,
        "x-frame-options": "SAMEORIGIN",
        "cache-control": "max-age=60",
    }


async def test_csv_export_still_streams_through_the_headers_middleware(
    app: FastAPI, session: Session, admin: str
) -> None:
    """Driven at the ASGI level: the header line and the rows leave as separate body messages
    (the middleware only edits the start message), and the start carries the headers."""
    unit = make_unit(session)
    item = response((4, 3, 2, 4, 3, 3, 4, 3, 1), datetime(2026, 5, 14, 1, tzinfo=UTC))
    intake.record_responses(session=session, unit=unit, items=[item], channel="paper")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/responses.csv",
        "raw_path": b"/api/v1/responses.csv",
        "root_path": "",
        "query_string": f"unit={unit.code}&period=2026".encode(),
        "headers": [(b"host", b"test"), (b"authorization", f"Bearer {admin}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    sent: list[Message] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, *bodies = sent
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    assert (start["status"], headers["content-type"]) == (200, "text/csv; charset=utf-8")
    assert {name: headers[name] for name in PLAIN} == PLAIN
    assert [b["more_body"] for b in bodies] == [True, True, False]
    assert bodies[0]["body"].startswith(b"id,unit,service,counter,")
    assert bodies[1]["body"].count(b"\r\n") == 1  # the one row


async def test_the_heap_built_at_startup_is_left_out_of_full_collections_while_serving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full collection walked the whole start-up heap and stalled requests in flight for
    ~100 ms (bench/ingest.py's open-loop p99): frozen while serving, given back at shutdown."""
    monkeypatch.setenv("SKM_BACKGROUND_JOBS", "false")
    get_settings.cache_clear()
    try:
        app = create_app()
        assert gc.get_freeze_count() == 0
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000
        assert gc.get_freeze_count() == 0
    finally:
        get_settings.cache_clear()


def test_plain_routes_take_a_dependency_override_and_refuse_one_they_cannot_run(
    database: Database,
) -> None:
    """The survey's plain Starlette routes read the database and settings by hand: a test's
    override applies to them as to FastAPI's routes, and an ``async def`` override (whose
    coroutine they would never await) is refused at once rather than handed on."""
    from starlette.requests import Request

    app = create_app()
    request = Request({"type": "http", "app": app, "headers": []})
    assert deps.settings_of(request) is get_settings()
    app.dependency_overrides[deps.database] = lambda: database
    assert deps.database_of(request) is database

    async def pending() -> Database:
        return database

    app.dependency_overrides[deps.database] = pending
    with pytest.raises(TypeError, match="must return its value"):
        deps.database_of(request)

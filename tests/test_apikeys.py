"""API keys: authentication failures over HTTP, and the apikey CLI."""

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app import deps
from app.db import Database
from app.main import create_app
from app.models import ApiKey
from app.services import apikeys
from tests.conftest import Cli
from tests.factories import bearer, make_unit


async def test_missing_or_bad_keys_are_401(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    url = f"/api/v1/units/{make_unit(session).code}"
    cases = [
        ({}, "send an API key as 'Authorization: Bearer <key>'"),
        ({"Authorization": "Basic abc"}, "send an API key as 'Authorization: Bearer <key>'"),
        (bearer(admin + "x"), "invalid API key"),
        (bearer("skm_00000000.nope"), "invalid API key"),
    ]
    for headers, detail in cases:
        response = await client.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized", "detail": detail}


async def test_revoked_and_expired_keys_are_401(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    url = f"/api/v1/units/{make_unit(session).code}"
    assert (await client.get(url, headers=bearer(admin))).status_code == 200
    apikeys.revoke_key(session=session, prefix=admin.partition(".")[0])
    response = await client.get(url, headers=bearer(admin))
    assert response.status_code == 401
    assert response.json()["detail"] == "this API key is revoked or expired"


async def test_missing_scope_is_403(client: httpx.AsyncClient, session: Session) -> None:
    unit = make_unit(session)
    _, reader = apikeys.create_key(session=session, name="dashboard", scopes=["ikm:read"])
    url = f"/api/v1/units/{unit.code}"
    assert (await client.get(url, headers=bearer(reader))).status_code == 200
    response = await client.patch(url, json={"name": "Baru"}, headers=bearer(reader))
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "detail": "this API key lacks the scope 'admin'",
    }


def test_apikey_cli_create_list_revoke(run_cli: Cli, session: Session) -> None:
    unit = make_unit(session)
    code, output = run_cli(
        "apikey",
        "create",
        "--name",
        "Dasbor Pemda",
        "--scope",
        "ikm:read",
        "--scope",
        "responses:read",
        "--unit",
        unit.code,
        "--expires",
        "2099-12-31",
    )
    assert code == 0, output
    plaintext = output.splitlines()[0]
    prefix = plaintext.partition(".")[0]
    stored = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).one()
    assert stored.secret_hash != plaintext and plaintext not in stored.secret_hash
    assert stored.scopes == "ikm:read responses:read"
    code, output = run_cli("apikey", "list")
    assert prefix in output and "Dasbor Pemda" in output and plaintext not in output
    assert run_cli("apikey", "revoke", prefix) == (0, f"key {prefix} revoked\n")
    assert "revoked" in run_cli("apikey", "list")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scope", "root"], "scopes must be among"),
        (["--scope", "admin", "--unit", "nope"], "unknown unit code 'nope'"),
        (["--scope", "admin", "--expires", "2001-01-01"], "is in the past"),
        (["--scope", "admin", "--expires", "soon"], "is not a date"),
    ],
)
def test_apikey_create_bad_input(run_cli: Cli, args: list[str], message: str) -> None:
    code, output = run_cli("apikey", "create", "--name", "x", *args)
    assert code == 1
    assert message in output


async def test_a_read_with_a_key_does_not_wait_for_a_writer(private_database: Database) -> None:
    """Noting a key's last use never queues a read behind a writer: while another connection
    is in the middle of a write (on SQLite it holds the write lock, on PostgreSQL the key's
    row), a read answers at once and the note is left for a later request."""
    with private_database.session(write=True) as session:
        code = make_unit(session).code
        _, key = apikeys.create_key(session=session, name="reader", scopes=["ikm:read"])
    app = create_app()
    app.dependency_overrides[deps.database] = lambda: private_database
    transport = httpx.ASGITransport(app=app)
    with private_database.engine.connect() as writer:
        writer.execute(sa.update(ApiKey).values(name="renamed"))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get(f"/api/v1/units/{code}", headers=bearer(key))
        assert response.status_code == 200
        writer.rollback()
    with private_database.session() as session:
        assert session.exec(select(ApiKey.last_used_at)).all() == [None]

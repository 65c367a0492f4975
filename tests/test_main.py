from pathlib import Path

import httpx

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

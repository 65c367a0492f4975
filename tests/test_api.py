from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlmodel import Session

from app import services
from app.config import Settings, get_settings
from app.models import Counter, CounterCreate
from tests.factories import make_unit
from tests.tools import decode_qr, pdf_text

ADMIN = {"Authorization": "Bearer s3cret-admin-token"}


@pytest.fixture
def counter(app: FastAPI, session: Session) -> Counter:
    settings = Settings(admin_token=SecretStr("s3cret-admin-token"))
    app.dependency_overrides[get_settings] = lambda: settings
    unit = make_unit(session)
    data = CounterCreate(unit_code=unit.code, code="loket-1", name="Loket Satu")
    return services.create_counter(session=session, data=data)


@pytest.mark.parametrize("path", ["qr.png", "qr.svg", "poster.pdf"])
async def test_staff_routes_need_the_admin_token(
    client: httpx.AsyncClient, counter: Counter, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = await client.get(f"/api/v1/counters/{counter.id}/{path}", headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "error": "unauthorized",
            "detail": "missing or wrong bearer token",
        }


async def test_staff_routes_disabled_without_configured_token(
    client: httpx.AsyncClient, session: Session
) -> None:
    response = await client.get("/api/v1/units/1/posters.pdf", headers=ADMIN)
    assert response.status_code == 401
    assert response.json()["detail"] == "staff routes are disabled: set SKM_ADMIN_TOKEN"


async def test_counter_qr_png_decodes_to_survey_url(
    client: httpx.AsyncClient, counter: Counter, tmp_path: Path
) -> None:
    response = await client.get(f"/api/v1/counters/{counter.id}/qr.png", headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = tmp_path / "qr.png"
    image.write_bytes(response.content)
    assert decode_qr(image) == f"http://127.0.0.1:8000/s/{counter.token}"


async def test_counter_qr_svg_and_posters(
    client: httpx.AsyncClient, counter: Counter, tmp_path: Path
) -> None:
    svg = await client.get(f"/api/v1/counters/{counter.id}/qr.svg", headers=ADMIN)
    assert (svg.status_code, svg.headers["content-type"]) == (200, "image/svg+xml")
    for path in (f"counters/{counter.id}/poster.pdf", f"units/{counter.unit_id}/posters.pdf"):
        response = await client.get(f"/api/v1/{path}", headers=ADMIN)
        assert (response.status_code, response.headers["content-type"]) == (200, "application/pdf")
        pdf = tmp_path / "poster.pdf"
        pdf.write_bytes(response.content)
        text = pdf_text(pdf)
        assert "Loket Satu" in text
        assert f"http://127.0.0.1:8000/s/{counter.token}" in text


async def test_unknown_counter_and_unit_are_404(
    client: httpx.AsyncClient, counter: Counter
) -> None:
    for path in ("counters/999999/qr.png", "units/999999/posters.pdf"):
        response = await client.get(f"/api/v1/{path}", headers=ADMIN)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"

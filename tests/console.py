"""Helpers for the console's tests: the app over the Kendari demo, and an HTTP client signed
in as one of the demo's staff accounts, which adds its CSRF token to the forms it posts."""

import re
from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import FastAPI

from app import deps
from app.db import Database
from app.main import create_app
from app.services.demo import DEMO_ACCOUNTS

ADMIN = DEMO_ACCOUNTS[0]  # admin of kendari (the whole demo)
MANAGER = DEMO_ACCOUNTS[1]  # manager of pkm-jati-raya (one puskesmas)
BASE = "http://test"


def app_over(database: Database) -> FastAPI:
    app = create_app()
    app.dependency_overrides[deps.database] = lambda: database
    return app


class Staff:
    """A browser-like client: it keeps the session cookie and sends every POST as a form with
    the page's CSRF token (unless told not to)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf: str | None = None

    async def login(self, email: str, password: str) -> httpx.Response:
        answer = await self.client.post(
            "/console/login", data={"email": email, "password": password, "next": "/console"}
        )
        if answer.status_code == 303:
            page = await self.client.get("/console")
            found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
            self.csrf = found.group(1) if found else None
        return answer

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, **kwargs)

    async def post(
        self,
        url: str,
        data: Mapping[str, Any] | None = None,
        *,
        csrf: bool = True,
        files: Any = None,
    ) -> httpx.Response:
        fields = dict(data or {})
        if csrf and self.csrf is not None:
            fields.setdefault("csrf", self.csrf)
        return await self.client.post(url, data=fields, files=files)


async def signed_in(app: FastAPI, account: tuple[str, str, str, str]) -> Staff:
    """A client signed in as a demo account (its e-mail and password); the caller closes
    ``.client``."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
    staff = Staff(client)
    answer = await staff.login(account[0], account[1])
    assert answer.status_code == 303, answer.text
    assert staff.csrf is not None
    return staff

"""The admin pages: users created, given another role, disabled (their session ends) and given
a new password; API keys created (shown once, working over the API) and revoked; the audit
log lists who did it. Managers are refused (403), and an admin cannot lock itself out."""

import re

import httpx
import pytest
from fastapi import FastAPI

from tests.console import ADMIN, BASE, MANAGER, Staff, signed_in


@pytest.fixture
def admin(admin_staff: Staff) -> Staff:
    """The demo admin (the name the API tests give their admin key is taken)."""
    return admin_staff


async def test_users_are_created_changed_and_disabled(admin: Staff, demo_app: FastAPI) -> None:
    created = await admin.post(
        "/console/pengguna",
        {
            "email": "Staf.Dinsos@kendari.demo",
            "role": "viewer",
            "unit": "dinsos",
            "password": "kata-sandi-awal-1",
        },
    )
    assert created.status_code == 303
    listed = (await admin.get("/console/pengguna?ok=created")).text
    assert "Akun dibuat." in listed
    assert 'data-user="staf.dinsos@kendari.demo"' in listed
    staff = await signed_in(demo_app, ("staf.dinsos@kendari.demo", "kata-sandi-awal-1", "", ""))
    try:
        assert (await staff.get("/console/unit/dinsos")).status_code == 200
        assert (await staff.get("/console/unit/dinkes")).status_code == 404
        role = await admin.post(
            "/console/pengguna/ubah",
            {"email": "staf.dinsos@kendari.demo", "action": "role", "role": "manager"},
        )
        assert role.status_code == 303
        disabled = await admin.post(
            "/console/pengguna/ubah", {"email": "staf.dinsos@kendari.demo", "action": "disable"}
        )
        assert disabled.status_code == 303
        assert (await staff.get("/console")).status_code == 303  # the open session ended
        fresh = await admin.post(
            "/console/pengguna/ubah", {"email": "staf.dinsos@kendari.demo", "action": "password"}
        )
        password = re.search(r'data-field="password">([^<]+)<', fresh.text)
        assert password
        await admin.post(
            "/console/pengguna/ubah", {"email": "staf.dinsos@kendari.demo", "action": "enable"}
        )
        assert (await staff.login("staf.dinsos@kendari.demo", password.group(1))).status_code == 303
    finally:
        await staff.client.aclose()
    log = (await admin.get("/console/audit?oleh=admin@kendari.demo")).text
    for words in ("membuat akun", "mengubah peran", "menonaktifkan akun", "mengganti kata sandi"):
        assert words in log


async def test_an_admin_cannot_lock_itself_out(admin: Staff) -> None:
    answer = await admin.post("/console/pengguna/ubah", {"email": ADMIN[0], "action": "disable"})
    assert answer.status_code == 400
    assert "Anda tidak dapat menonaktifkan akun Anda sendiri." in answer.text
    assert (await admin.get("/console")).status_code == 200


async def test_a_user_outside_the_subtree_cannot_be_made(admin: Staff, demo_app: FastAPI) -> None:
    bad = await admin.post(
        "/console/pengguna",
        {
            "email": "x@kendari.demo",
            "role": "boss",
            "unit": "dinsos",
            "password": "panjang-sekali-1",
        },
    )
    assert bad.status_code == 422
    assert "peran harus salah satu dari admin, manager, viewer" in bad.text
    manager = await signed_in(demo_app, MANAGER)
    try:
        for path in ("/console/pengguna", "/console/kunci-api", "/console/audit"):
            assert (await manager.get(path)).status_code == 403, path
        posted = await manager.post(
            "/console/pengguna", {"email": "y@kendari.demo", "role": "admin", "unit": "kendari"}
        )
        assert posted.status_code == 403
    finally:
        await manager.client.aclose()


async def test_an_api_key_is_shown_once_works_and_is_revoked(
    admin: Staff, demo_app: FastAPI
) -> None:
    created = await admin.post(
        "/console/kunci-api", {"name": "Dasbor Dinkes", "scope": "ikm:read", "unit": "dinkes"}
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    found = re.search(r'data-field="key">([^<]+)<', created.text)
    assert found
    key = found.group(1)
    listed = (await admin.get("/console/kunci-api")).text
    assert key not in listed
    prefix = key.split(".")[0]
    assert f'data-key="{prefix}"' in listed
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_app), base_url=BASE)
    async with api:
        url = "/api/v1/ikm?unit=pkm-jati-raya&period=2026-Q3"
        ok = await api.get(url, headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200
        outside = await api.get(
            "/api/v1/ikm?unit=dinsos&period=2026-Q3", headers={"Authorization": f"Bearer {key}"}
        )
        assert outside.status_code == 404
        unconfirmed = await admin.post("/console/kunci-api/cabut", {"prefix": prefix})
        assert unconfirmed.status_code == 400
        revoked = await admin.post("/console/kunci-api/cabut", {"prefix": prefix, "confirm": "on"})
        assert revoked.status_code == 303
        gone = await api.get(url, headers={"Authorization": f"Bearer {key}"})
        assert gone.status_code == 401
    log = (await admin.get("/console/audit?aksi=apikey.create")).text
    assert prefix in log and "Dasbor Dinkes" in log

"""The console's accounts and sessions: login, logout, CSRF, subtrees (404 outside), roles,
throttling without account enumeration, disabled users and password resets ending sessions,
the audit log, and `skm user`."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from app.errors import NotFound
from app.models import AuditEntry, StaffSession, StaffUser
from app.services import accounts, org
from tests.conftest import Cli, Demo
from tests.console import ADMIN, BASE, MANAGER, Staff, signed_in


@pytest.fixture
def admin(admin_staff: Staff) -> Staff:
    """The demo admin (the name the API tests give their admin key is taken)."""
    return admin_staff


@pytest.fixture
async def anonymous(demo_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=demo_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def test_console_redirects_to_login_without_a_session(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await anonymous.get("/console?period=2026-Q3")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%3Fperiod%3D2026-Q3"
    login = await anonymous.get(answer.headers["location"])
    assert login.status_code == 200
    assert 'name="next" value="/console?period=2026-Q3"' in login.text
    assert login.headers["cache-control"] == "no-store"
    assert "script-src" not in login.headers["content-security-policy"]


async def test_login_sets_a_session_cookie_and_shows_the_user(demo_app: FastAPI) -> None:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_app), base_url=BASE)
    async with client:
        answer = await client.post(
            "/console/login",
            data={"email": " Admin@Kendari.Demo ", "password": ADMIN[1], "next": "/console"},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("skm_staff=")
        for part in ("HttpOnly", "Path=/console", "SameSite=lax", "Max-Age=43200"):
            assert part in cookie
        assert "Secure" not in cookie  # the public URL is http in the tests
        page = await client.get("/console")
        assert page.status_code == 200
        assert "admin@kendari.demo (admin)" in page.text


async def test_login_never_leaves_the_console(anonymous: httpx.AsyncClient) -> None:
    data = {"email": ADMIN[0], "password": ADMIN[1], "next": "https://evil.example/x"}
    answer = await anonymous.post("/console/login", data=data)
    assert answer.headers["location"] == "/console"


async def test_login_refusals_say_the_same_for_unknown_and_wrong(
    anonymous: httpx.AsyncClient,
) -> None:
    wrong = await anonymous.post("/console/login", data={"email": ADMIN[0], "password": "x" * 12})
    unknown = await anonymous.post(
        "/console/login", data={"email": "nobody@kendari.demo", "password": "x" * 12}
    )
    assert wrong.status_code == unknown.status_code == 401
    message = "E-mail atau kata sandi salah, atau akun tidak aktif."
    assert message in wrong.text
    assert message in unknown.text
    assert "set-cookie" not in wrong.headers


async def test_login_from_another_site_is_refused(anonymous: httpx.AsyncClient) -> None:
    answer = await anonymous.post(
        "/console/login",
        data={"email": ADMIN[0], "password": ADMIN[1]},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


async def test_failed_logins_are_throttled_per_account(demo: Demo, demo_app: FastAPI) -> None:
    unit = org.get_unit(session=demo.session, code="dinkes")
    accounts.create_user(
        session=demo.session,
        email="throttle@kendari.demo",
        password="benar-sekali-123",
        role="viewer",
        unit=unit,
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=demo_app), base_url=BASE)
    async with client:
        for _ in range(accounts.FAILS_PER_ACCOUNT_HOUR):
            answer = await client.post(
                "/console/login", data={"email": "throttle@kendari.demo", "password": "salah"}
            )
            assert answer.status_code == 401
        # Now even the right password waits for the hour to pass.
        answer = await client.post(
            "/console/login",
            data={"email": "throttle@kendari.demo", "password": "benar-sekali-123"},
        )
        assert answer.status_code == 429
        assert "Terlalu banyak percobaan masuk yang gagal" in answer.text


async def test_logout_ends_the_session(admin: Staff) -> None:
    answer = await admin.post("/console/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login"
    # The browser may still send the old cookie: the server has forgotten it.
    again = await admin.get("/console")
    assert again.status_code == 303


async def test_a_post_without_its_csrf_token_is_refused(admin: Staff) -> None:
    answer = await admin.post("/console/logout", csrf=False)
    assert answer.status_code == 403
    assert "Formulir ini kedaluwarsa" in answer.text
    assert (await admin.get("/console")).status_code == 200  # still signed in
    forged = await admin.post("/console/logout", {"csrf": "0" * 64})
    assert forged.status_code == 403


async def test_a_csrf_token_is_bound_to_its_session(demo_app: FastAPI) -> None:
    first = await signed_in(demo_app, ADMIN)
    second = await signed_in(demo_app, ADMIN)
    try:
        assert first.csrf != second.csrf
        answer = await first.post("/console/logout", {"csrf": second.csrf})
        assert answer.status_code == 403
    finally:
        await first.client.aclose()
        await second.client.aclose()


async def test_a_disabled_users_open_session_stops_working(demo: Demo, demo_app: FastAPI) -> None:
    unit = org.get_unit(session=demo.session, code="dinkes")
    user = accounts.create_user(
        session=demo.session,
        email="disabled@kendari.demo",
        password="kata-sandi-panjang",
        role="manager",
        unit=unit,
    )
    staff = await signed_in(demo_app, ("disabled@kendari.demo", "kata-sandi-panjang", "", ""))
    try:
        assert (await staff.get("/console")).status_code == 200
        accounts.set_active(session=demo.session, user=user, active=False)
        assert (await staff.get("/console")).status_code == 303
        again = await staff.login("disabled@kendari.demo", "kata-sandi-panjang")
        assert again.status_code == 401
    finally:
        await staff.client.aclose()


async def test_a_password_reset_ends_open_sessions(demo: Demo, demo_app: FastAPI) -> None:
    unit = org.get_unit(session=demo.session, code="dinkes")
    user = accounts.create_user(
        session=demo.session,
        email="reset@kendari.demo",
        password="kata-sandi-lama",
        role="viewer",
        unit=unit,
    )
    staff = await signed_in(demo_app, ("reset@kendari.demo", "kata-sandi-lama", "", ""))
    try:
        accounts.reset_password(session=demo.session, user=user, password="kata-sandi-baru")
        assert (await staff.get("/console")).status_code == 303
        assert (await staff.login("reset@kendari.demo", "kata-sandi-baru")).status_code == 303
    finally:
        await staff.client.aclose()


def test_sessions_expire_when_idle_and_when_old(demo: Demo) -> None:
    unit = org.get_unit(session=demo.session, code="dinkes")
    accounts.create_user(
        session=demo.session,
        email="expiry@kendari.demo",
        password="kata-sandi-panjang",
        role="viewer",
        unit=unit,
    )
    now = datetime.now(UTC)
    _user, token = accounts.log_in(
        session=demo.session,
        email="expiry@kendari.demo",
        password="kata-sandi-panjang",
        client="client:test",
        secret="s" * 32,
        now=now,
    )

    def identity(at: datetime) -> object:
        return accounts.session_identity(session=demo.session, token=token, now=at)[0]

    assert identity(now + accounts.IDLE - timedelta(seconds=1)) is not None
    assert identity(now + accounts.IDLE + timedelta(seconds=1)) is None
    # Kept busy, it still ends at the absolute limit.
    stored = demo.session.get(StaffSession, accounts._token_hash(token))
    assert stored is not None
    stored.last_seen_at = now + accounts.ABSOLUTE
    demo.session.add(stored)
    demo.session.commit()
    assert identity(now + accounts.ABSOLUTE - timedelta(seconds=1)) is not None
    assert identity(now + accounts.ABSOLUTE + timedelta(seconds=1)) is None


def test_passwords_are_stored_as_argon2id(demo: Demo) -> None:
    user = demo.session.exec(select(StaffUser).where(StaffUser.email == ADMIN[0])).one()
    assert user.password_hash.startswith("$argon2id$")
    assert ADMIN[1] not in user.password_hash


def test_a_session_token_is_stored_hashed(demo: Demo) -> None:
    _user, token = accounts.log_in(
        session=demo.session,
        email=ADMIN[0],
        password=ADMIN[1],
        client="client:test",
        secret="s" * 32,
        now=datetime.now(UTC),
    )
    hashes = demo.session.exec(select(StaffSession.token_hash)).all()
    assert token not in hashes
    assert accounts._token_hash(token) in hashes


def test_a_manager_sees_its_subtree_only(demo: Demo) -> None:
    identity = accounts.StaffIdentity(
        user_id=0,
        email=MANAGER[0],
        role="manager",
        unit_id=org.get_unit(session=demo.session, code="pkm-jati-raya").id or 0,
        session_hash="",
    )
    own = org.get_unit(session=demo.session, code="pkm-jati-raya")
    assert accounts.visible_unit(session=demo.session, identity=identity, unit=own) is own
    for code in ("pkm-lepo-lepo", "dinkes", "kendari", "disdukcapil"):
        other = org.get_unit(session=demo.session, code=code)
        with pytest.raises(NotFound):
            accounts.visible_unit(session=demo.session, identity=identity, unit=other)
    assert identity.may("viewer") and identity.may("manager") and not identity.may("admin")


def test_user_commands_create_list_disable_and_reset(demo: Demo) -> None:
    cli: Cli = demo.cli
    code, output = cli(
        "user",
        "create",
        "--email",
        "Staf@Dinkes.Demo",
        "--role",
        "viewer",
        "--unit",
        "dinkes",
        "--password-stdin",
        input="rahasia-sekali-1\n",
    )
    assert (code, output) == (0, "user staf@dinkes.demo (viewer of dinkes) created\n")
    code, output = cli("user", "list")
    assert code == 0
    assert any(
        line.split() == ["staf@dinkes.demo", "viewer", "dinkes", "active"]
        for line in output.splitlines()
    )
    code, output = cli(
        "user",
        "create",
        "--email",
        "x@dinkes.demo",
        "--role",
        "boss",
        "--unit",
        "dinkes",
        "--password-stdin",
        input="rahasia-sekali-1\n",
    )
    assert code == 1
    assert "--role must be one of admin, manager, viewer" in output
    code, output = cli(
        "user",
        "create",
        "--email",
        "y@dinkes.demo",
        "--role",
        "viewer",
        "--unit",
        "dinkes",
        "--password-stdin",
        input="pendek\n",
    )
    assert (code, output) == (1, "error: the password needs at least 10 characters\n")
    assert cli("user", "disable", "staf@dinkes.demo") == (
        0,
        "user staf@dinkes.demo disabled; its sessions have ended\n",
    )
    code, output = cli(
        "user",
        "reset-password",
        "staf@dinkes.demo",
        "--password-stdin",
        input="rahasia-baru-22\n",
    )
    assert (code, output) == (0, "password of staf@dinkes.demo reset; its sessions have ended\n")
    actions = demo.session.exec(
        select(AuditEntry.action)
        .where(AuditEntry.target == "staf@dinkes.demo")
        .order_by(col(AuditEntry.id))
    ).all()
    assert actions == ["user.create", "user.disable", "user.reset_password"]


def test_the_demo_seeds_an_admin_and_a_manager(demo: Demo) -> None:
    found = {
        (user.email, user.role, unit.code)
        for user, unit in accounts.list_users(session=demo.session)
    }
    assert {(ADMIN[0], "admin", "kendari"), (MANAGER[0], "manager", "pkm-jati-raya")} <= found


async def test_an_unknown_console_page_is_a_page_not_json(admin: Staff) -> None:
    answer = await admin.get("/console/tidak-ada")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Halaman tidak ditemukan" in answer.text

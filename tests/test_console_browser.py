"""The staff console in a real browser (Debian's Chromium): the whole working day of the demo's
admin and puskesmas manager end to end, and every console page at 360 and 1366 px checked by
axe-core (no serious or critical violation), for sideways scrolling, page weight and requests
to other sites; the public results pages and the results board likewise."""

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from app import deps
from app.config import get_settings
from app.db import Database, create_db_engine, upgrade_schema
from app.main import create_app
from app.services import accounts, alerts, org, questionnaires
from app.services.demo import seed_demo
from tests.conftest import FORMS_DIR, fresh_database
from tests.console import ADMIN, MANAGER
from tests.test_browser import AXE, CHROMIUM, _free_port
from tests.tools import system_tool

pytestmark = pytest.mark.slow

PAGES = (
    "/console/login",
    "/console",
    "/console?unit=dinkes&period=2026-S1",
    "/console/unit/pkm-jati-raya",
    "/console/organisasi",
    "/console/organisasi/pkm-jati-raya",
    "/console/kuesioner",
    "/console/kuesioner/pkm-jati-raya",
    "/console/laporan",
    "/console/pengguna",
    "/console/kunci-api",
    "/console/audit",
    "/console/publikasi",
    "/console/publikasi/pkm-jati-raya?period=2026-Q3",
    "/console/rtl/pkm-jati-raya?period=2026-Q3",
    "/console/zi",
    "/console/peringatan",
    "/console/webhook",
    "/console/tidak-ada",
    # The public results pages and the board (no login needed; the same bars apply).
    "/hasil",
    "/hasil?q=puskesmas&sort=nik&order=desc",
    "/hasil/pkm-jati-raya",
    "/hasil/dinsos",
    "/hasil/tidak-ada",
    "/papan/pkm-jati-raya",
)
PAGE_WEIGHT_LIMIT = 150 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    """The app on a real port over its own database with the Kendari demo."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in ("SKM_PUBLIC_BASE_URL", "SKM_ALLOW_LOCAL_BASE_URL")}
    os.environ.update(SKM_PUBLIC_BASE_URL=base, SKM_ALLOW_LOCAL_BASE_URL="true")
    get_settings.cache_clear()
    with fresh_database(tmp_path_factory.mktemp("console")) as url:
        upgrade_schema(url)
        database = Database(create_db_engine(url))
        with database.session(write=True) as session:
            questionnaires.sync_forms(session=session, forms_dir=FORMS_DIR)
            seed_demo(session=session)
            alerts.check(session=session)  # the declining demo units raise some
        app = create_app()
        app.dependency_overrides[deps.database] = lambda: database
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            while not server.started:
                thread.join(0.05)
            yield base, database
        finally:
            server.should_exit = True
            thread.join()
            database.engine.dispose()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            get_settings.cache_clear()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = system_tool(CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


def login(browser: Browser, base: str, account: tuple[str, ...], width: int = 1366) -> Page:
    page = browser.new_page(
        viewport={"width": width, "height": 900}, bypass_csp=True, accept_downloads=True
    )
    page.goto(f"{base}/console")
    assert "/console/login" in page.url
    page.fill("#email", account[0])
    page.fill("#password", account[1])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/console")
    return page


def serious(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document)).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({id: v.id, impact: v.impact, where: v.nodes.map((n) => n.target)}))"""
    )
    return found


def csrf(page: Page) -> str:
    value = page.locator("input[name=csrf]").first.get_attribute("value")
    assert value
    return value


def test_a_working_day_end_to_end(
    server: tuple[str, Database], browser: Browser, tmp_path: Path
) -> None:
    base, database = server
    admin = login(browser, base, ADMIN)
    # The overview: the pemda's figure and its OPDs.
    assert admin.locator("h1").inner_text() == "Ringkasan Pemerintah Kota Kendari"
    assert re.fullmatch(r"\d+,\d\d", admin.locator("[data-field=nik]").first.inner_text())
    # Open a unit from the table.
    admin.click("table.units >> text=Dinas Kesehatan")
    assert admin.locator("h1").inner_text() == "Dinas Kesehatan"
    # Add a counter to a puskesmas and print its poster.
    admin.goto(f"{base}/console/organisasi/pkm-jati-raya")
    admin.fill("#counter_code", "loket-lansia")
    admin.fill("#counter_name", "Loket Lansia")
    admin.click("text=Tambah loket >> nth=-1")
    assert "Loket ditambahkan." in admin.locator("p.ok").inner_text()
    with admin.expect_download() as download:
        admin.click("tr[data-counter=loket-lansia] >> text=Poster")
    pdf = tmp_path / "poster.pdf"
    download.value.save_as(pdf)
    subprocess.run(
        [system_tool("pdftoppm"), "-r", "100", "-png", str(pdf), str(tmp_path / "p")], check=True
    )
    decoded = subprocess.run(
        [system_tool("zbarimg"), "-q", "--raw", *map(str, sorted(tmp_path.glob("p*.png")))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with database.session() as session:
        unit = org.get_unit(session=session, code="pkm-jati-raya")
        token = org.get_counter(session=session, unit=unit, code="loket-lansia").token
    assert decoded == f"{base}/s/{token}"
    # Three paper questionnaires by keyboard: digits, Tab to the next, Enter to save.
    admin.goto(f"{base}/console/kuesioner/pkm-jati-raya")
    for answers in ("444433334", "333322223", "432143214"):
        first = admin.locator("input[name^=a_]").first
        assert first.evaluate("(e) => e === document.activeElement")  # autofocus
        for digit in answers:
            admin.keyboard.type(digit)
            admin.keyboard.press("Tab")
        admin.keyboard.press("Shift+Tab")
        admin.keyboard.press("Enter")
        admin.wait_for_selector("p.ok")
    assert admin.locator("[data-field=count]").inner_text() == "3"
    # A sheet with one bad row: nothing stored, the row named; fixed, it is stored.
    header = "U1,U2,U3,U4,U5,U6,U7,U8,U9\n"
    bad, good = tmp_path / "kertas.csv", tmp_path / "kertas-baik.csv"
    bad.write_text(header + "4,4,4,4,4,4,4,4,4\n4,4,7,4,4,4,4,4,4\n")
    good.write_text(header + "4,4,4,4,4,4,4,4,4\n4,4,3,4,4,4,4,4,4\n")
    admin.set_input_files("#sheet", str(bad))
    admin.click("text=Periksa berkas")
    assert "1 masalah; tidak ada yang disimpan." in admin.locator(".preview").inner_text()
    assert "baris 3" in admin.locator(".problems").inner_text()
    admin.set_input_files("#sheet", str(good))
    admin.click("text=Periksa berkas")
    admin.click("text=Simpan 2 kuesioner")
    assert admin.locator("[data-field=stored]").inner_text() == "2"
    # Download the report.
    admin.goto(f"{base}/console/laporan")
    admin.select_option("#unit", "pkm-jati-raya")
    with admin.expect_download() as report:
        admin.click("button:has-text('Unduh')")
    saved = tmp_path / report.value.suggested_filename
    report.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert saved.name.startswith("skm-pkm-jati-raya-")

    # The puskesmas manager: its own unit only, for pages and posts.
    manager = login(browser, base, MANAGER)
    own = manager.goto(f"{base}/console/unit/pkm-jati-raya")
    assert own is not None and own.status == 200
    token_value = csrf(manager)
    other = manager.goto(f"{base}/console/unit/pkm-lepo-lepo")
    assert other is not None and other.status == 404
    manager.goto(f"{base}/console/unit/pkm-jati-raya")
    posted = manager.request.post(
        f"{base}/console/organisasi/pkm-lepo-lepo/loket",
        form={"csrf": token_value, "counter_code": "x", "counter_name": "X"},
        max_redirects=0,
    )
    assert posted.status == 404
    no_token = manager.request.post(
        f"{base}/console/organisasi/pkm-jati-raya/loket",
        form={"counter_code": "y", "counter_name": "Y"},
        max_redirects=0,
    )
    assert no_token.status == 403
    manager.click("text=Keluar")
    manager.wait_for_url("**/console/login")
    manager.goto(f"{base}/console")
    assert "/console/login" in manager.url  # the session ended

    # A user disabled by the admin loses its open session at once.
    with database.session(write=True) as session:
        accounts.create_user(
            session=session,
            email="petugas@kendari.demo",
            password="petugas-kendari-1",
            role="viewer",
            unit=org.get_unit(session=session, code="dinsos"),
        )
    staff = login(browser, base, ("petugas@kendari.demo", "petugas-kendari-1"))
    admin.goto(f"{base}/console/pengguna")
    admin.click("tr[data-user='petugas@kendari.demo'] >> text=Nonaktifkan")
    assert "Akun dinonaktifkan" in admin.locator("p.ok").inner_text()
    staff.goto(f"{base}/console/unit/dinsos")
    assert "/console/login" in staff.url
    for page in (admin, manager, staff):
        page.close()


@pytest.mark.parametrize("width", [360, 1366])
def test_every_console_page_is_accessible_fits_and_is_light(
    server: tuple[str, Database], browser: Browser, width: int
) -> None:
    base, _ = server
    page = login(browser, base, ADMIN, width)
    requests: list[str] = []
    sizes: dict[str, int] = {}
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: sizes.__setitem__(response.url, len(response.body())))
    problems = {}
    for path in PAGES:
        if path == "/console/login":
            fresh = browser.new_page(viewport={"width": width, "height": 900}, bypass_csp=True)
            fresh.goto(f"{base}{path}")
            found = serious(fresh)
            fresh.close()
            if found:
                problems[path] = found
            continue
        sizes.clear()
        page.goto(f"{base}{path}")
        weight = sum(sizes.values())
        assert weight < PAGE_WEIGHT_LIMIT, f"{path}: {weight} bytes"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
        found = serious(page)
        if found:
            problems[path] = found
    assert problems == {}
    assert all(url.startswith(base) for url in requests), [
        u for u in requests if not u.startswith(base)
    ]
    # Keyboard: the first Tab reaches the skip link, and focus is drawn.
    page.goto(f"{base}/console")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => [document.activeElement.textContent,"
        " getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused == ["Lewati ke konten", "solid"]
    page.close()

"""End to end as a citizen: print a counter's QR code, decode it with zbar, open the URL in
headless Chromium, answer, submit, and see the answer count in `skm ikm`. The same browser
checks that the pages fit a small phone and that axe-core finds no serious accessibility
problem on them."""

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import Session

from app import deps
from app.config import get_settings
from app.db import Database, create_db_engine, upgrade_schema
from app.main import create_app
from app.models import Counter, CounterCreate, ServiceCreate, UnitCreate
from app.services import org, questionnaires
from tests.conftest import FORMS_DIR, Cli, fresh_database
from tests.factories import CODES
from tests.tools import system_tool

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Database]]:
    """The real app on a real port over its own migrated database."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("SKM_PUBLIC_BASE_URL", base)
    monkeypatch.setenv("SKM_SURVEY_MIN_SECONDS", "0")  # a script answers faster than a person
    get_settings.cache_clear()
    with fresh_database(tmp_path) as url:
        upgrade_schema(url)
        database = Database(create_db_engine(url))
        with database.session(write=True) as session:
            questionnaires.sync_forms(session=session, forms_dir=FORMS_DIR)
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
            get_settings.cache_clear()


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = system_tool(CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def test_citizen_scans_answers_and_is_counted(
    live_server: tuple[str, Database], browser: Browser, tmp_path: Path
) -> None:
    zbarimg = system_tool("zbarimg")
    base, database = live_server
    with database.session(write=True) as session:
        _setup_unit(session)
    run_cli = Cli(database)
    image = tmp_path / "loket.png"
    code, output = run_cli(
        "qr", "--unit", "pkm-uji", "--counter", "loket-1", "--format", "png", "-o", str(image),
        "--allow-local",  # the live server listens on this computer only
    )  # fmt: skip
    assert code == 0, output
    url = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert url.startswith(f"{base}/s/")

    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(url)
    assert "Puskesmas Uji" in page.content()
    for index, element in enumerate(CODES):
        page.check(f"input[name='{element}'][value='{3 + index % 2}']")
    page.select_option("#p-sex", "L")
    page.fill("#p-age", "52")
    page.fill("#saran", "Pelayanan cepat, ruang tunggu bersih.")
    page.click("button[type=submit]")
    page.wait_for_url("**/terima-kasih**")
    assert "Terima kasih" in page.content()
    page.go_back()  # back to the filled form, then send it again: nothing new is stored
    if "terima-kasih" not in page.url:
        page.click("button[type=submit]")
        page.wait_for_url("**/terima-kasih**")

    year = datetime.now(ZoneInfo("Asia/Makassar")).strftime("%Y")  # the unit's time zone
    code, output = run_cli("ikm", "--unit", "pkm-uji", "--period", year, "--json")
    assert code == 0, output
    result = json.loads(output)
    assert result["n"] == 1
    assert [e["sum"] for e in result["elements"]] == [3 + i % 2 for i in range(9)]


def _setup_unit(session: Session) -> dict[str, Counter]:
    """A puskesmas of a pemda with a QR counter for one service and a kiosk tablet for both."""
    org.create_unit(
        session=session,
        data=UnitCreate(code="kota-uji", name="Pemerintah Kota Uji", time_zone="WITA"),
    )
    org.create_unit(
        session=session,
        data=UnitCreate(code="pkm-uji", name="Puskesmas Uji", parent_code="kota-uji"),
    )
    for code, name in (("poli", "Poli umum"), ("kia", "Kesehatan Ibu dan Anak")):
        org.create_service(
            session=session, data=ServiceCreate(unit_code="pkm-uji", code=code, name=name)
        )
    qr_counter = CounterCreate(
        unit_code="pkm-uji", code="loket-1", name="Loket 1", service_code="poli"
    )
    kiosk = CounterCreate(unit_code="pkm-uji", code="tablet", name="Tablet", kiosk=True)
    return {
        "qr": org.create_counter(session=session, data=qr_counter),
        "kiosk": org.create_counter(session=session, data=kiosk),
    }


def _survey_urls(base: str, database: Database) -> dict[str, str]:
    with database.session(write=True) as session:
        counters = _setup_unit(session)
        return {layout: f"{base}/s/{c.token}" for layout, c in counters.items()}


def _answer_all(page: Page) -> None:
    for element in CODES:
        page.check(f"input[name='{element}'][value='3']")
    if page.locator("#service").count():
        page.select_option("#service", "kia")


def _overflow(page: Page) -> int:
    """How far the page reaches past the right edge of the screen, in CSS pixels."""
    width: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return width


@pytest.mark.parametrize("layout", ["qr", "kiosk"])
def test_survey_fits_a_360px_phone_without_sideways_scrolling(
    live_server: tuple[str, Database], browser: Browser, layout: str
) -> None:
    base, database = live_server
    url = _survey_urls(base, database)[layout]
    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(url)
    assert page.locator("body.kiosk").count() == (layout == "kiosk")
    assert _overflow(page) <= 0
    page.click("button[type=submit]")  # nothing answered: the form again, with the summary
    page.wait_for_selector(".alert ul")
    assert _overflow(page) <= 0
    page.set_viewport_size({"width": 1366, "height": 900})
    assert _overflow(page) <= 0


def _serious_violations(page: Page, disable: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page: rule, impact and where."""
    page.add_script_tag(path=str(AXE))
    rules = {rule: {"enabled": False} for rule in disable}
    found: list[dict[str, Any]] = page.evaluate(
        """async (rules) => (await axe.run(document, {rules})).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => ({id: v.id, impact: v.impact, where: v.nodes.map((n) => n.target)}))""",
        rules,
    )
    return found


def test_citizen_pages_have_no_serious_accessibility_violations(
    live_server: tuple[str, Database], browser: Browser
) -> None:
    base, database = live_server
    urls = _survey_urls(base, database)
    # The pages forbid every script (CSP); the check's own script is let in here only.
    page = browser.new_page(viewport={"width": 360, "height": 740}, bypass_csp=True)
    page.goto(f"{base}/")
    assert _serious_violations(page) == [], "landing page"
    for layout, url in urls.items():
        page.goto(url)
        assert _serious_violations(page) == [], f"{layout} survey page"
        page.click("button[type=submit]")
        page.wait_for_selector(".alert ul")
        assert _serious_violations(page) == [], f"{layout} page of a refused submission"
        _answer_all(page)
        page.click("button[type=submit]")
        page.wait_for_url("**/terima-kasih**")
        # The kiosk's thank-you page returns to a fresh form by design (a shared tablet must
        # not keep showing the last person's visit), which axe's meta-refresh rule reports.
        disable = ("meta-refresh",) if layout == "kiosk" else ()
        assert _serious_violations(page, disable) == [], f"{layout} thank-you page"

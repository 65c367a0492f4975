"""End to end as a citizen: print a counter's QR code, decode it with zbar, open the URL in
headless Chromium, answer, submit, and see the answer count in `skm ikm`."""

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from sqlmodel import Session

from app.config import get_settings
from app.db import Database, create_db_engine, get_database, upgrade_schema
from app.main import create_app
from app.models import CounterCreate, ServiceCreate, UnitCreate
from app.services import org, questionnaires
from tests.conftest import FORMS_DIR, Cli, fresh_database
from tests.factories import CODES
from tests.tools import system_tool

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"


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
        app.dependency_overrides[get_database] = lambda: database
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


def test_citizen_scans_answers_and_is_counted(
    live_server: tuple[str, Database], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    chromium = system_tool(CHROMIUM)
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
        browser.close()

    year = datetime.now(ZoneInfo("Asia/Makassar")).strftime("%Y")  # the unit's time zone
    code, output = run_cli("ikm", "--unit", "pkm-uji", "--period", year, "--json")
    assert code == 0, output
    result = json.loads(output)
    assert result["n"] == 1
    assert [e["sum"] for e in result["elements"]] == [3 + i % 2 for i in range(9)]


def _setup_unit(session: Session) -> None:
    org.create_unit(
        session=session, data=UnitCreate(code="pkm-uji", name="Puskesmas Uji", time_zone="WITA")
    )
    org.create_service(
        session=session, data=ServiceCreate(unit_code="pkm-uji", code="poli", name="Poli umum")
    )
    org.create_counter(
        session=session,
        data=CounterCreate(
            unit_code="pkm-uji", code="loket-1", name="Loket 1", service_code="poli"
        ),
    )

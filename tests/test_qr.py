import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session

from app import deps
from app.config import Settings, get_settings
from app.models import CounterCreate, ServiceCreate
from app.reports import qr
from app.services import org
from tests.conftest import Cli
from tests.factories import bearer, make_unit
from tests.tools import decode_qr, pdf_text, system_tool


def _unit_with_counters(session: Session) -> tuple[str, list[str]]:
    unit = make_unit(session)
    org.create_service(
        session=session, data=ServiceCreate(unit_code=unit.code, code="ktp", name="KTP-el")
    )
    tokens = []
    for number, service in ((1, "ktp"), (2, None)):
        data = CounterCreate(
            unit_code=unit.code,
            code=f"loket-{number}",
            name=f"Loket {number}",
            service_code=service,
        )
        tokens.append(org.create_counter(session=session, data=data).token)
    return unit.code, tokens


@pytest.mark.slow
def test_qr_png_decodes_to_the_survey_url(run_cli: Cli, session: Session, tmp_path: Path) -> None:
    unit, tokens = _unit_with_counters(session)
    image = tmp_path / "loket.png"
    code, output = run_cli(
        "qr", "--unit", unit, "--counter", "loket-1", "--format", "png", "-o", str(image),
        "--allow-local",
    )  # fmt: skip
    assert code == 0, output
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert decode_qr(image) == f"http://127.0.0.1:8000/s/{tokens[0]}"


def test_qr_svg_is_an_svg_document() -> None:
    svg = qr.qr_svg("http://127.0.0.1:8000/s/abc")
    assert b"<svg" in svg[:200]
    assert b"<path" in svg


@pytest.mark.slow
def test_posters_pdf_holds_every_counter_and_a_decodable_code(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit, tokens = _unit_with_counters(session)
    pdf = tmp_path / "posters.pdf"
    code, output = run_cli("qr", "--unit", unit, "--format", "pdf", "-o", str(pdf), "--allow-local")
    assert code == 0, output
    assert "2 counter(s)" in output
    assert pdf.stat().st_size < 200_000
    text = pdf_text(pdf)
    assert f"Unit {unit}" in text
    assert "Loket 1 - KTP-el" in text
    assert qr.INSTRUCTION in text
    for token in tokens:
        assert f"http://127.0.0.1:8000/s/{token}" in text
    subprocess.run(
        [
            system_tool("pdftoppm"),
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            str(pdf),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    (page,) = tmp_path.glob("page*.png")
    assert decode_qr(page) == f"http://127.0.0.1:8000/s/{tokens[0]}"


def test_rotate_changes_the_url_and_deactivate_leaves_it_off_posters(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit, tokens = _unit_with_counters(session)
    code, output = run_cli("counter", "rotate", "loket-1", "--unit", unit)
    assert code == 0
    assert tokens[0] not in output and "counter loket-1 is open" in output
    code, output = run_cli("counter", "deactivate", "loket-2", "--unit", unit)
    assert (code, "counter loket-2 is closed" in output) == (0, True)
    pdf = tmp_path / "open.pdf"
    assert run_cli("qr", "--unit", unit, "-o", str(pdf), "--allow-local")[0] == 0
    text = pdf_text(pdf)
    assert "Loket 1" in text and "Loket 2" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "png"], "a png file holds one QR code: name the counter with --counter"),
        (["--format", "gif"], "--format must be png, svg or pdf"),
        (["--counter", "loket-9", "--format", "svg"], "has no counter 'loket-9'"),
    ],
)
def test_qr_bad_arguments_exit_nonzero(
    run_cli: Cli, session: Session, tmp_path: Path, args: list[str], message: str
) -> None:
    unit, _ = _unit_with_counters(session)
    target = tmp_path / "out"
    code, output = run_cli("qr", "--unit", unit, "-o", str(target), "--allow-local", *args)
    assert code == 1
    assert message in output
    assert not target.exists()


def test_posters_for_unit_without_counters_is_not_found(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit = make_unit(session)
    code, output = run_cli(
        "qr", "--unit", unit.code, "-o", str(tmp_path / "x.pdf"), "--allow-local"
    )
    assert code == 1
    assert "has no active counter" in output


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.8.9.1/", True),
        ("http://localhost:8000", True),
        ("http://LOCALHOST.:8000", True),
        ("http://skm.localhost", True),
        ("http://[::1]:8000/", True),
        ("http://0.0.0.0:8000", True),
        ("http://192.168.1.20:8000", False),
        ("https://skm.kendarikota.go.id", False),
        ("https://localhost-skm.example.id", False),
    ],
)
def test_is_local_url_knows_loopback_addresses(url: str, local: bool) -> None:
    assert qr.is_local_url(url) is local


LOCAL_DETAIL = (
    "the survey links would point at http://127.0.0.1:8000, which phones cannot reach: set "
    "SKM_PUBLIC_BASE_URL to the address phones can reach (this server's LAN address or its "
    "public domain), or {to_allow} for a local trial"
)


def test_qr_refuses_a_loopback_base_url_without_allow_local(
    run_cli: Cli, session: Session, tmp_path: Path
) -> None:
    unit, _ = _unit_with_counters(session)
    pdf = tmp_path / "posters.pdf"
    code, output = run_cli("qr", "--unit", unit, "-o", str(pdf))
    assert (code, output) == (1, f"error: {LOCAL_DETAIL.format(to_allow='pass --allow-local')}\n")
    assert not pdf.exists()


def test_qr_on_a_reachable_base_url_needs_no_flag(
    run_cli: Cli, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit, tokens = _unit_with_counters(session)
    monkeypatch.setenv("SKM_PUBLIC_BASE_URL", "http://192.168.1.20:8000")
    get_settings.cache_clear()
    try:
        svg = tmp_path / "loket.svg"
        code, output = run_cli("qr", "--unit", unit, "--counter", "loket-1", "-o", str(svg))
        assert code == 0, output
        assert svg.read_bytes() == qr.qr_svg(f"http://192.168.1.20:8000/s/{tokens[0]}")
    finally:
        get_settings.cache_clear()


def _given(settings: Settings) -> Callable[[], Settings]:
    return lambda: settings


async def test_qr_routes_refuse_a_loopback_base_url_unless_allowed(
    app: FastAPI, client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit, _ = _unit_with_counters(session)
    base = f"/api/v1/units/{unit}"
    paths = [f"{base}/counters/loket-1/{name}" for name in ("qr.png", "qr.svg", "poster.pdf")]
    detail = LOCAL_DETAIL.format(to_allow="add ?allow_local=true")
    for path in [*paths, f"{base}/posters.pdf"]:
        refused = await client.get(path, headers=bearer(admin))
        assert (refused.status_code, refused.json()) == (
            409,
            {"error": "local_base_url", "detail": detail},
        )
        allowed = await client.get(f"{path}?allow_local=true", headers=bearer(admin))
        assert allowed.status_code == 200, path
        for settings in (
            Settings(allow_local_base_url=True),
            Settings(public_base_url="https://skm.kendarikota.go.id"),
        ):
            app.dependency_overrides[deps.settings] = _given(settings)
            assert (await client.get(path, headers=bearer(admin))).status_code == 200, path
        del app.dependency_overrides[deps.settings]

"""A unit's report settings (signer, city, signing date, kata pengantar) and logo: the service,
the API routes under /units/{code} and the ``skm unit report-settings`` / ``skm unit logo``
commands."""

import io
from datetime import date
from pathlib import Path

import httpx
from PIL import Image
from sqlmodel import Session

from app.models import UnitReportSettingUpdate
from app.services import apikeys, report_settings
from tests.conftest import Cli
from tests.factories import bearer, make_unit

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<rect width="10" height="10" fill="#0d47a1"/></svg>'
)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 30), (0, 121, 107)).save(out, "PNG")
    return out.getvalue()


def test_city_and_logo_come_from_the_nearest_unit_up_the_tree(session: Session) -> None:
    pemda = make_unit(session)
    dinas = make_unit(session, parent=pemda)
    puskesmas = make_unit(session, parent=dinas)
    report_settings.put_settings(
        session=session,
        unit=pemda,
        data=UnitReportSettingUpdate(city="Kendari", signer_name="Wali Kota"),
    )
    report_settings.set_logo(session=session, unit=pemda, content=SVG)
    found = report_settings.resolve(session=session, unit=puskesmas)
    assert (found.city, found.city_from, found.logo_from) == ("Kendari", pemda.code, pemda.code)
    assert found.logo is not None and found.logo.media_type == "image/svg+xml"
    assert found.signer_name is None  # the signer speaks for the unit's own head only
    report_settings.set_logo(session=session, unit=dinas, content=_png())
    report_settings.put_settings(
        session=session, unit=dinas, data=UnitReportSettingUpdate(city="Baubau")
    )
    found = report_settings.resolve(session=session, unit=puskesmas)
    assert (found.city, found.logo_from) == ("Baubau", dinas.code)
    report_settings.remove_logo(session=session, unit=dinas)
    assert report_settings.resolve(session=session, unit=puskesmas).logo_from == pemda.code


async def test_report_settings_routes(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    parent = make_unit(session)
    unit = make_unit(session, parent=parent)
    url = f"/api/v1/units/{unit.code}/report-settings"
    empty = await client.get(url, headers=bearer(admin))
    assert empty.status_code == 200
    assert empty.json() == {
        "unit": unit.code,
        "signer_title": None,
        "signer_name": None,
        "signer_nip": None,
        "city": None,
        "sign_date": None,
        "foreword": None,
        "printed_signer_title": f"Kepala {unit.name}",
        "printed_city": None,
        "logo": None,
    }
    body = {
        "signer_title": "Kepala Dinas Kependudukan dan Pencatatan Sipil",
        "signer_name": "  Dra. Ṣalāḥ, M.Si. ",
        "signer_nip": "19800101 200501 1 001",
        "city": "Kendari",
        "sign_date": "2026-07-10",
        "foreword": "Kata pengantar kami.",
    }
    put = await client.put(url, json=body, headers=bearer(admin))
    assert put.status_code == 200, put.text
    assert put.json() == {
        **body,
        "unit": unit.code,
        "signer_name": "Dra. Ṣalāḥ, M.Si.",
        "signer_nip": "198001012005011001",
        "printed_signer_title": body["signer_title"],
        "printed_city": "Kendari",
        "logo": None,
    }
    # PUT replaces: what is left out returns to its default.
    again = await client.put(url, json={"signer_name": "X"}, headers=bearer(admin))
    assert again.json()["signer_title"] is None and again.json()["city"] is None
    own = report_settings.own_settings(session=session, unit=unit)
    assert own is not None and own.sign_date is None and own.signer_name == "X"


async def test_report_settings_refuse_a_bad_nip_and_a_read_only_key(
    client: httpx.AsyncClient, session: Session, admin: str
) -> None:
    unit = make_unit(session)
    url = f"/api/v1/units/{unit.code}/report-settings"
    for nip, found in (
        ("1980 0101 2005 0110 0", "17 character(s)"),
        ("19800101A005011001", "non-digits"),
    ):
        bad = await client.put(url, json={"signer_nip": nip}, headers=bearer(admin))
        assert bad.status_code == 422
        assert bad.json()["error"] == "validation_error"
        (error,) = bad.json()["errors"]
        assert error["loc"] == ["body", "signer_nip"]
        assert "a NIP is 18 digits (spaces allowed between them)" in error["msg"]
        assert found in error["msg"]
    unknown = await client.put(url, json={"nip": "1"}, headers=bearer(admin))
    assert unknown.status_code == 422
    long = await client.put(url, json={"foreword": "x" * 4001}, headers=bearer(admin))
    assert long.status_code == 422
    _, reader = apikeys.create_key(session=session, name="dashboard", scopes=["ikm:read"])
    assert (await client.get(url, headers=bearer(reader))).status_code == 200
    refused = await client.put(url, json={}, headers=bearer(reader))
    assert refused.status_code == 403
    logo = await client.put(
        f"/api/v1/units/{unit.code}/logo", content=_png(), headers=bearer(reader)
    )
    assert logo.status_code == 403


async def test_logo_routes(client: httpx.AsyncClient, session: Session, admin: str) -> None:
    parent = make_unit(session)
    unit = make_unit(session, parent=parent)
    png = _png()
    put = await client.put(
        f"/api/v1/units/{parent.code}/logo",
        content=png,
        headers={**bearer(admin), "Content-Type": "image/jpeg"},  # the content decides
    )
    assert put.status_code == 200, put.text
    assert put.json()["logo"] == {"media_type": "image/png", "unit": parent.code}
    inherited = await client.get(f"/api/v1/units/{unit.code}/logo", headers=bearer(admin))
    assert inherited.status_code == 200
    assert (inherited.headers["content-type"], inherited.content) == ("image/png", png)
    settings = await client.get(f"/api/v1/units/{unit.code}/report-settings", headers=bearer(admin))
    assert settings.json()["logo"] == {"media_type": "image/png", "unit": parent.code}
    script = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    bad = await client.put(
        f"/api/v1/units/{unit.code}/logo",
        content=script,
        headers={**bearer(admin), "Content-Type": "image/svg+xml"},
    )
    assert bad.status_code == 422
    assert bad.json()["detail"] == (
        "the SVG contains <script>; scripts and linked content are refused"
    )
    none = await client.delete(f"/api/v1/units/{unit.code}/logo", headers=bearer(admin))
    assert none.status_code == 404  # it has no logo of its own
    gone = await client.delete(f"/api/v1/units/{parent.code}/logo", headers=bearer(admin))
    assert gone.status_code == 204
    missing = await client.get(f"/api/v1/units/{unit.code}/logo", headers=bearer(admin))
    assert missing.status_code == 404


def test_cli_report_settings_and_logo(run_cli: Cli, session: Session, tmp_path: Path) -> None:
    unit = make_unit(session)
    code, output = run_cli(
        "unit", "report-settings", unit.code,
        "--signer-name", "Drs. La Ode Muhammad", "--signer-nip", "19800101 200501 1 001",
        "--city", "Kendari", "--sign-date", "2026-07-10",
    )  # fmt: skip
    assert code == 0, output
    assert "NIP            19800101 200501 1 001" in output
    assert f"jabatan        Kepala {unit.name} (default)" in output
    # Options not given stay; '' returns one to its default.
    code, output = run_cli("unit", "report-settings", unit.code, "--city", "")
    assert code == 0, output
    own = report_settings.own_settings(session=session, unit=unit)
    assert own is not None
    assert (own.signer_name, own.city, own.sign_date) == (
        "Drs. La Ode Muhammad",
        None,
        date(2026, 7, 10),
    )
    code, output = run_cli("unit", "report-settings", unit.code, "--signer-nip", "123")
    assert code == 1 and "a NIP is 18 digits" in output
    foreword = tmp_path / "pengantar.txt"
    foreword.write_text("Paragraf satu.\n\nParagraf dua.\n", encoding="utf-8")
    code, output = run_cli("unit", "report-settings", unit.code, "--foreword", str(foreword))
    assert code == 0 and "kata pengantar 29 characters" in output, output
    image = tmp_path / "logo.svg"
    image.write_bytes(SVG)
    code, output = run_cli("unit", "logo", unit.code, str(image))
    assert code == 0, output
    assert f"logo of unit {unit.code} stored (image/svg+xml, {len(SVG)} bytes)" in output
    image.write_bytes(b"GIF89a")
    code, output = run_cli("unit", "logo", unit.code, str(image))
    assert code == 1 and "a logo must be a PNG, JPEG or SVG image" in output
    code, output = run_cli("unit", "logo", unit.code, "--remove")
    assert code == 0 and report_settings.own_logo(session=session, unit=unit) is None
    code, output = run_cli("unit", "logo", unit.code)
    assert code == 1 and "give either an image file or --remove" in output

"""The console's organisation pages: counters added, closed, reopened, rotated and made kiosks,
services, populations, units added and moved (never under themselves), posters and QR codes
that decode to the counter's survey, every change in the audit log as made by the user; a
manager stays inside its subtree (404) and a viewer may not change (403)."""

import subprocess
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from app.config import get_settings
from app.models import AuditEntry, Counter
from app.reports import qr
from app.services import accounts, org
from tests.conftest import Demo
from tests.console import MANAGER, Staff, signed_in
from tests.tools import system_tool


@pytest.fixture
def admin(admin_staff: Staff) -> Staff:
    """The demo admin (the name the API tests give their admin key is taken)."""
    return admin_staff


def counter(demo: Demo, unit: str, code: str) -> Counter:
    found = org.get_counter(
        session=demo.session, unit=org.get_unit(session=demo.session, code=unit), code=code
    )
    demo.session.refresh(found)
    return found


def audit_actions(demo: Demo, target: str) -> list[tuple[str, str]]:
    rows = demo.session.exec(
        select(AuditEntry.action, AuditEntry.actor)
        .where(AuditEntry.target == target)
        .order_by(col(AuditEntry.id))
    ).all()
    return [(a, b) for a, b in rows]


async def test_the_tree_lists_the_users_units(admin: Staff, manager: Staff) -> None:
    page = (await admin.get("/console/organisasi")).text
    for code in ("kendari", "disdukcapil", "dinkes", "pkm-jati-raya", "pkm-lepo-lepo"):
        assert f'data-unit="{code}"' in page
    own = (await manager.get("/console/organisasi")).text
    assert 'data-unit="pkm-jati-raya"' in own
    assert 'data-unit="pkm-lepo-lepo"' not in own


async def test_a_counter_is_added_closed_reopened_made_kiosk_and_rotated(
    manager: Staff, demo: Demo
) -> None:
    base = "/console/organisasi/pkm-jati-raya"
    added = await manager.post(
        f"{base}/loket",
        {
            "counter_code": "loket-gigi",
            "counter_name": "Loket Gigi",
            "counter_service": "poli-gigi",
        },
    )
    assert added.status_code == 303
    assert added.headers["location"] == f"{base}?ok=counter"
    page = (await manager.get(added.headers["location"])).text
    assert "Loket ditambahkan." in page
    assert 'data-counter="loket-gigi"' in page
    made = counter(demo, "pkm-jati-raya", "loket-gigi")
    assert (made.name, made.active, made.kiosk) == ("Loket Gigi", True, False)

    for action, state in (
        ("close", (False, False)),
        ("open", (True, False)),
        ("kiosk-on", (True, True)),
    ):
        answer = await manager.post(f"{base}/loket/loket-gigi", {"action": action})
        assert answer.status_code == 303, answer.text
        found = counter(demo, "pkm-jati-raya", "loket-gigi")
        assert (found.active, found.kiosk) == state

    old = counter(demo, "pkm-jati-raya", "loket-gigi").token
    refused = await manager.post(f"{base}/loket/loket-gigi", {"action": "rotate"})
    assert refused.status_code == 400
    assert "Centang konfirmasi dulu" in refused.text
    assert counter(demo, "pkm-jati-raya", "loket-gigi").token == old
    rotated = await manager.post(f"{base}/loket/loket-gigi", {"action": "rotate", "confirm": "on"})
    assert rotated.status_code == 303
    new = counter(demo, "pkm-jati-raya", "loket-gigi").token
    assert new != old
    assert (await manager.get(f"/s/{old}")).status_code == 404
    assert (await manager.get(f"/s/{new}")).status_code == 200
    assert audit_actions(demo, "pkm-jati-raya/loket-gigi") == [("counter.create", MANAGER[0])]
    assert [a for a, _ in audit_actions(demo, "loket-gigi")] == [
        "counter.update",
        "counter.update",
        "counter.update",
        "counter.rotate",
    ]


async def test_a_duplicate_code_is_shown_in_indonesian_and_nothing_is_written(
    manager: Staff, demo: Demo
) -> None:
    answer = await manager.post(
        "/console/organisasi/pkm-jati-raya/loket",
        {"counter_code": "pendaftaran", "counter_name": "Lagi"},
    )
    assert answer.status_code == 409
    assert "Kode loket pendaftaran sudah dipakai di unit ini." in answer.text
    bad = await manager.post(
        "/console/organisasi/pkm-jati-raya/loket",
        {"counter_code": "bukan kode!", "counter_name": "X"},
    )
    assert bad.status_code == 422
    assert "Isian belum sah: kode." in bad.text
    assert 'value="bukan kode!"' in bad.text  # the form keeps what was typed


async def test_services_populations_and_units(admin: Staff, demo: Demo) -> None:
    base = "/console/organisasi/dinsos"
    assert (
        await admin.post(
            f"{base}/layanan", {"service_code": "bansos", "service_name": "Bantuan sosial"}
        )
    ).status_code == 303
    assert (await admin.post(f"{base}/layanan/bansos", {})).status_code == 303  # deactivate
    unit = org.get_unit(session=demo.session, code="dinsos")
    (service,) = [
        s for s in org.list_services(session=demo.session, unit=unit) if s.code == "bansos"
    ]
    demo.session.refresh(service)
    assert service.active is False
    assert (
        await admin.post(f"{base}/populasi", {"period": "Triwulan I 2027", "population": "1234"})
    ).status_code == 303
    assert ("2027-Q1", 1234) in org.populations(session=demo.session, unit=unit)
    assert (
        await admin.post(f"{base}/populasi", {"period": "besok", "population": "5"})
    ).status_code == 400
    added = await admin.post(
        f"{base}/anak", {"child_code": "uptd-panti", "child_name": "UPTD Panti"}
    )
    assert added.status_code == 303
    child = org.get_unit(session=demo.session, code="uptd-panti")
    assert child.parent_id == unit.id
    assert child.time_zone == unit.time_zone
    moved = await admin.post(
        "/console/organisasi/uptd-panti/unit",
        {"name": "UPTD Panti Sosial", "time_zone": "WITA", "parent": "dinkes", "active": "on"},
    )
    assert moved.status_code == 303
    demo.session.refresh(child)
    assert (child.name, child.parent_id) == (
        "UPTD Panti Sosial",
        org.get_unit(session=demo.session, code="dinkes").id,
    )
    cycle = await admin.post(
        "/console/organisasi/dinkes/unit",
        {"name": "Dinas Kesehatan", "time_zone": "WITA", "parent": "uptd-panti", "active": "on"},
    )
    assert cycle.status_code == 409
    assert "tidak dapat dipindahkan ke bawah dirinya sendiri" in cycle.text
    assert [a for a, _ in audit_actions(demo, "uptd-panti")] == ["unit.create", "unit.update"]


async def test_a_manager_cannot_reach_another_unit(manager: Staff) -> None:
    for path in ("/console/organisasi/pkm-lepo-lepo", "/console/organisasi/dinkes/poster.pdf"):
        assert (await manager.get(path)).status_code == 404, path
    posted = await manager.post(
        "/console/organisasi/pkm-lepo-lepo/loket", {"counter_code": "x", "counter_name": "X"}
    )
    assert posted.status_code == 404
    # Nor move its own unit out from under its subtree.
    moved = await manager.post(
        "/console/organisasi/pkm-jati-raya/unit",
        {"name": "Puskesmas Jati Raya", "time_zone": "WITA", "parent": "dinkes", "active": "on"},
    )
    assert moved.status_code == 303  # saved, but the parent is ignored for the user's own root


async def test_a_viewer_reads_but_may_not_change(demo: Demo, demo_app: FastAPI) -> None:
    unit = org.get_unit(session=demo.session, code="dinkes")
    accounts.create_user(
        session=demo.session,
        email="lihat@kendari.demo",
        password="hanya-melihat-1",
        role="viewer",
        unit=unit,
    )
    viewer = await signed_in(demo_app, ("lihat@kendari.demo", "hanya-melihat-1", "", ""))
    try:
        page = await viewer.get("/console/organisasi/pkm-jati-raya")
        assert page.status_code == 200
        assert "Tambah loket" not in page.text
        refused = await viewer.post(
            "/console/organisasi/pkm-jati-raya/loket", {"counter_code": "x", "counter_name": "X"}
        )
        assert refused.status_code == 403
        assert "Peran Anda tidak mengizinkan" in refused.text
    finally:
        await viewer.client.aclose()


async def test_a_change_without_the_csrf_token_is_refused(manager: Staff, demo: Demo) -> None:
    answer = await manager.post(
        "/console/organisasi/pkm-jati-raya/loket/pendaftaran", {"action": "close"}, csrf=False
    )
    assert answer.status_code == 403
    assert counter(demo, "pkm-jati-raya", "pendaftaran").active is True


@pytest.mark.slow
async def test_posters_and_qr_codes_decode_to_the_counters_survey(
    admin: Staff, demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zbarimg, pdftoppm = system_tool("zbarimg"), system_tool("pdftoppm")
    monkeypatch.setenv("SKM_PUBLIC_BASE_URL", "https://skm.kendarikota.go.id")
    get_settings.cache_clear()
    try:
        poster = await admin.get("/console/organisasi/disdukcapil/poster.pdf?loket=loket")
        png = await admin.get("/console/organisasi/disdukcapil/loket/loket/qr.png")
    finally:
        get_settings.cache_clear()
    assert poster.status_code == 200
    assert poster.content.startswith(b"%PDF")
    (tmp_path / "p.pdf").write_bytes(poster.content)
    subprocess.run(
        [pdftoppm, "-r", "100", "-png", str(tmp_path / "p.pdf"), str(tmp_path / "p")], check=True
    )
    (tmp_path / "q.png").write_bytes(png.content)
    url = qr.survey_url(
        "https://skm.kendarikota.go.id", counter(demo, "disdukcapil", "loket").token
    )
    for image in (*sorted(tmp_path.glob("p*.png")), tmp_path / "q.png"):
        decoded = subprocess.run(
            [zbarimg, "-q", "--raw", str(image)], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert decoded == url


async def test_posters_are_refused_on_a_local_base_url(admin: Staff) -> None:
    answer = await admin.get("/console/organisasi/disdukcapil/poster.pdf")
    assert answer.status_code == 409
    assert "SKM_PUBLIC_BASE_URL" in answer.text
    assert "Kode QR dan poster belum dapat dicetak" in answer.text

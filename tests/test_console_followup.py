"""Publication, the follow-up register (RTL) and the Zona Integritas table in the console:
publishing and its refusals, actions with status and evidence (a refused file writes nothing),
coverage, the LKE values for the demo pemda against `skm ikm --json` and the ladders, the
survey cycle, the evidence pack (console and API), and the subtree limit on every new route."""

import io
import json
import re
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from app.config import get_settings
from app.core import followup as core_followup
from app.core import zi
from app.core.ikm import ElementResult
from app.core.periods import parse_period
from app.models import AuditEntry, EvidenceFile, FollowupAction, Publication, SurveyCycle
from app.reports.wording import number
from app.services import alerts, apikeys, org
from app.services.demo import FEW_DONE, NO_POSTER
from tests.conftest import Demo
from tests.console import BASE, MANAGER, Staff
from tests.tools import decode_qr, pdf_text, system_tool


@pytest.fixture
def admin(admin_staff: Staff) -> Staff:
    """The demo admin (the name the API tests give their admin key is taken)."""
    return admin_staff


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the signature is what is checked
UNITS_WITH_SERVICES = (
    "dpmptsp",
    "disdukcapil",
    "dinsos",
    "disdik",
    "pkm-jati-raya",
    "pkm-lepo-lepo",
)


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = "https://skm.kendarikota.go.id"
    monkeypatch.setenv("SKM_PUBLIC_BASE_URL", url)
    get_settings.cache_clear()
    yield url
    monkeypatch.undo()
    get_settings.cache_clear()


def cli_ikm(demo: Demo, unit: str, period: str) -> dict[str, Any]:
    code, output = demo.cli("ikm", "--unit", unit, "--period", period, "--json")
    assert code == 0, output
    return json.loads(output)  # type: ignore[no-any-return]


async def test_a_manager_publishes_and_the_public_page_shows_it(manager: Staff, demo: Demo) -> None:
    url = "/console/publikasi/pkm-jati-raya"
    answer = await manager.post(url, {"period": "2026-08", "weight": "exact"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{url}?period=2026-08&weight=exact&ok=published"
    page = await manager.get(answer.headers["location"])
    assert "Hasil dipublikasikan" in page.text
    expected = cli_ikm(demo, "pkm-jati-raya", "2026-08")
    public = await manager.get("/hasil/pkm-jati-raya?periode=2026-08")
    assert number(expected["nik_rounded"]) in public.text
    entry = demo.session.exec(
        select(AuditEntry).where(AuditEntry.action == "publication.publish")
        .order_by(col(AuditEntry.id).desc())
    ).first()  # fmt: skip
    assert entry is not None and (entry.actor, entry.target) == (
        MANAGER[0],
        "pkm-jati-raya 2026-08",
    )


async def test_publishing_a_period_without_responses_is_refused_in_words(manager: Staff) -> None:
    answer = await manager.post("/console/publikasi/pkm-jati-raya", {"period": "2019"})
    assert answer.status_code == 409
    assert "Belum ada responden pada periode ini" in answer.text


async def test_new_routes_answer_404_outside_the_subtree(manager: Staff, demo: Demo) -> None:
    other = "disdukcapil"
    action = demo.session.exec(
        select(FollowupAction).where(
            FollowupAction.unit_id == org.get_unit(session=demo.session, code=other).id
        )
    ).first()
    assert action is not None
    for path in (
        f"/console/publikasi/{other}",
        f"/console/publikasi/{other}/poster.pdf?period=2026-Q3",
        f"/console/rtl/{other}",
        f"/console/zi?unit={other}",
        f"/console/zi/{other}/paket-bukti.zip?period=2026-Q3",
    ):
        assert (await manager.get(path)).status_code == 404, path
    before = demo.session.exec(select(Publication.id)).all()
    for path, data in (
        (f"/console/publikasi/{other}", {"period": "2026-Q3"}),
        (f"/console/publikasi/{other}/terpasang", {"period": "2026-Q3"}),
        (f"/console/rtl/{other}", {"period": "2026-Q3"}),
        (f"/console/rtl/{other}/{action.id}", {"status": "selesai"}),
    ):
        assert (await manager.post(path, data)).status_code == 404, path
    assert demo.session.exec(select(Publication.id)).all() == before
    # The cycle is the pemda's: a manager may not set it.
    assert (await manager.post("/console/zi/siklus", {"cycle": "year"})).status_code == 403


async def test_a_post_without_its_csrf_token_changes_nothing(manager: Staff, demo: Demo) -> None:
    before = len(demo.session.exec(select(FollowupAction.id)).all())
    answer = await manager.post(
        "/console/rtl/pkm-jati-raya",
        {"period": "2026-Q3", "elements": "waktu", "action": "x", "responsible": "y",
         "target_date": "2026-12-31"},
        csrf=False,
    )  # fmt: skip
    assert answer.status_code == 403
    assert len(demo.session.exec(select(FollowupAction.id)).all()) == before


async def test_an_action_is_added_completed_with_evidence_and_counts_for_coverage(
    manager: Staff, demo: Demo
) -> None:
    url = "/console/rtl/pkm-jati-raya"
    period = "2026-Q4"  # the running quarter: no demo actions yet
    page = await manager.get(f"{url}?period={period}")
    coverage = re.search(r"sudah ditindaklanjuti sampai selesai: <strong>(\d+)</strong>", page.text)
    assert coverage is not None and coverage.group(1) == "0"
    weak = re.findall(r'<tr data-element="([a-z_]+)">', page.text)
    assert weak, page.text
    added = await manager.post(
        url,
        {"period": period, "elements": weak[0], "action": "Menambah loket pada jam sibuk",
         "responsible": "Kepala Puskesmas", "target_date": "2027-01-31"},
    )  # fmt: skip
    assert added.status_code == 303, added.text
    row = demo.session.exec(
        select(FollowupAction).where(FollowupAction.action == "Menambah loket pada jam sibuk")
    ).one()
    done = await manager.client.post(
        f"{url}/{row.id}",
        data={"csrf": manager.csrf, "status": "selesai", "note": "Loket 3 dibuka"},
        files={"file": ("foto.png", PNG, "image/png")},
    )
    assert done.status_code == 303, done.text
    demo.session.refresh(row)
    assert (row.status, row.completed_at is not None) == ("selesai", True)
    assert row.notes is not None and row.notes.endswith("Loket 3 dibuka")
    page = await manager.get(f"{url}?period={period}")
    found = re.search(r"sudah ditindaklanjuti sampai selesai: <strong>(\d+)</strong>", page.text)
    assert found is not None and found.group(1) == "1"
    expected = core_followup.followup_coverage(weak, [[weak[0]]])
    assert f"nilai LKE butir c {number(expected.value)}" in page.text
    proof = demo.session.exec(select(EvidenceFile).where(EvidenceFile.action_id == row.id)).one()
    download = await manager.get(f"{url}/bukti/{proof.id}")
    assert (download.status_code, download.content) == (200, PNG)
    assert download.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"MZ\x90\x00 not a photo", "foto (JPEG, PNG) atau PDF"), (PNG + b"\x00" * 3_200_000, "3 MB")],
)
async def test_a_refused_evidence_file_writes_nothing(
    manager: Staff, demo: Demo, content: bytes, message: str
) -> None:
    unit = org.get_unit(session=demo.session, code="pkm-jati-raya")
    row = demo.session.exec(
        select(FollowupAction).where(
            FollowupAction.unit_id == unit.id, FollowupAction.status == "proses"
        )
    ).first()
    assert row is not None
    files_before = len(demo.session.exec(select(EvidenceFile.id)).all())
    answer = await manager.client.post(
        f"/console/rtl/pkm-jati-raya/{row.id}",
        data={"csrf": manager.csrf, "status": "selesai"},
        files={"file": ("bukti.exe", content, "application/octet-stream")},
    )
    assert answer.status_code == 422
    assert message in answer.text
    demo.session.refresh(row)
    assert row.status == "proses"
    assert len(demo.session.exec(select(EvidenceFile.id)).all()) == files_before


def _expected_row(demo: Demo, unit: str, year: int) -> dict[str, Decimal]:
    """The LKE items of a demo unit computed the long way: each quarter's `skm ikm --json`,
    the publications and actions as the demo records them, and the core's ladders."""
    quarters = [cli_ikm(demo, unit, f"{year}-Q{q}") for q in (1, 2, 3, 4)]
    held = sum(1 for r in quarters if r["n"] and r["sample"] and r["sample"]["sufficient"])
    stored = org.get_unit(session=demo.session, code=unit)
    publications = demo.session.exec(
        select(Publication).where(
            Publication.unit_id == stored.id, col(Publication.revised_at).is_(None),
            col(Publication.period).like(f"{year}%"),
        )
    ).all()  # fmt: skip
    actions = demo.session.exec(
        select(FollowupAction).where(FollowupAction.unit_id == stored.id)
    ).all()
    weak: list[str] = []
    done: list[list[str]] = []
    today = datetime.now(stored.zone).date()
    for q, result in enumerate(quarters, 1):
        if not result["n"] or parse_period(f"{year}-Q{q}").end >= today:
            continue  # no follow-up is due for a quarter still running
        label = f"{year}-Q{q}"
        elements = [
            ElementResult(
                e["code"], e["n"], e["sum"],
                None if e["nrr"] is None else Fraction(str(e["nrr"])), None, None, e["mutu"],
            )
            for e in result["elements"]
        ]  # fmt: skip
        weak += [f"{label}:{c}" for c in core_followup.weak_elements(elements)]
        done += [
            [f"{label}:{c}" for c in a.elements.split(",")]
            for a in actions
            if a.period == label and a.status == "selesai"
        ]
    score = zi.LkeScore(
        held, 4, bool(publications), any(p.poster_posted_at for p in publications),
        core_followup.followup_coverage(weak, done),
    )  # fmt: skip
    return {"a": score.a, "b": score.b, "c": score.c, "mean": score.mean}


async def test_the_lke_table_equals_the_ladders_over_skm_ikm(admin: Staff, demo: Demo) -> None:
    page = await admin.get("/console/zi?tahun=2026")
    assert page.status_code == 200
    for unit in ("kendari", *UNITS_WITH_SERVICES):
        start = page.text.index(f'<tr data-unit="{unit}">')
        line = page.text[start : page.text.index("</tr>", start)]
        shown = dict(re.findall(r'data-field="([a-z]+)">([^<]+)<', line))
        expected = _expected_row(demo, unit, 2026)
        assert shown == {k: number(v) for k, v in expected.items()}, unit
    # The demo's lagging units show the ladder's lower steps.
    for unit in NO_POSTER:
        assert _expected_row(demo, unit, 2026)["b"] == Decimal("0.50")
    assert {_expected_row(demo, u, 2026)["c"] for u in FEW_DONE} <= {Decimal("0.33"), Decimal("0")}


async def test_an_admin_sets_the_survey_cycle_for_the_pemda(admin: Staff, demo: Demo) -> None:
    answer = await admin.post("/console/zi/siklus", {"cycle": "semester"})
    assert answer.status_code == 303
    page = await admin.get("/console/zi?tahun=2026")
    assert "siklus semesteran" in page.text
    assert '<th scope="col">S1</th><th scope="col">S2</th>' in page.text
    bad = await admin.post("/console/zi/siklus", {"cycle": "weekly"})
    assert bad.status_code == 422
    restored = await admin.post("/console/zi/siklus", {"cycle": "quarter"})
    assert restored.status_code == 303
    stored = demo.session.exec(select(SurveyCycle)).all()
    assert [(s.cycle) for s in stored] == ["quarter"]


def _names(body: bytes) -> list[str]:
    return sorted(zipfile.ZipFile(io.BytesIO(body)).namelist())


async def test_the_evidence_pack_holds_its_files(
    admin: Staff, demo: Demo, demo_app: FastAPI, public_url: str
) -> None:
    answer = await admin.get("/console/zi/pkm-jati-raya/paket-bukti.zip?period=2026-Q2")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    pack = zipfile.ZipFile(io.BytesIO(answer.content))
    names = pack.namelist()
    stem = "pkm-jati-raya-2026-Q2"
    for expected in (
        f"1-laporan-skm-{stem}.pdf",
        f"2-poster-hasil-{stem}.pdf",
        f"3-halaman-publik-{stem}.pdf",
        "3-alamat-halaman-publik.txt",
        f"5-rtl-{stem}.csv",
        "6-nilai-lke-pkm-jati-raya-2026.csv",
        "BACA.txt",
    ):
        assert expected in names
    for pdf in (n for n in names if n.endswith(".pdf")):
        assert pack.read(pdf).startswith(b"%PDF"), pdf
    assert (
        pack.read("3-alamat-halaman-publik.txt").decode() == f"{public_url}/hasil/pkm-jati-raya\n"
    )
    rtl = pack.read(f"5-rtl-{stem}.csv").decode("utf-8-sig")
    assert rtl.count("Selesai") >= 1
    sheet = pack.read("6-nilai-lke-pkm-jati-raya-2026.csv").decode("utf-8-sig")
    assert sheet.startswith("Butir,Dasar penilaian,Nilai")

    key = apikeys.create_key(
        session=demo.session, name="bagian organisasi", scopes=["ikm:read"], unit_code="kendari"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=demo_app), base_url=BASE
    ) as client:
        api = await client.get(
            "/api/v1/reports/pkm-jati-raya/2026-Q2/evidence-pack.zip",
            headers={"Authorization": f"Bearer {key[1]}"},
        )
        assert api.status_code == 200, api.text
        assert _names(api.content) == sorted(names)
        empty = await client.get(
            "/api/v1/reports/pkm-jati-raya/2019/evidence-pack.zip",
            headers={"Authorization": f"Bearer {key[1]}"},
        )
        assert (empty.status_code, empty.json()["error"]) == (404, "not_found")


@pytest.mark.parametrize("size", ["a4", "a3"])
async def test_the_results_poster_decodes_to_the_public_page(
    manager: Staff, public_url: str, tmp_path: Path, size: str
) -> None:
    answer = await manager.get(
        f"/console/publikasi/pkm-jati-raya/poster.pdf?period=2026-Q3&ukuran={size}"
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    (tmp_path / "poster.pdf").write_bytes(answer.content)
    subprocess.run(
        [system_tool("pdftoppm"), "-r", "100", "-png", str(tmp_path / "poster.pdf"),
         str(tmp_path / "page")],
        check=True,
    )  # fmt: skip
    assert decode_qr(tmp_path / "page-1.png") == f"{public_url}/hasil/pkm-jati-raya"
    assert "Triwulan III Tahun 2026" in pdf_text(tmp_path / "poster.pdf")


async def test_marking_the_poster_posted_keeps_its_photo(manager: Staff, demo: Demo) -> None:
    url = "/console/publikasi/pkm-jati-raya"
    answer = await manager.client.post(
        f"{url}/terpasang",
        data={"csrf": manager.csrf, "period": "2026-Q3"},
        files={"photo": ("papan.png", PNG, "image/png")},
    )
    assert answer.status_code == 303, answer.text
    unit = org.get_unit(session=demo.session, code="pkm-jati-raya")
    standing = demo.session.exec(
        select(Publication).where(
            Publication.unit_id == unit.id, Publication.period == "2026-Q3",
            col(Publication.revised_at).is_(None),
        )
    ).one()  # fmt: skip
    assert standing.poster_photo_id is not None
    photo = await manager.get(f"{url}/foto/{standing.poster_photo_id}")
    assert (photo.status_code, photo.content) == (200, PNG)


async def test_the_report_lists_the_recorded_plan_and_what_became_of_the_last_one(
    admin: Staff, demo: Demo, tmp_path: Path
) -> None:
    unit = org.get_unit(session=demo.session, code="pkm-jati-raya")
    earlier = demo.session.exec(
        select(FollowupAction).where(
            FollowupAction.unit_id == unit.id, FollowupAction.period == "2026-Q2"
        )
    ).all()
    done = sum(1 for a in earlier if a.status == "selesai")
    assert earlier
    answer = await admin.get("/console/laporan/unduh?unit=pkm-jati-raya&period=2026-Q3&format=pdf")
    assert answer.status_code == 200
    (tmp_path / "laporan.pdf").write_bytes(answer.content)
    text = " ".join(pdf_text(tmp_path / "laporan.pdf").split())
    assert "sebagaimana tercatat dalam register" in text
    assert (
        f"Tindak lanjut atas hasil survei Triwulan II Tahun 2026: {done} dari {len(earlier)} "
        "kegiatan telah selesai."
    ) in text
    current = demo.session.exec(
        select(FollowupAction).where(
            FollowupAction.unit_id == unit.id, FollowupAction.period == "2026-Q3"
        )
    ).all()
    for action in current:
        assert " ".join(action.action.split()[:2]) in text  # a cell wraps after a few words


async def _listed(staff: Staff) -> set[int]:
    """The alert ids the console lists to ``staff``, over all its pages (25 a page)."""
    found: set[int] = set()
    for page in range(100):
        listed = await staff.get(f"/console/peringatan?halaman={page}")
        ids = {int(i) for i in re.findall(r'<tr data-alert="(\d+)">', listed.text)}
        if not ids:
            return found
        assert len(ids) <= 25
        found |= ids
    raise AssertionError("more pages than alerts")


async def test_alerts_are_seen_and_handled_within_the_subtree(
    admin: Staff, manager: Staff, demo: Demo
) -> None:
    raised = alerts.check(session=demo.session, size=30)
    assert raised, "the demo's declining units raise alerts"
    jati_raya = org.get_unit(session=demo.session, code="pkm-jati-raya")
    mine = [a for a in raised if a.unit_id == jati_raya.id]
    others = [a for a in raised if a.unit_id != jati_raya.id]
    assert others
    assert await _listed(admin) == {a.id for a in raised}
    assert await _listed(manager) == {a.id for a in mine}
    outside = await manager.post(f"/console/peringatan/{others[0].id}", {"status": "closed"})
    assert outside.status_code == 404
    handled = await admin.post(
        f"/console/peringatan/{others[0].id}", {"status": "acknowledged", "comment": "Dicek"}
    )
    assert handled.status_code == 303
    demo.session.refresh(others[0])
    assert others[0].status == "acknowledged"
    assert (await manager.get("/console/webhook")).status_code == 403


async def test_an_admin_subscribes_a_webhook_and_sees_its_secret_once(admin: Staff) -> None:
    created = await admin.post("/console/webhook", {"url": "https://bagor.kendarikota.go.id/skm"})
    assert created.status_code == 200
    secret = re.search(r'data-field="secret">(whsec_[0-9a-f]{64})<', created.text)
    assert secret is not None
    listed = await admin.get("/console/webhook")
    assert "https://bagor.kendarikota.go.id/skm" in listed.text
    assert secret.group(1) not in listed.text
    refused = await admin.post("/console/webhook", {"url": "ftp://x"})
    assert refused.status_code == 422

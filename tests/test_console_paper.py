"""Paper questionnaires in the console: three typed in are counted by `skm ikm` on channel
paper, a double submit stores once, the last one can be undone (the IKM returns to what it
was), a bad digit stores nothing; a sheet with a bad row stores nothing and names the row,
the corrected sheet is stored; downloads of the report open in their formats."""

import io
import json
import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.models import AuditEntry, Response
from app.services import accounts, org
from tests.conftest import DEMO_PERIOD, Demo
from tests.console import MANAGER, Staff, signed_in
from tests.tools import system_tool


@pytest.fixture
def admin(admin_staff: Staff) -> Staff:
    """The demo admin (the name the API tests give their admin key is taken)."""
    return admin_staff


CODES = (
    "persyaratan",
    "prosedur",
    "waktu",
    "biaya",
    "produk",
    "kompetensi",
    "perilaku",
    "pengaduan",
    "sarana",
)


def today(demo: Demo) -> str:
    zone = org.get_unit(session=demo.session, code="pkm-jati-raya").zone
    return datetime.now(zone).date().isoformat()


def ikm_today(demo: Demo, unit: str = "pkm-jati-raya") -> dict[str, Any]:
    day = today(demo)
    code, output = demo.cli("ikm", "--unit", unit, "--period", f"{day}..{day}", "--json")
    assert code == 0, output
    return json.loads(output)  # type: ignore[no-any-return]


def entry(demo: Demo, answers: str, key: str, **extra: str) -> dict[str, str]:
    fields = {f"a_{c}": a for c, a in zip(CODES, answers, strict=True)}
    return {**fields, "date": today(demo), "key": key, **extra}


def paper_count(demo: Demo) -> int:
    return demo.session.exec(
        select(func.count()).select_from(Response).where(Response.channel == "paper")
    ).one()


async def test_three_entries_are_counted_and_the_last_can_be_undone(
    manager: Staff, demo: Demo
) -> None:
    before = ikm_today(demo)
    url = "/console/kuesioner/pkm-jati-raya"
    form = (await manager.get(url)).text
    assert 'name="a_persyaratan"' in form and "autofocus" in form
    for i, answers in enumerate(("444444444", "333333333", "123412341")):
        saved = await manager.post(
            url, entry(demo, answers, f"k{i}", sex="P", age="41", suggestion="Antrean rapi")
        )
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == f"{url}?ok=saved"
    again = await manager.post(url, entry(demo, "123412341", "k2"))  # a double Enter
    assert again.status_code == 303
    after = ikm_today(demo)
    assert after["n"] == before["n"] + 3
    page = (await manager.get(f"{url}?ok=saved")).text
    assert re.search(r'data-field="count">3<', page)
    undone = await manager.post(f"{url}/batal")
    assert undone.status_code == 303
    two = ikm_today(demo)
    assert two["n"] == before["n"] + 2
    # Undone by removing its sums: the figures are those of the first two alone.
    expected = dict.fromkeys(CODES, (4 + 3) / 2) if before["n"] == 0 else None
    if expected:
        assert {e["code"]: e["nrr"] for e in two["elements"]} == expected
    actions = demo.session.exec(
        select(AuditEntry.action)
        .where(AuditEntry.actor == MANAGER[0])
        .where(col(AuditEntry.action).like("response.%"))
        .order_by(col(AuditEntry.id))
    ).all()
    assert actions[-4:] == ["response.paper"] * 3 + ["response.undo"]
    # Same figures as a rebuild of the rollups from the stored responses.
    code, _ = demo.cli("db", "rebuild-rollups")
    assert code == 0
    assert ikm_today(demo) == two


async def test_a_bad_digit_stores_nothing(manager: Staff, demo: Demo) -> None:
    before = paper_count(demo)
    answer = await manager.post("/console/kuesioner/pkm-jati-raya", entry(demo, "44445444x", "bad"))
    assert answer.status_code == 422
    assert answer.text.count("Isi angka 1, 2, 3 atau 4.") == 2
    assert 'aria-invalid="true"' in answer.text
    assert 'value="5"' in answer.text  # what was typed stays
    assert paper_count(demo) == before


def sheet(rows: list[str]) -> bytes:
    header = "U1,U2,U3,U4,U5,U6,U7,U8,U9,jenis_kelamin,saran"
    return ("\n".join([header, *rows]) + "\n").encode()


async def test_a_sheet_with_a_bad_row_stores_nothing_then_the_fixed_one_is_stored(
    manager: Staff, demo: Demo
) -> None:
    url = "/console/kuesioner/pkm-jati-raya"
    before = paper_count(demo)
    bad = sheet(["4,4,4,4,4,4,4,4,4,L,baik", "4,4,9,4,4,4,4,4,4,P,", "3,3,3,3,3,3,3,3,3,X,"])
    preview = await manager.post(f"{url}/unggah", files={"sheet": ("kertas.csv", bad, "text/csv")})
    assert preview.status_code == 422
    assert "2 masalah; tidak ada yang disimpan." in preview.text
    assert "baris 3" in preview.text and "baris 4" in preview.text
    assert "U1 (persyaratan)</td><td>unsur Persyaratan" in preview.text
    assert "baris 3: U3 (waktu) &#39;9&#39; bukan jawaban 1..4" in preview.text
    assert paper_count(demo) == before
    good = sheet(["4,4,4,4,4,4,4,4,4,L,baik", "4,4,3,4,4,4,4,4,4,P,", "3,3,3,3,3,3,3,3,3,L,"])
    checked = await manager.post(f"{url}/unggah", files={"sheet": ("kertas.csv", good, "text/csv")})
    assert checked.status_code == 200
    assert "Simpan 3 kuesioner" in checked.text
    upload = re.search(r'name="upload" value="([0-9a-f]+)"', checked.text)
    assert upload
    stored = await manager.post(f"{url}/simpan", {"upload": upload.group(1)})
    assert stored.status_code == 200
    assert re.search(r'data-field="stored">3<', stored.text)
    assert paper_count(demo) == before + 3
    again = await manager.post(f"{url}/simpan", {"upload": upload.group(1)})
    assert again.status_code == 404  # used up


async def test_paper_entry_stays_inside_the_subtree_and_needs_a_manager(
    manager: Staff, demo: Demo, demo_app: FastAPI
) -> None:
    assert (await manager.get("/console/kuesioner/pkm-lepo-lepo")).status_code == 404
    posted = await manager.post("/console/kuesioner/pkm-lepo-lepo", entry(demo, "444444444", "z"))
    assert posted.status_code == 404
    no_token = await manager.post(
        "/console/kuesioner/pkm-jati-raya", entry(demo, "444444444", "y"), csrf=False
    )
    assert no_token.status_code == 403
    unit = org.get_unit(session=demo.session, code="dinkes")
    accounts.create_user(
        session=demo.session,
        email="baca@kendari.demo",
        password="hanya-membaca-1",
        role="viewer",
        unit=unit,
    )
    viewer = await signed_in(demo_app, ("baca@kendari.demo", "hanya-membaca-1", "", ""))
    try:
        assert (await viewer.get("/console/kuesioner/pkm-jati-raya")).status_code == 403
    finally:
        await viewer.client.aclose()


@pytest.mark.parametrize("fmt", ["pdf", "xlsx", "docx", "csv"])
async def test_reports_download_in_every_format(
    admin: Staff, demo: Demo, fmt: str, tmp_path: Path
) -> None:
    answer = await admin.get(
        f"/console/laporan/unduh?unit=dinkes&period={DEMO_PERIOD}&format={fmt}&weight=exact"
    )
    assert answer.status_code == 200, answer.text
    assert f'filename="skm-dinkes-{DEMO_PERIOD}.{fmt}"' in answer.headers["content-disposition"]
    if fmt == "pdf":
        assert answer.content.startswith(b"%PDF")
        (tmp_path / "r.pdf").write_bytes(answer.content)
        text = subprocess.run(
            [system_tool("pdftotext"), str(tmp_path / "r.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "DINAS KESEHATAN" in text.upper()
    elif fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(answer.content))
        assert "Pengolahan Data" in book.sheetnames
    elif fmt == "docx":
        document = docx.Document(io.BytesIO(answer.content))
        assert any("Dinas Kesehatan" in p.text for p in document.paragraphs)
    else:
        _, output = demo.cli("ikm", "--unit", "dinkes", "--period", DEMO_PERIOD, "--json")
        lines = answer.text.strip().splitlines()
        assert len(lines) - 1 == json.loads(output)["n"]


async def test_the_report_page_offers_the_users_units(admin: Staff) -> None:
    page = (await admin.get("/console/laporan")).text
    for code in ("kendari", "dinkes", "pkm-jati-raya"):
        assert f'<option value="{code}">' in page

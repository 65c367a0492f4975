"""The console's overview and unit pages: every figure on them is the figure `skm ikm --json`
gives for the same scope, period and method (read back from the HTML), the child units sort,
"perlu perhatian" names what needs attention, saran can be searched, and a manager sees its
own subtree only."""

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from tests.conftest import DEMO_PERIOD, Demo
from tests.console import Staff


@pytest.fixture
def admin(admin_staff: Staff) -> Staff:
    """The demo admin (the name the API tests give their admin key is taken)."""
    return admin_staff


def cli_ikm(demo: Demo, unit: str, period: str, *extra: str) -> dict[str, Any]:
    code, output = demo.cli("ikm", "--unit", unit, "--period", period, "--json", *extra)
    assert code == 0, output
    return json.loads(output)  # type: ignore[no-any-return]


def shown(value: float | None, decimals: int) -> str:
    """A figure as the console prints it: half-up, decimal comma, thousands with dots."""
    if value is None:
        return "-"
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    return f"{rounded:.{decimals}f}".replace(".", ",")


def field(html: str, name: str) -> str:
    found = re.search(rf'data-field="{name}">(.*?)</', html, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def section(html: str, marker: str, end: str = "</section>") -> str:
    start = html.index(marker)
    return html[start : html.index(end, start)]


def row(html: str, attribute: str, value: str) -> str:
    start = html.index(f'{attribute}="{value}"')
    return html[start : html.index("</tr>", start)]


def assert_headline(html: str, expected: dict[str, Any]) -> None:
    assert field(html, "nik") == shown(expected["nik_rounded"], 2)
    assert field(html, "ikm") == shown(expected["ikm"], 4)
    assert field(html, "n") == f"{expected['n']:,}".replace(",", ".")
    assert field(html, "kinerja") == (expected["kinerja"] or "belum ada data")
    if expected["sample"]:
        assert field(html, "minimum") == f"{expected['sample']['minimum']:,}".replace(",", ".")
        assert field(html, "verdict") == expected["sample"]["verdict"]


def assert_elements(html: str, expected: dict[str, Any]) -> None:
    for element in expected["elements"]:
        line = row(html, "data-element", element["code"])
        assert field(line, "nrr") == shown(element["nrr"], 3)
        assert field(line, "nik") == shown(element["nik_rounded"], 2)
        assert field(line, "mutu") == (element["mutu"] or "-")


@pytest.mark.parametrize("weight", ["exact", "0.111"])
async def test_overview_figures_equal_skm_ikm(admin: Staff, demo: Demo, weight: str) -> None:
    page = await admin.get(f"/console?period={DEMO_PERIOD}&weight={weight}")
    assert page.status_code == 200
    html = page.text
    extra = () if weight == "exact" else ("--weight", weight)
    expected = cli_ikm(demo, "kendari", DEMO_PERIOD, *extra)
    assert expected["n"] > 0
    assert_headline(section(html, 'data-scope="kendari"'), expected)
    assert_elements(section(html, 'id="h-unsur"'), expected)
    units = section(html, 'class="units"', "</table>")
    for child in ("disdukcapil", "dpmptsp", "dinkes", "dinsos", "disdik"):
        figure = cli_ikm(demo, child, DEMO_PERIOD, *extra)
        line = row(units, "data-unit", child)
        assert field(line, "nik") == shown(figure["nik_rounded"], 2)
        assert field(line, "n") == f"{figure['n']:,}".replace(",", ".")
        assert field(line, "mutu") == (figure["mutu"] or "-")
        previous = cli_ikm(demo, child, "2026-Q2", *extra)
        change = Decimal(shown(figure["nik_rounded"], 2).replace(",", ".")) - Decimal(
            shown(previous["nik_rounded"], 2).replace(",", ".")
        )
        assert field(line, "change") == ("+" if change > 0 else "") + shown(float(change), 2)
        heat = row(section(html, 'class="heat"', "</table>"), "data-unit", child)
        for element in figure["elements"]:
            cell = re.search(rf'data-element="{element["code"]}">([^<]*)', heat)
            assert cell and cell.group(1).strip() == shown(element["nik_rounded"], 1)


async def test_overview_trend_equals_skm_ikm_per_quarter(admin: Staff, demo: Demo) -> None:
    html = (await admin.get(f"/console?period={DEMO_PERIOD}")).text
    trend = section(html, 'id="h-tren"')
    for label in ("2026-Q3", "2026-Q1", "2025-Q4"):
        expected = cli_ikm(demo, "kendari", label)
        assert field(row(trend, "data-period", label), "nik") == shown(expected["nik_rounded"], 2)


async def test_overview_sorts_children_by_a_column(admin: Staff) -> None:
    def order(html: str) -> list[str]:
        units = section(html, 'class="units"', "</table>")
        return re.findall(r'<tr data-unit="([^"]+)"', units)

    by_nik = order((await admin.get(f"/console?period={DEMO_PERIOD}&sort=nik")).text)
    by_code = order((await admin.get(f"/console?period={DEMO_PERIOD}&sort=kode&order=asc")).text)
    assert by_code == sorted(by_code)
    assert sorted(by_nik) == by_code
    assert by_nik != by_code  # the demo's grades do not follow the codes


async def test_overview_lists_what_needs_attention(admin: Staff, demo: Demo) -> None:
    html = (await admin.get(f"/console?period={DEMO_PERIOD}")).text
    attention = section(html, 'id="h-perhatian"')
    expected = cli_ikm(demo, "kendari", DEMO_PERIOD)
    weak = {e["code"] for e in expected["elements"] if e["mutu"] in ("C", "D")}
    assert set(re.findall(r'data-attention="element" data-element="([^"]+)"', attention)) == weak
    below = set(re.findall(r'data-attention="sample" data-unit="([^"]+)"', attention))
    for child in ("disdukcapil", "dpmptsp", "dinkes", "dinsos", "disdik"):
        figure = cli_ikm(demo, child, DEMO_PERIOD)
        short = figure["sample"] is not None and not figure["sample"]["sufficient"]
        assert (child in below) == (short and figure["n"] > 0)
    # A period before the demo's data: every unit is silent.
    empty = section((await admin.get("/console?period=2020-Q1")).text, 'id="h-perhatian"')
    assert len(re.findall(r'data-attention="silent"', empty)) == 5


async def test_unit_page_figures_equal_skm_ikm(manager: Staff, demo: Demo) -> None:
    page = await manager.get(f"/console/unit/pkm-jati-raya?period={DEMO_PERIOD}")
    assert page.status_code == 200
    html = page.text
    expected = cli_ikm(demo, "pkm-jati-raya", DEMO_PERIOD)
    assert_headline(section(html, 'data-scope="pkm-jati-raya"'), expected)
    assert_elements(section(html, 'id="h-unsur"'), expected)
    parts = section(html, 'id="h-layanan"')
    for flag, code in (("--service", "kia"), ("--counter", "pendaftaran")):
        figure = cli_ikm(demo, "pkm-jati-raya", DEMO_PERIOD, flag, code)
        line = row(parts, "data-part", code)
        assert field(line, "nik") == shown(figure["nik_rounded"], 2)
        assert field(line, "n") == f"{figure['n']:,}".replace(",", ".")
    assert f"/console/laporan/unduh?unit=pkm-jati-raya&amp;period={DEMO_PERIOD}" in html


async def test_unit_page_searches_saran(admin: Staff) -> None:
    everything = (await admin.get(f"/console/unit/dinsos?period={DEMO_PERIOD}")).text
    total = int(re.search(r"Saran dan masukan \(([\d.]+)\)", everything).group(1).replace(".", ""))  # type: ignore[union-attr]
    assert total > 0
    found = (await admin.get(f"/console/unit/dinsos?period={DEMO_PERIOD}&q=TOILET")).text
    items = re.findall(r"<li>.*?</li>", section(found, 'id="h-saran"'), re.S)
    assert items
    assert all("toilet" in item.lower() for item in items)
    some = int(re.search(r"Saran dan masukan \(([\d.]+)\)", found).group(1).replace(".", ""))  # type: ignore[union-attr]
    assert 0 < some < total
    none = (await admin.get(f"/console/unit/dinsos?period={DEMO_PERIOD}&q=zzzz%25")).text
    assert "Tidak ada saran yang memuat “zzzz%”" in none


async def test_manager_sees_its_own_subtree_only(manager: Staff) -> None:
    own = await manager.get("/console")
    assert own.status_code == 200
    assert 'data-scope="pkm-jati-raya"' in own.text
    for path in (
        "/console/unit/pkm-lepo-lepo",
        "/console/unit/dinkes",
        "/console?unit=dinkes",
        "/console?unit=kendari",
        "/console/unit/tidak-ada",
    ):
        answer = await manager.get(path)
        assert answer.status_code == 404, path
        assert "Halaman tidak ditemukan" in answer.text


async def test_a_bad_period_is_named_and_replaced(admin: Staff) -> None:
    html = (await admin.get("/console?period=kemarin")).text
    assert "Periode &#39;kemarin&#39; tidak dikenal" in html

"""The report PDF's coverage, ranking, cross-unit, trend and lampiran sections, read back with
pdftotext / pdfinfo: on the Kendari demo (seeded once for the module, rolled back at the end)
against `skm ikm --json` and the engine, and on a unit of 100 known respondents."""

import json
import re
from pathlib import Path

import pytest
from sqlmodel import Session

from app.core import ikm
from app.core.periods import parse_period, period_text
from app.reports.pdf import TIMES, write_pdf
from app.reports.wording import DASH, number
from app.services import org, results
from app.services.report_data import ReportData, build_report, respondents
from app.services.scopes import Scope
from tests.conftest import DEMO_PERIOD as PERIOD
from tests.conftest import Demo
from tests.tools import pdf_lines, pdf_text

A4_LANDSCAPE = (841.89, 595.28)  # points, as pdfinfo prints them


def _ikm_json(demo: Demo, unit: str, *extra: str) -> dict:  # type: ignore[type-arg]
    code, output = demo.cli("ikm", "--unit", unit, "--period", PERIOD, "--json", *extra)
    assert code == 0, output
    return json.loads(output)  # type: ignore[no-any-return]


def _cli_pdf(demo: Demo, unit: str, out: Path, *extra: str) -> Path:
    code, output = demo.cli("report", "--unit", unit, "--period", PERIOD, "-o", str(out), *extra)
    assert code == 0, output
    return out


def _report(session: Session, code: str, **options: object) -> ReportData:
    return build_report(
        session=session,
        unit=org.get_unit(session=session, code=code),
        period=parse_period(PERIOD),
        method=ikm.Method(),
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("unit", ["disdukcapil", "dinkes", "kendari"])
def test_pdf_holds_the_figures_of_skm_ikm_json(demo: Demo, tmp_path: Path, unit: str) -> None:
    pdf = _cli_pdf(demo, unit, tmp_path / f"{unit}.pdf")
    found = _ikm_json(demo, unit)
    body, lines = pdf_text(pdf), pdf_lines(pdf)
    nik = number(found["nik_rounded"])
    assert f"INDEKS KEPUASAN MASYARAKAT {nik} Mutu pelayanan {found['mutu']}" in body
    assert f"{found['n']} responden" in body
    assert f"Σ NRR tertimbang = IKM {number(found['ikm'], 4)}" in lines
    assert f"IKM unit pelayanan (IKM {TIMES} 25) {nik} {found['mutu']}" in lines
    for i, element in enumerate(found["elements"], start=1):
        figures = f"{number(element['nrr'], 3)} {number(element['weighted'], 4)}"
        assert any(
            re.fullmatch(rf"U{i} .*{figures} {number(element['nik_rounded'])} {element['mutu']}", x)
            for x in lines
        ), (i, figures)
    # Which units it includes, as `skm ikm` names them.
    units = found["coverage"]["units"]
    if units > 1:
        assert f"Laporan ini mencakup {units} unit:" in body
    else:
        assert "Peringkat IKM Unit" not in body  # no child units, no ranking


@pytest.mark.parametrize("unit", ["dinkes", "kendari"])
def test_ranking_table_orders_the_child_units_as_the_engine_does(
    demo: Demo, tmp_path: Path, unit: str
) -> None:
    session = demo.session
    parent = org.get_unit(session=session, code=unit)
    ranked = results.ranking(
        session=session, parent=parent, period=parse_period(PERIOD), method=ikm.Method()
    )
    ranked.sort(key=lambda pair: -(pair[1].nik or 0))
    pdf = _cli_pdf(demo, unit, tmp_path / "ranking.pdf")
    lines = pdf_lines(pdf)
    start = next(i for i, line in enumerate(lines) if "Peringkat IKM Unit di Bawahnya" in line)
    chart = next(
        i for i, line in enumerate(lines) if line == "Grafik IKM unit (terbaik ke terendah)"
    )
    table = lines[start:chart]
    places = []
    for place, (child, result) in enumerate(ranked, start=1):
        assert result.sample is not None  # the demo records each unit's population
        figures = rf"{result.n} {number(result.nik_rounded)} {result.mutu}"
        row = next(i for i, line in enumerate(table) if re.match(rf"{place} .*{figures}\b", line))
        # The verdict against the branch's own minimum sample, in the row's cell.
        cell = " ".join(table[row - 1 : row + 3])
        assert f"(min. {result.sample.minimum})" in cell
        assert result.sample.verdict.split()[-1] in cell
        places.append(row)
        # The same figure under `skm ikm` for the child alone.
        alone = _ikm_json(demo, child.code)
        assert (alone["n"], number(alone["nik_rounded"])) == (result.n, number(result.nik_rounded))
    assert places == sorted(places)
    # The chart: each unit's NIK as a bar label, best first.
    bars = " ".join(lines[chart : chart + 4 * len(ranked) + 4])
    positions = [bars.find(number(r.nik_rounded)) for _, r in ranked]
    assert -1 not in positions and positions == sorted(positions)


def test_each_units_own_sample_verdict_and_the_aggregation(demo: Demo, tmp_path: Path) -> None:
    session = demo.session
    data = _report(session, "kendari")
    assert [u.code for u in data.unit_samples] == list(data.result.coverage.codes)  # type: ignore[union-attr]
    assert sum(u.n for u in data.unit_samples) == data.result.n
    for line in data.unit_samples:
        unit = org.get_unit(session=session, code=line.code)
        own = results.scope_ikm(
            session=session,
            scope=Scope(unit=unit, period=parse_period(PERIOD), include_children=False),
            method=ikm.Method(),
        )
        assert (line.n, line.sample) == (own.n, own.sample)
    pdf = tmp_path / "kendari.pdf"
    write_pdf(data, respondents(session, data, org.get_unit(session=session, code="kendari")), pdf)
    body, lines = pdf_text(pdf), pdf_lines(pdf)
    judged = [u.sample for u in data.unit_samples if u.sample]
    met = sum(1 for s in judged if s.sufficient)
    assert f"{met} dari {len(judged)} unit yang mencatat populasinya memenuhi" in body
    assert "Nilai IKM laporan adalah gabungan seluruh responden unit-unit tersebut" in body
    for u in data.unit_samples:
        if u.sample is not None:
            s = u.sample
            tail = f"{s.population} {s.minimum} {s.n} {s.verdict}"
            assert any(line.endswith(tail) for line in lines), (u.code, tail)

    mean = _report(session, "kendari", aggregate="mean_of_children")
    pdf = tmp_path / "mean.pdf"
    write_pdf(mean, respondents(session, mean, org.get_unit(session=session, code="kendari")), pdf)
    body = pdf_text(pdf)
    assert f"rerata unit: rata-rata nilai {mean.result.aggregate.children} unit" in body
    assert "setiap unit berbobot sama tanpa memandang jumlah respondennya" in body
    assert "No. unit" in body  # the sheet's rows are the averaged units


def test_elements_weak_across_the_units_count_the_units_graded_c_or_d(
    demo: Demo, tmp_path: Path
) -> None:
    session = demo.session
    data = _report(session, "kendari")
    kendari = org.get_unit(session=session, code="kendari")
    ranked = results.ranking(
        session=session, parent=kendari, period=parse_period(PERIOD), method=ikm.Method()
    )
    answered = [(child, r) for child, r in ranked if r.n]
    weak = {
        e.code: sorted(
            child.name
            for child, r in answered
            for x in r.elements
            if x.code == e.code and x.mutu in ("C", "D")
        )
        for e in data.result.elements
    }
    counts = [len(weak[line.code]) for line in data.elements_across_units]
    assert counts == sorted(counts, reverse=True) and sum(counts) > 0
    for line in data.elements_across_units:
        assert sorted(u.name for u in line.weak) == weak[line.code]
        assert len(line.units) == len(answered)
    pdf = tmp_path / "kendari.pdf"
    write_pdf(data, respondents(session, data, kendari), pdf)
    body = pdf_text(pdf)
    assert "Unsur Lemah di Unit-Unit" in body
    first = data.elements_across_units[0]
    lowest = first.units[0]
    assert f"{len(first.weak)} dari {len(answered)}" in body
    assert f"{lowest.name} ({number(lowest.result.nik_rounded)})" in body


def test_trend_chart_draws_the_periods_over_the_grade_bands(demo: Demo, tmp_path: Path) -> None:
    session = demo.session
    data = _report(session, "disdukcapil")
    assert len(data.trend) == 5  # four earlier quarters and this one
    pdf = tmp_path / "trend.pdf"
    write_pdf(
        data, respondents(session, data, org.get_unit(session=session, code="disdukcapil")), pdf
    )
    lines = pdf_lines(pdf)
    start = lines.index("Grafik tren IKM")
    chart = " ".join(lines[start : start + 40])
    for point in data.trend:  # each point labelled with its value and grade, left to right
        assert f"{number(point.result.nik_rounded)} ({point.result.mutu})" in chart
    labels = [chart.find(period_text(p.period).split(" Tahun")[0]) for p in data.trend]
    assert -1 not in labels
    assert "latar menurut mutu pelayanan (tabel interval PermenPAN-RB 14/2017)" in chart
    for band in (f"A (Sangat baik): 88,31 {DASH} 100,00", f"C (Kurang baik): 65,00 {DASH} 76,60"):
        assert band in chart
    # The scale: a label every ten points up to 100.
    assert re.search(r"\b100\b", chart) and re.search(r"\b90\b", chart)
    # The trend table stays, one row per period.
    for point in data.trend:
        row = f"{period_text(point.period)} {point.result.n} {number(point.result.nik_rounded)}"
        assert any(line.startswith(row) for line in lines), row

"""The IKM routes: /ikm (equal to the CLI), /ikm/ranking, /ikm/trend."""

import json
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import Session

from app.core.periods import parse_period
from app.models import CounterCreate, ServiceCreate, Unit, UnitCreate
from app.services import apikeys, intake, org
from tests.conftest import Cli
from tests.factories import bearer, make_unit, response


def _seed_ikm(session: Session) -> Unit:
    root = make_unit(session)
    child = make_unit(session, parent=root)
    when = datetime(2026, 2, 10, 3, tzinfo=UTC)
    rows = [
        (4, 3, 2, 4, 3, 3, 4, 3, 4),
        (3, 3, 3, 4, 3, 4, 4, 2, 3),
        (2, 3, None, 4, 3, 3, 3, 3, 3),
    ]
    for unit in (root, child):
        intake.record_responses(
            session=session, unit=unit, channel="paper", items=[response(r, when) for r in rows]
        )
    return root


@pytest.mark.parametrize("weight", ["exact", "0.111"])
async def test_ikm_api_equals_cli(
    client: httpx.AsyncClient, session: Session, run_cli: Cli, weight: str
) -> None:
    root = _seed_ikm(session)
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    params = {"unit": root.code, "period": "2026-Q1", "include_children": "true", "weight": weight}
    response = await client.get("/api/v1/ikm", params=params, headers=bearer(reader))
    assert response.status_code == 200, response.text
    code, output = run_cli(
        "ikm",
        "--unit",
        root.code,
        "--period",
        "2026-Q1",
        "--include-children",
        "--weight",
        weight,
        "--json",
    )
    assert code == 0, output
    assert response.json() == json.loads(output)
    assert response.json()["n"] == 6


async def test_ikm_api_etag_gives_304(client: httpx.AsyncClient, session: Session) -> None:
    root = _seed_ikm(session)
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    url = f"/api/v1/ikm?unit={root.code}&period=2026"
    first = await client.get(url, headers=bearer(reader))
    etag = first.headers["etag"]
    again = await client.get(url, headers={**bearer(reader), "If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("period=2026&colour=red", 422, "validation_error"),
        ("period=2026-Q9", 422, "validation_error"),
        ("period=2026&weight=0.5", 422, "validation_error"),
        ("period=2026&service=nope", 404, "not_found"),
    ],
)
async def test_ikm_api_bad_queries(
    client: httpx.AsyncClient, session: Session, query: str, status: int, error: str
) -> None:
    root = _seed_ikm(session)
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    response = await client.get(f"/api/v1/ikm?unit={root.code}&{query}", headers=bearer(reader))
    assert response.status_code == status
    assert response.json()["error"] == error


async def test_ikm_api_subtree_limit(client: httpx.AsyncClient, session: Session) -> None:
    root = _seed_ikm(session)
    other = make_unit(session)
    _, limited = apikeys.create_key(
        session=session, name="opd", scopes=["ikm:read"], unit_code=other.code
    )
    response = await client.get(
        f"/api/v1/ikm?unit={root.code}&period=2026", headers=bearer(limited)
    )
    assert response.status_code == 404
    unknown = await client.get("/api/v1/ikm?unit=no-such&period=2026", headers=bearer(limited))
    assert unknown.status_code == 404


async def test_ranking_lists_children_best_first(
    client: httpx.AsyncClient, session: Session
) -> None:
    root = make_unit(session)
    good, weak, empty = (make_unit(session, parent=root) for _ in range(3))
    grandchild = make_unit(session, parent=weak)
    when = datetime(2026, 3, 1, 3, tzinfo=UTC)
    for unit, value in ((good, 4), (weak, 2), (grandchild, 1)):
        intake.record_responses(
            session=session, unit=unit, channel="paper", items=[response((value,) * 9, when)]
        )
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    result = await client.get(
        f"/api/v1/ikm/ranking?parent={root.code}&period=2026", headers=bearer(reader)
    )
    assert result.status_code == 200, result.text
    units = [(u["unit"], u["n"], u["nik_rounded"], u["mutu"]) for u in result.json()["units"]]
    # The weak unit pools its grandchild by sums: (2 x 9 + 1 x 9) / 18 -> 1.5 -> 37.50.
    assert units == [
        (good.code, 1, 100.0, "A"),
        (weak.code, 2, 37.5, "D"),
        (empty.code, 0, None, None),
    ]


async def test_trend_per_quarter(client: httpx.AsyncClient, session: Session) -> None:
    unit = make_unit(session)
    for month, value in ((1, 3), (5, 4)):
        intake.record_responses(
            session=session,
            unit=unit,
            channel="paper",
            items=[response((value,) * 9, datetime(2026, month, 10, 3, tzinfo=UTC))],
        )
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    result = await client.get(
        f"/api/v1/ikm/trend?unit={unit.code}&from=2025-Q4&to=2026-Q3&granularity=quarter",
        headers=bearer(reader),
    )
    assert result.status_code == 200, result.text
    points = [(p["period"], p["n"], p["nik_rounded"]) for p in result.json()["points"]]
    assert points == [
        ("2025-Q4", 0, None),
        ("2026-Q1", 1, 75.0),
        ("2026-Q2", 1, 100.0),
        ("2026-Q3", 0, None),
    ]
    too_long = await client.get(
        f"/api/v1/ikm/trend?unit={unit.code}&from=2000&to=2026-Q3&granularity=quarter",
        headers=bearer(reader),
    )
    assert too_long.status_code == 422


# --- one pooling rule, coverage, the mean of child units ---

JAN, FEB = datetime(2026, 1, 10, 3, tzinfo=UTC), datetime(2026, 2, 10, 3, tzinfo=UTC)


def _kota(session: Session) -> dict[str, Unit]:
    """kota > dinas (no responses of its own) > upt-1 (two all-4), upt-2 (one all-2), upt-3
    (none); kota > puskesmas (one all-3 of its own)."""
    units: dict[str, Unit] = {}
    for code, parent in (
        ("kota", None),
        ("dinas", "kota"),
        ("upt-1", "dinas"),
        ("upt-2", "dinas"),
        ("upt-3", "dinas"),
        ("puskesmas", "kota"),
    ):
        data = UnitCreate(
            code=code, name=code.title(), parent_code=parent, time_zone=None if parent else "WITA"
        )
        units[code] = org.create_unit(session=session, data=data)
    for code, rows in (
        ("upt-1", [((4,) * 9, JAN), ((4,) * 9, JAN)]),
        ("upt-2", [((2,) * 9, FEB)]),
        ("puskesmas", [((3,) * 9, FEB)]),
    ):
        items = [response(answers, when) for answers, when in rows]
        intake.record_responses(session=session, unit=units[code], items=items, channel="paper")
    return units


async def _get(client: httpx.AsyncClient, session: Session, url: str) -> httpx.Response:
    _, reader = apikeys.create_key(session=session, name="dasbor", scopes=["ikm:read"])
    return await client.get(url, headers=bearer(reader))


async def test_ikm_of_an_opd_covers_its_units_by_default(
    client: httpx.AsyncClient, session: Session
) -> None:
    _kota(session)
    found = await _get(client, session, "/api/v1/ikm?unit=dinas&period=2026")
    assert found.status_code == 200, found.text
    body = found.json()
    # (4 + 4 + 2) / 3 per element, pooled by sums: 83.33; the OPD is not empty.
    assert (body["n"], body["nik_rounded"], body["mutu"]) == (3, 83.33, "B")
    assert body["include_children"] is True
    assert body["coverage"] == {
        "units": 4,
        "units_with_responses": 2,
        "codes": ["dinas", "upt-1", "upt-2", "upt-3"],
    }
    assert body["aggregate"]["kind"] == "pooled"
    own = await _get(client, session, "/api/v1/ikm?unit=dinas&period=2026&include_children=false")
    assert (own.json()["n"], own.json()["include_children"]) == (0, False)
    assert own.json()["coverage"] == {"units": 1, "units_with_responses": 0, "codes": ["dinas"]}
    assert own.json()["warnings"] == [
        "no responses",
        "the unit's own responses only: 3 response(s) of 2 unit(s) below dinas are not counted",
    ]


async def test_ikm_cli_covers_the_same_units_as_the_api(
    client: httpx.AsyncClient, session: Session, run_cli: Cli
) -> None:
    _kota(session)
    for params, args in (
        ("", []),
        ("&include_children=false", ["--no-include-children"]),
        ("&aggregate=mean_of_children", ["--aggregate", "mean-of-children"]),
    ):
        found = await _get(client, session, f"/api/v1/ikm?unit=kota&period=2026{params}")
        code, output = run_cli("ikm", "--unit", "kota", "--period", "2026", *args, "--json")
        assert code == 0, output
        assert found.json() == json.loads(output)
    code, output = run_cli("ikm", "--unit", "dinas", "--period", "2026")
    assert code == 0, output
    assert "units: 4 (2 with responses): dinas, upt-1, upt-2, upt-3\n" in output
    assert "n = 3\n" in output
    code, output = run_cli("ikm", "--unit", "kota", "--period", "2026", "--aggregate", "mean")
    assert (code, "--aggregate must be pooled or mean-of-children, got 'mean'" in output) == (
        1,
        True,
    )


async def test_ikm_mean_of_children_is_labelled_and_judged_against_the_subtree(
    client: httpx.AsyncClient, session: Session, run_cli: Cli
) -> None:
    units = _kota(session)
    year = parse_period("2026")
    for name, population in (("dinas", 10), ("upt-1", 20), ("puskesmas", 30)):
        org.set_population(session=session, unit=units[name], period=year, population=population)
    url = "/api/v1/ikm?unit=kota&period=2026"
    pooled = (await _get(client, session, url)).json()
    mean = (await _get(client, session, url + "&aggregate=mean_of_children")).json()
    # pooled: (4 + 4 + 2 + 3) / 4 = 3.25; mean of dinas (10/3) and puskesmas (3) = 19/6.
    assert (pooled["nik_rounded"], mean["nik_rounded"], mean["mutu"]) == (81.25, 79.17, "B")
    assert mean["n"] == pooled["n"] == 4
    assert mean["aggregate"] == {
        "kind": "mean_of_children",
        "children": 2,
        "label": "mean of 2 child unit(s)",
    }
    assert mean["coverage"] == {
        "units": 5,
        "units_with_responses": 3,
        "codes": ["dinas", "upt-1", "upt-2", "upt-3", "puskesmas"],
    }
    assert (
        mean["sample"]
        == pooled["sample"]
        == {
            "population": 60,
            "minimum": 52,
            "n": 4,
            "sufficient": False,
            "verdict": "belum memenuhi",
        }
    )
    assert mean["ci"] is None and mean["elements"][0]["nrr"] == 19 / 6
    code, output = run_cli(
        "ikm", "--unit", "kota", "--period", "2026", "--aggregate", "mean-of-children"
    )
    assert code == 0, output
    assert "aggregate: mean of 2 child unit(s)\n" in output
    assert "NIK = 79.17" in output


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "unit=upt-1&aggregate=mean_of_children",
            "unit 'upt-1' has no child units to average",
        ),
        (
            "unit=kota&aggregate=mean_of_children&include_children=false",
            "aggregate mean_of_children averages the child units: it cannot count the unit's "
            "own responses only",
        ),
        ("unit=kota&aggregate=median", None),
    ],
)
async def test_ikm_mean_of_children_needs_children(
    client: httpx.AsyncClient, session: Session, query: str, message: str | None
) -> None:
    _kota(session)
    found = await _get(client, session, f"/api/v1/ikm?period=2026&{query}")
    assert (found.status_code, found.json()["error"]) == (422, "validation_error")
    if message is not None:
        assert found.json()["detail"] == message


def _served(session: Session) -> Unit:
    """A unit with a population of 100 (minimum 80) and 80 responses, 50 of them at the
    counter of its service ktp."""
    unit = make_unit(session)
    org.create_service(
        session=session, data=ServiceCreate(unit_code=unit.code, code="ktp", name="KTP-el")
    )
    ktp = org.get_service(session=session, unit=unit, code="ktp")
    counter = org.create_counter(
        session=session,
        data=CounterCreate(unit_code=unit.code, code="loket-1", name="Loket 1", service_code="ktp"),
    )
    org.set_population(session=session, unit=unit, period=parse_period("2026"), population=100)
    at_counter = [response((4,) * 9, JAN) for _ in range(50)]
    intake.record_responses(
        session=session, unit=unit, items=at_counter, channel="qr", service=ktp, counter=counter
    )
    others = [response((3,) * 9, JAN) for _ in range(30)]
    intake.record_responses(session=session, unit=unit, items=others, channel="paper")
    return unit


@pytest.mark.parametrize("part", ["service=ktp", "counter=loket-1"])
async def test_ikm_of_a_service_or_counter_has_no_sample_verdict(
    client: httpx.AsyncClient, session: Session, part: str
) -> None:
    unit = _served(session)
    whole = await _get(client, session, f"/api/v1/ikm?unit={unit.code}&period=2026")
    assert whole.json()["sample"] == {
        "population": 100,
        "minimum": 80,
        "n": 80,
        "sufficient": True,
        "verdict": "memenuhi",
    }
    found = await _get(client, session, f"/api/v1/ikm?unit={unit.code}&period=2026&{part}")
    body = found.json()
    assert (body["n"], body["sample"], body["include_children"]) == (50, None, False)
    assert body["coverage"] == {"units": 1, "units_with_responses": 1, "codes": [unit.code]}
    assert body["warnings"] == [
        "the minimum sample is judged for the whole unit, not per service or counter: "
        "populations are recorded per unit"
    ]


def test_ikm_cli_of_a_service_says_the_sample_is_the_units(run_cli: Cli, session: Session) -> None:
    unit = _served(session)
    code, output = run_cli("ikm", "--unit", unit.code, "--period", "2026")
    assert "sample: n=80, N=100, minimum S=80: memenuhi\n" in output
    code, output = run_cli("ikm", "--unit", unit.code, "--period", "2026", "--service", "ktp")
    assert code == 0, output
    assert "sample:" not in output
    assert (
        "warning: the minimum sample is judged for the whole unit, not per service or counter"
        in output
    )


async def test_ranking_with_a_method_reproduces_each_childs_ikm(
    client: httpx.AsyncClient, session: Session
) -> None:
    _kota(session)
    org.set_population(
        session=session,
        unit=org.get_unit(session=session, code="upt-1"),
        period=parse_period("2026"),
        population=5,
    )
    ranked = await _get(client, session, "/api/v1/ikm/ranking?parent=kota&period=2026&weight=0.11")
    assert ranked.status_code == 200, ranked.text
    body = ranked.json()
    assert body["method"]["weight"] == "0.11"
    rows = {row["unit"]: row for row in body["units"]}
    assert list(rows) == ["dinas", "puskesmas"]  # best first
    for code, row in rows.items():
        own = await _get(client, session, f"/api/v1/ikm?unit={code}&period=2026&weight=0.11")
        figure = own.json()
        assert row == {
            "unit": code,
            "name": code.title(),
            "n": figure["n"],
            "nik_rounded": figure["nik_rounded"],
            "mutu": figure["mutu"],
            "kinerja": figure["kinerja"],
            "sample": figure["sample"],
            "coverage": {
                "units": figure["coverage"]["units"],
                "units_with_responses": figure["coverage"]["units_with_responses"],
            },
        }
    # 0.11 x 9 = 0.99: (10/3 x 0.99) x 25 = 82.50, where the exact weight gives 83.33.
    assert rows["dinas"]["nik_rounded"] == 82.5
    assert rows["dinas"]["coverage"] == {"units": 4, "units_with_responses": 2}
    assert rows["dinas"]["sample"]["population"] == 5
    bad = await _get(client, session, "/api/v1/ikm/ranking?parent=kota&period=2026&weight=0.5")
    assert bad.status_code == 422


async def test_trend_per_month_with_a_method_and_coverage(
    client: httpx.AsyncClient, session: Session
) -> None:
    _kota(session)
    found = await _get(
        client,
        session,
        "/api/v1/ikm/trend?unit=dinas&from=2026-01&to=2026-03&granularity=month&weight=0.111",
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["granularity"], body["include_children"], body["aggregate"]) == (
        "month",
        True,
        "pooled",
    )
    assert body["method"]["weight"] == "0.111"
    assert body["points"] == [
        {
            "period": "2026-01",
            "n": 2,
            "nik_rounded": 99.9,
            "mutu": "A",
            "coverage": {"units": 4, "units_with_responses": 1},
        },
        {
            "period": "2026-02",
            "n": 1,
            "nik_rounded": 49.95,
            "mutu": "D",
            "coverage": {"units": 4, "units_with_responses": 1},
        },
        {
            "period": "2026-03",
            "n": 0,
            "nik_rounded": None,
            "mutu": None,
            "coverage": {"units": 4, "units_with_responses": 0},
        },
    ]
    mean = await _get(
        client,
        session,
        "/api/v1/ikm/trend?unit=kota&from=2026-02&to=2026-02&granularity=month"
        "&aggregate=mean_of_children",
    )
    # February: dinas 2.00 (upt-2), puskesmas 3.00: mean 2.50 -> 62.50.
    assert [(p["n"], p["nik_rounded"]) for p in mean.json()["points"]] == [(2, 62.5)]


@pytest.mark.parametrize("granularity", ["month", "quarter", "year"])
async def test_trend_that_ends_before_it_starts_is_a_422(
    client: httpx.AsyncClient, session: Session, granularity: str
) -> None:
    _kota(session)
    found = await _get(
        client,
        session,
        f"/api/v1/ikm/trend?unit=dinas&from=2026-06&to=2026-01&granularity={granularity}",
    )
    assert (found.status_code, found.json()) == (
        422,
        {
            "error": "validation_error",
            "detail": "the trend ends (2026-01) before it starts (2026-06)",
            "errors": [
                {
                    "loc": ["query", "to"],
                    "msg": "the trend ends (2026-01) before it starts (2026-06)",
                    "type": "value_error",
                }
            ],
        },
    )

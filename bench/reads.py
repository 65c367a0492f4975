"""Read benchmark: the IKM of a unit, an OPD and the province, a ranking and trends, through
the service functions the API calls (and the API itself, in process), on a seeded database.

Without --database-url it creates its own uniquely named PostgreSQL database, seeds it
(bench/seed_reads.py) to each --sizes in turn, measures, and drops it at the end (--keep
keeps it and prints its URL). With --database-url it measures that database as it is.

Each case runs --repeat times per round, for --rounds rounds; the table shows each round's
median and the median of those, in milliseconds. Beside the cases, in the same run: a bare
``SELECT 1`` (the round-trip floor) and bare SUMs over the rollup tables (the reading floor),
so a noisy machine shows in them too. ``stmts`` is the number of SQL statements one call runs.

    python -m bench.reads                      # 500k and 5M responses, about 10 minutes
    python -m bench.reads --sizes 500000 --keep
    python -m bench.reads --database-url postgresql+psycopg://postgres@127.0.0.1/skm_bench_...
"""

import argparse
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, select

from app.core import ikm
from app.core.periods import parse_period
from app.db import Database, create_db_engine
from app.models import Service, Unit
from app.services import results, scopes

ROOT_CODE = "bench-pemda"  # bench/seed_reads.py's tree
ADMIN_URL = os.environ.get(
    "SKM_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
Case = Callable[[Session], Any]


def _unit(session: Session, code: str) -> Unit:
    return session.exec(select(Unit).where(Unit.code == code)).one()


def _cases(engine: sa.Engine, http: bool) -> dict[str, Case]:
    method = ikm.DEFAULT_METHOD
    year, semester = parse_period("2025"), parse_period("2025-S1")
    ragged = parse_period("2025-01-15..2025-06-20")
    quarters = results.periods_between(parse_period("2024-Q1"), parse_period("2025-Q4"), "quarter")
    months = results.periods_between(parse_period("2024-01"), parse_period("2025-12"), "month")
    with Session(engine) as session:
        # The busiest leaf unit of the first OPD, and one of its services.
        leaf_code = session.execute(
            sa.text(
                "SELECT u.code FROM unit u JOIN response_rollup r ON r.unit_id = u.id "
                "WHERE u.code LIKE 'u-00-%' GROUP BY u.code ORDER BY sum(r.responses) DESC, "
                "u.code LIMIT 1"
            )
        ).scalar_one()
        service_code = session.exec(
            select(Service.code)
            .join(Unit, Unit.id == Service.unit_id)  # type: ignore[arg-type]
            .where(Unit.code == leaf_code)
            .order_by(Service.code)
        ).first()

    def scope_case(code: str, period: Any, **kwargs: Any) -> Case:
        def run(session: Session) -> Any:
            unit = _unit(session, code)
            service = None
            if kwargs.get("service"):
                service = session.exec(
                    select(Service).where(Service.unit_id == unit.id, Service.code == service_code)
                ).one()
            scope = scopes.Scope(unit=unit, period=period, service=service)
            return results.scope_ikm(session=session, scope=scope, method=method)

        return run

    def ranking(session: Session) -> Any:
        root = _unit(session, ROOT_CODE)
        return results.ranking(session=session, parent=root, period=semester, method=method)

    def trend(periods: Any) -> Case:
        def run(session: Session) -> Any:
            scope = scopes.Scope(unit=_unit(session, ROOT_CODE), period=periods[0])
            return results.trend(session=session, scope=scope, periods=periods, method=method)

        return run

    day_sums = ", ".join(f"sum(a{i}_sum)" for i in range(1, 10))
    cases: dict[str, Case] = {
        "floor: SELECT 1": lambda s: s.execute(sa.text("SELECT 1")).all(),
        "floor: SUM per-day rows, province S1": lambda s: s.execute(
            sa.text(
                f"SELECT form_version_id, sum(responses), {day_sums} FROM response_rollup "
                "WHERE local_date BETWEEN '2025-01-01' AND '2025-06-30' AND NOT flagged "
                "GROUP BY form_version_id"
            )
        ).all(),
        "floor: SUM month rows, province S1": lambda s: s.execute(
            sa.text(
                f"SELECT form_version_id, sum(responses), {day_sums} FROM response_rollup_month "
                "WHERE month_date BETWEEN '2025-01-01' AND '2025-06-01' AND NOT flagged "
                "GROUP BY form_version_id"
            )
        ).all(),
        "floor: SUM quarter rows, province S1": lambda s: s.execute(
            sa.text(
                f"SELECT form_version_id, sum(responses), {day_sums} "
                "FROM response_rollup_quarter "
                "WHERE quarter_date BETWEEN '2025-01-01' AND '2025-04-01' AND NOT flagged "
                "GROUP BY form_version_id"
            )
        ).all(),
        "unit-year (busiest unit, 2025)": scope_case(leaf_code, year),
        "unit service-year (per-day rows)": scope_case(leaf_code, year, service=True),
        "OPD-year (100 units, 2025)": scope_case("opd-00", year),
        "province semester (2025-S1)": scope_case(ROOT_CODE, semester),
        "province ragged range (01-15..06-20)": scope_case(ROOT_CODE, ragged),
        "province ranking (20 OPDs, S1)": ranking,
        "province trend, 8 quarters": trend(quarters),
        "province trend, 24 months": trend(months),
    }
    if http:
        cases.update(_http_cases(engine))
    return cases


def _http_cases(engine: sa.Engine) -> dict[str, Case]:
    """The same reads through the API routes, in process (no server, no network)."""
    from fastapi.testclient import TestClient

    from app import deps
    from app.main import create_app
    from app.services import apikeys

    with Session(engine) as session:
        key = apikeys.create_key(session=session, name="bench reads", scopes=["ikm:read"])[1]
    app = create_app()
    database = Database(engine)
    app.dependency_overrides[deps.database] = lambda: database
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {key}"}

    def get(path: str) -> Case:
        def run(_: Session) -> Any:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.text
            return response

        return run

    return {
        "API /ikm province S1": get(f"/api/v1/ikm?unit={ROOT_CODE}&period=2025-S1"),
        "API /ikm/ranking province S1": get(
            f"/api/v1/ikm/ranking?parent={ROOT_CODE}&period=2025-S1"
        ),
        "API /ikm/trend 8 quarters": get(
            f"/api/v1/ikm/trend?unit={ROOT_CODE}&from=2024-Q1&to=2025-Q4&granularity=quarter"
        ),
    }


def measure(url: str, *, rounds: int, repeat: int, http: bool) -> None:
    engine = create_db_engine(url)
    statements = 0

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    with engine.connect() as connection:
        responses = connection.execute(sa.text("SELECT count(*) FROM response")).scalar_one()
        units = connection.execute(sa.text("SELECT count(*) FROM unit")).scalar_one()
    cases = _cases(engine, http)
    counts: dict[str, int] = {}
    for name, case in cases.items():  # warm up: caches, plans, the pool's connection
        with Session(engine) as session:
            statements = 0
            case(session)
            counts[name] = statements
    medians: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            times = []
            for _ in range(repeat):
                with Session(engine) as session:
                    began = time.perf_counter()
                    case(session)
                    times.append((time.perf_counter() - began) * 1000)
            medians[name].append(statistics.median(times))
    engine.dispose()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{responses:,} responses, {units:,} units; app {_version()}; "
        f"load average {load} ({os.cpu_count()} cores); medians of {repeat} calls, ms"
    )
    header = f"{'case':40} {'stmts':>5} " + " ".join(f"{f'r{i + 1}':>8}" for i in range(rounds))
    print(header + f" {'median':>8}")
    for name, found in medians.items():
        row = " ".join(f"{m:8.1f}" for m in found)
        print(f"{name:40} {counts[name]:5d} {row} {statistics.median(found):8.1f}")


def _version() -> str:
    import app

    root = Path(app.__file__).resolve().parent.parent
    try:
        return (
            subprocess.run(
                ["git", "-C", str(root), "describe", "--always", "--dirty"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            + f" ({root})"
        )
    except (OSError, subprocess.CalledProcessError):
        return str(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", help="measure this seeded database as it is")
    parser.add_argument("--sizes", default="500000,5000000", help="responses, ascending")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database it created")
    parser.add_argument("--no-http", dest="http", action="store_false")
    args = parser.parse_args()
    if args.database_url:
        measure(args.database_url, rounds=args.rounds, repeat=args.repeat, http=args.http)
        return
    from bench.seed_reads import create_database, drop_database, seed

    url = create_database(ADMIN_URL)
    try:
        for size in sorted(int(n) for n in args.sizes.split(",")):
            seed(url, size)
            measure(url, rounds=args.rounds, repeat=args.repeat, http=args.http)
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            drop_database(url, ADMIN_URL)


if __name__ == "__main__":
    main()

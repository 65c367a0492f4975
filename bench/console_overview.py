"""The console overview's server time for a pemda of 2,021 units (goal: under 300 ms at 5M
responses): the overview's services alone and the whole page (session check, queries, SVG,
template) through the ASGI app in-process, beside a `SELECT 1` floor, medians of rounds.

    python -m bench.console_overview --responses 500000
    python -m bench.console_overview --database-url postgresql+psycopg://postgres@127.0.0.1/db

Without --database-url it creates a database, seeds it with bench.seed_reads (2,021 units,
2024-2025) and drops it at the end unless --keep.
"""

import argparse
import asyncio
import os
import statistics
import time

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from app import deps
from app.core import ikm
from app.core.periods import parse_period
from app.db import Database, create_db_engine
from app.main import create_app
from app.services import accounts, dashboard, org
from bench.seed_reads import ADMIN_URL, ROOT_CODE, create_database, drop_database, seed

EMAIL, PASSWORD = "bench@skm.local", "bench-password-1"
PERIODS = ("2025-S1", "2025-Q4", "2025")


async def _pages(database: Database, rounds: int, repeat: int) -> dict[str, list[float]]:
    app = create_app()
    app.dependency_overrides[deps.database] = lambda: database
    transport = httpx.ASGITransport(app=app)
    found: dict[str, list[float]] = {f"page {p}": [] for p in PERIODS}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        answer = await client.post("/console/login", data={"email": EMAIL, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        for period in PERIODS:  # warm up
            assert (await client.get(f"/console?period={period}")).status_code == 200
        for _ in range(rounds):
            for period in PERIODS:
                times = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    page = await client.get(f"/console?period={period}")
                    times.append((time.perf_counter() - began) * 1000)
                    assert page.status_code == 200
                found[f"page {period}"].append(statistics.median(times))
    return found


def measure(url: str, rounds: int, repeat: int) -> None:
    engine = create_db_engine(url)
    database = Database(engine)
    with database.session(write=True) as session:
        root = org.get_unit(session=session, code=ROOT_CODE)
        try:
            accounts.get_user(session=session, email=EMAIL)
        except Exception:
            accounts.create_user(
                session=session,
                email=EMAIL,
                password=PASSWORD,
                role="admin",
                unit=root,
                actor="bench",
            )
        responses = session.execute(sa.text("SELECT count(*) FROM response")).scalar_one()
        units = session.execute(sa.text("SELECT count(*) FROM unit")).scalar_one()
    medians: dict[str, list[float]] = {"SELECT 1": []}
    medians.update({f"services {p}": [] for p in PERIODS})
    for _ in range(rounds):
        for name in list(medians):
            times = []
            for _ in range(repeat):
                with Session(engine) as session:
                    began = time.perf_counter()
                    if name == "SELECT 1":
                        session.execute(sa.text("SELECT 1"))
                    else:
                        unit = org.get_unit(session=session, code=ROOT_CODE)
                        dashboard.overview(
                            session=session,
                            unit=unit,
                            period=parse_period(name.split()[-1]),
                            method=ikm.Method(),
                        )
                    times.append((time.perf_counter() - began) * 1000)
            medians[name].append(statistics.median(times))
    medians.update(asyncio.run(_pages(database, rounds, repeat)))
    engine.dispose()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{responses:,} responses, {units:,} units; load average {load} "
        f"({os.cpu_count()} cores); medians of {repeat} calls per round, ms"
    )
    print(
        f"{'case':22} " + " ".join(f"{f'r{i + 1}':>8}" for i in range(rounds)) + f" {'median':>8}"
    )
    for name, found in medians.items():
        row = " ".join(f"{m:8.1f}" for m in found)
        print(f"{name:22} {row} {statistics.median(found):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", help="a database seeded by bench.seed_reads")
    parser.add_argument("--responses", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database it created")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    url = args.database_url
    created = url is None
    if url is None:
        url = create_database(args.admin_url, prefix="skm_bench_console")
        seed(url, args.responses)
    try:
        measure(url, args.rounds, args.repeat)
    finally:
        if created and not args.keep:
            drop_database(url, args.admin_url)
        elif created:
            print(f"kept: {url}")


if __name__ == "__main__":
    main()

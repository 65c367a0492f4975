"""Seeding for the read benchmark: a province-sized tree and N responses, fast.

One pemda with 20 OPDs of 100 units each (2,021 units), three services and two counters per
unit, and responses spread over 2024 and 2025 (some units much busier than others, a few
flagged, blanks on paper). Responses go in with COPY on PostgreSQL (executemany on SQLite),
then ``rollups.rebuild`` computes the rollups, as ``skm db rebuild-rollups`` would. Seeding
again with a larger N adds the missing responses (the tree is kept).

    python -m bench.seed_reads --database-url postgresql+psycopg://postgres@127.0.0.1/skm_b \\
        --responses 5000000
"""

import argparse
import random
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.config import REPO_ROOT
from app.db import create_db_engine, upgrade_schema
from app.models import ANSWER_COLUMNS, TIME_ZONES, Counter, Service, Unit
from app.services import questionnaires, rollups

ROOT_CODE = "bench-pemda"
OPDS, UNITS_PER_OPD = 20, 100
SERVICES, COUNTERS = ("ktp-el", "kk", "akta"), 2
FIRST_DAY, DAYS = date(2024, 1, 1), 731  # 2024 (a leap year) and 2025
CHUNK = 100_000
COLUMNS = (
    "unit_id",
    "service_id",
    "counter_id",
    "form_version_id",
    "submitted_at",
    "local_date",
    "recorded_at",
    "channel",
    "idempotency_key",
    "flagged",
    "sex",
    "age",
    "education",
    "occupation",
    *ANSWER_COLUMNS,
)
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def create_database(admin_url: str = ADMIN_URL, prefix: str = "skm_bench_reads") -> str:
    """A new, uniquely named PostgreSQL database; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, admin_url: str = ADMIN_URL) -> None:
    name = make_url(url).database
    admin = create_db_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _tree(session: Session) -> None:
    """The pemda, its OPDs and their units, with services and counters (bulk inserts)."""
    now = datetime.now(UTC)
    zones = list(TIME_ZONES.values())

    def insert_units(rows: list[dict[str, object]]) -> list[int]:
        table = Unit.__table__  # type: ignore[attr-defined]
        stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        return [row[0] for row in session.execute(stmt, rows).all()]

    def unit(code: str, parent: int | None, zone: str) -> dict[str, object]:
        return {
            "code": code,
            "name": f"Unit {code}",
            "address": None,
            "time_zone": zone,
            "parent_id": parent,
            "form_code": None,
            "active": True,
            "created_at": now,
        }

    [root] = insert_units([unit(ROOT_CODE, None, zones[1])])
    opds = insert_units([unit(f"opd-{o:02d}", root, zones[o % 3]) for o in range(OPDS)])
    leaves = insert_units(
        [
            unit(f"u-{o:02d}-{u:03d}", opd, zones[o % 3])
            for o, opd in enumerate(opds)
            for u in range(UNITS_PER_OPD)
        ]
    )
    service_table = Service.__table__  # type: ignore[attr-defined]
    services = session.execute(
        service_table.insert().returning(service_table.c.id, sort_by_parameter_order=True),
        [
            {"unit_id": leaf, "code": code, "name": code.upper(), "active": True}
            for leaf in leaves
            for code in SERVICES
        ],
    ).all()
    counter_table = Counter.__table__  # type: ignore[attr-defined]
    session.execute(
        counter_table.insert(),
        [
            {
                "unit_id": leaf,
                "service_id": services[i * len(SERVICES) + c][0],
                "code": f"loket-{c + 1}",
                "name": f"Loket {c + 1}",
                "token": secrets.token_urlsafe(16),
                "kiosk": c == 1,
                "active": True,
            }
            for i, leaf in enumerate(leaves)
            for c in range(COUNTERS)
        ],
    )
    session.commit()


def _places(session: Session) -> list[tuple[int, int, list[int], list[tuple[int, int]]]]:
    """Per unit: id, UTC offset in hours, its service ids, its (counter, service) pairs."""
    offsets = {"Asia/Jakarta": 7, "Asia/Makassar": 8, "Asia/Jayapura": 9}
    units = session.execute(sa.select(Unit.id, Unit.time_zone).order_by(Unit.id)).all()  # type: ignore[call-overload]
    services: dict[int, list[int]] = {}
    for unit_id, service_id in session.execute(sa.select(Service.unit_id, Service.id)).all():  # type: ignore[call-overload]
        services.setdefault(unit_id, []).append(service_id)
    counters: dict[int, list[tuple[int, int]]] = {}
    for unit_id, counter_id, service_id in session.execute(
        sa.select(Counter.unit_id, Counter.id, Counter.service_id)  # type: ignore[call-overload]
    ).all():
        counters.setdefault(unit_id, []).append((counter_id, service_id))
    return [
        (unit_id, offsets[zone], services.get(unit_id, []), counters.get(unit_id, []))
        for unit_id, zone in units
    ]


def _answer_pool(rng: random.Random, k: int, blanks: bool) -> list[str]:
    """Answer columns as COPY text: every element answered, or (paper) some left blank."""
    pool = []
    for _ in range(4096):
        values = [str(rng.choice((1, 2, 3, 3, 3, 4, 4))) for _ in range(k)]
        if blanks:
            values = [NULL if j and rng.random() < 0.1 else v for j, v in enumerate(values)]
        pool.append("\t".join((*values, *([NULL] * (len(ANSWER_COLUMNS) - k)))))
    return pool


NULL = "\\N"
Place = tuple[int, int, list[int], list[tuple[int, int]]]


def _ways(place: Place) -> list[tuple[str, str]]:
    """Twenty equally likely ways a response reaches a unit: (service and counter columns,
    channel); 70% at a counter (QR or the kiosk tablet), the rest on paper or by API."""
    _, _, services, counters = place
    ways = []
    for i in range(20):
        if i < 14 and counters:
            counter, service = counters[i % len(counters)]
            channel = "kiosk" if counter == counters[-1][0] and len(counters) > 1 else "qr"
            ways.append((f"{service}\t{counter}", channel))
        elif i < 18:
            service_text = str(services[i % len(services)]) if services and i < 17 else NULL
            ways.append((f"{service_text}\t{NULL}", "paper"))
        else:
            ways.append((f"{NULL}\t{NULL}", "api"))
    return ways


def _lines(first: int, last: int, version_id: int, k: int, places: list[Place]) -> Iterator[str]:
    """Response rows numbered ``first`` .. ``last - 1`` as lines of COPY text (COLUMNS).
    Everything per row is a pick from prepared text: this runs five million times."""
    rng = random.Random(first)
    # Some units are much busier than others (a Disdukcapil against a small Puskesmas).
    weights = random.Random(2026).choices(range(1, 40), k=len(places))
    picks = rng.choices(range(len(places)), cum_weights=list(_cumulative(weights)), k=last - first)
    heads = [f"{unit_id}\t" for unit_id, *_ in places]
    ways = [_ways(place) for place in places]
    days = [f"{FIRST_DAY + timedelta(days=d):%Y-%m-%d}" for d in range(DAYS)]
    # Local office hours 09:00-16:59, so the UTC day is the local day in WIB, WITA and WIT.
    clock = {
        offset: [
            f"{rng.randrange(9, 17) - offset:02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
            for _ in range(1024)
        ]
        for offset in (7, 8, 9)
    }
    profiles = [
        f"{rng.choice('LP')}\t{rng.randint(17, 80)}\t"
        f"{rng.choice(('SD', 'SMP', 'SMA', 'D3', 'S1', 'S2'))}\t"
        f"{rng.choice(('PNS', 'Swasta', 'Wirausaha', 'Lainnya'))}"
        for _ in range(1024)
    ]
    filled, blank = _answer_pool(rng, k, False), _answer_pool(rng, k, True)
    version = f"\t{version_id}\t"
    bits = rng.getrandbits
    for number, place in zip(range(first, last), picks, strict=True):
        r = bits(64)
        day = days[r % DAYS]
        r //= DAYS
        where, channel = ways[place][r % 20]
        r //= 20
        stamp = f"{day} {clock[places[place][1]][r & 1023]}+00"
        r >>= 10
        flagged = "t" if channel == "qr" and r & 63 == 0 else "f"
        r >>= 6
        answers = (blank if channel == "paper" else filled)[r & 4095]
        r >>= 12
        yield (
            f"{heads[place]}{where}{version}{stamp}\t{day}\t{stamp}\t{channel}\tb{number}\t"
            f"{flagged}\t{profiles[r & 1023]}\t{answers}\n"
        )


def _cumulative(weights: list[int]) -> Iterator[int]:
    total = 0
    for weight in weights:
        total += weight
        yield total


def _sqlite_row(line: str) -> tuple[str | None, ...]:
    """A COPY text line as SQLite parameters (its types: no offset, 0/1 for booleans)."""
    values: list[str | None] = [None if v == NULL else v for v in line[:-1].split("\t")]
    for i in (COLUMNS.index("submitted_at"), COLUMNS.index("recorded_at")):
        values[i] = str(values[i]).removesuffix("+00") + ".000000"
    flagged = COLUMNS.index("flagged")
    values[flagged] = "1" if values[flagged] == "t" else "0"
    return tuple(values)


def seed(url: str, responses: int) -> None:
    """Schema, forms, the tree (once), responses up to ``responses``, then the rollups."""
    upgrade_schema(url)
    engine = create_db_engine(url)
    pg = engine.dialect.name == "postgresql"
    with Session(engine) as session:
        questionnaires.sync_forms(session=session, forms_dir=REPO_ROOT / "survey_forms")
        if session.execute(sa.select(Unit.id).where(Unit.code == ROOT_CODE)).first() is None:  # type: ignore[call-overload]
            _tree(session)
        places = _places(session)
        version, form = questionnaires.current_form(session=session)
        assert version.id is not None
        have = session.execute(sa.text("SELECT count(*) FROM response")).scalar_one()
    if have >= responses:
        print(f"{have:,} responses already there")
        engine.dispose()
        return
    began = time.perf_counter()
    k = len(form.element_codes)
    columns = ", ".join(COLUMNS)
    for first in range(have, responses, CHUNK):
        last = min(first + CHUNK, responses)
        lines = _lines(first, last, version.id, k, places)
        with engine.begin() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            cursor = raw.cursor()
            if pg:
                with cursor.copy(f"COPY response ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    copy.write("".join(lines))
            else:
                marks = ", ".join("?" * len(COLUMNS))
                cursor.executemany(
                    f"INSERT INTO response ({columns}) VALUES ({marks})", map(_sqlite_row, lines)
                )
        rate = (last - have) / (time.perf_counter() - began)
        print(f"\rseeded {last:,}/{responses:,} responses ({rate:,.0f}/s)", end="", flush=True)
    print()
    began = time.perf_counter()
    with Session(engine) as session:
        rows_written = rollups.rebuild(session=session)
    print(f"rollups rebuilt: {rows_written:,} per-day rows in {time.perf_counter() - began:.1f} s")
    if pg:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", help="seed this database (default: a new one, kept)")
    parser.add_argument("--responses", type=int, default=500_000)
    parser.add_argument("--admin-url", default=ADMIN_URL, help="to create the database")
    args = parser.parse_args()
    url = args.database_url or create_database(args.admin_url)
    seed(url, args.responses)
    print(f"database: {url}")


if __name__ == "__main__":
    main()

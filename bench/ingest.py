"""Benchmark: submissions per second and server CPU per submission, beside the raw ceiling.

    python bench/ingest.py [--database-url URL] [--clients 64] [--seconds 10] [--rounds 3]
                           [--workers 2] [--generators 2] [--app-dir DIR]

``--database-url`` names a PostgreSQL server (a fresh, uniquely named database is created on
it and dropped at the end; default postgresql+psycopg://postgres@127.0.0.1:5432/test) or
``sqlite`` (a fresh file in a temporary directory). The script seeds a unit with one service,
a counter and an API key through the services, starts ``skm serve --workers N`` on a free
port and runs, each round:

- ceiling: ``INSERT .. ON CONFLICT DO NOTHING`` + commit per row into the same ``response``
  table, from ``--clients`` concurrent connections (psycopg, or sqlite3 threads);
- api: ``POST /api/v1/responses``, one response per request, ``--clients`` closed-loop clients;
- citizen: GET ``/s/{token}`` then POST the form with its cookie and token, same clients;
- api-open: the API path offered half this round's ceiling rate (open loop, latency counted
  from each request's scheduled time, so a server that falls behind shows it);
- api-1 / citizen-1: one client, for the server's CPU per submission: the server processes'
  utime+stime from /proc over the phase, divided by the submissions (not wall time).

It prints medians over the rounds (status counts summed) and the load average. The load
generators are separate processes (``--generators``); their own CPU use is printed, so that a
saturated generator is not mistaken for a slow server. The citizen path's defences are relaxed
for the run (SKM_SURVEY_MIN_SECONDS=0, SKM_RATE_PER_*_HOUR raised): the output says so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
UNIT, SERVICE, COUNTER = "bench", "ktp-el", "loket-1"
RELAXED = {
    "SKM_SURVEY_MIN_SECONDS": "0",
    "SKM_RATE_PER_CLIENT_HOUR": "1000000000",
    "SKM_RATE_PER_COUNTER_HOUR": "1000000000",
}
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


# --- the database and the server ---


@dataclass
class Target:
    url: str  # SQLAlchemy URL the server uses
    drop: Any  # callable that removes the database


def make_database(server_url: str) -> Target:
    if server_url.startswith("sqlite"):
        folder = Path(tempfile.mkdtemp(prefix="skm-bench-"))
        path = folder / "bench.db"

        def drop_file() -> None:
            for leftover in folder.iterdir():
                leftover.unlink()
            folder.rmdir()

        return Target(f"sqlite:///{path}", drop_file)
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"skm_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop_database() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return Target(url, drop_database)


@dataclass(frozen=True)
class Seeded:
    api_key: str
    survey_token: str
    codes: tuple[str, ...]
    unit_id: int
    form_version_id: int


def seed(url: str) -> Seeded:
    """Schema, forms, unit ``bench`` with one service and a counter for it, and an API key."""
    from sqlmodel import Session

    from app.config import REPO_ROOT
    from app.db import create_db_engine, upgrade_schema
    from app.models import CounterCreate, ServiceCreate, UnitCreate
    from app.services import apikeys, org, questionnaires

    upgrade_schema(url)
    engine = create_db_engine(url)
    with Session(engine) as session:
        questionnaires.sync_forms(session=session, forms_dir=REPO_ROOT / "survey_forms")
        version, form = questionnaires.current_form(session=session)
        unit = org.create_unit(
            session=session,
            data=UnitCreate(
                code=UNIT, name="Unit Benchmark", address="Jl. Contoh 1", time_zone="WITA"
            ),
        )
        org.create_service(
            session=session, data=ServiceCreate(unit_code=UNIT, code=SERVICE, name="KTP-el")
        )
        counter = org.create_counter(
            session=session,
            data=CounterCreate(unit_code=UNIT, code=COUNTER, name="Loket 1", service_code=SERVICE),
        )
        _, key = apikeys.create_key(session=session, name="bench", scopes=["responses:write"])
        seeded = Seeded(
            api_key=key,
            survey_token=counter.token,
            codes=form.element_codes,
            unit_id=int(unit.id or 0),
            form_version_id=int(version.id or 0),
        )
    engine.dispose()
    return seeded


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """``root`` and every descendant, from /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes, in seconds (a process gone meanwhile counts 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


class Server:
    """``skm serve`` from ``app_dir`` as a subprocess, with the bench settings."""

    def __init__(self, app_dir: Path, url: str, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            **RELAXED,
            "PYTHONPATH": str(app_dir),
            "SKM_DATABASE_URL": url,
            "SKM_SECRET_KEY": secrets.token_urlsafe(48),
            "SKM_PUBLIC_BASE_URL": self.base,
        }
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (read on failure, closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from app.cli import main; main()",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            cwd=app_dir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.workers = workers

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200 and (
                    self.workers == 1 or len(self.pids()) > self.workers
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"server not ready after {timeout} s:\n{self.output()}")

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pids())

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                for pid in reversed(self.pids()):
                    with_suppressed_kill(pid)
                self.process.wait(10)
        self.log.close()


def with_suppressed_kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --- the load: each generator process runs clients on its own event loop ---


@dataclass
class Load:
    kind: str  # api, citizen, api-open
    base: str
    seeded: Seeded
    clients: int  # in this process
    seconds: float
    start_at: float  # time.time() when every process begins together
    rate: float = 0.0  # api-open: requests per second from this process
    tag: str = ""


@dataclass
class Result:
    done: int = 0  # completed submissions
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, of the submitting request
    cpu: float = 0.0  # this generator's CPU seconds
    wall: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)

    def merge(self, other: Result) -> None:
        self.done += other.done
        self.statuses.update(other.statuses)
        self.latencies.extend(other.latencies)
        self.cpu += other.cpu
        self.wall = max(self.wall, other.wall)
        self.errors.update(other.errors)


def api_body(seeded: Seeded, key: str) -> dict[str, Any]:
    return {
        "unit": UNIT,
        "channel": "api",
        "responses": [
            {
                "idempotency_key": key,
                "submitted_at": datetime.now(UTC).isoformat(),
                "answers": dict.fromkeys(seeded.codes, 4),
                "sex": "P",
                "age": 41,
            }
        ],
    }


async def api_once(client: httpx.AsyncClient, load: Load, key: str, result: Result) -> bool:
    began = time.perf_counter()
    response = await client.post(
        "/api/v1/responses",
        json=api_body(load.seeded, key),
        headers={"Authorization": f"Bearer {load.seeded.api_key}"},
    )
    result.latencies.append(time.perf_counter() - began)
    result.statuses[f"POST {response.status_code}"] += 1
    return response.status_code == 201


async def citizen_once(client: httpx.AsyncClient, load: Load, result: Result) -> bool:
    client.cookies.clear()  # every submission a new citizen's browser
    path = f"/s/{load.seeded.survey_token}"
    page = await client.get(path)
    result.statuses[f"GET {page.status_code}"] += 1
    found = FORM_TOKEN.search(page.text)
    if page.status_code != 200 or found is None:
        return False
    fields = {**dict.fromkeys(load.seeded.codes, "4"), "form_token": found.group(1)}
    fields.update(sex="P", age="41", saran="Ruang tunggu nyaman")
    began = time.perf_counter()
    response = await client.post(
        path,
        content=urlencode(fields),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "origin": load.base,
            "sec-fetch-site": "same-origin",
        },
    )
    result.latencies.append(time.perf_counter() - began)
    result.statuses[f"POST {response.status_code}"] += 1
    return response.status_code == 303


async def closed_loop(load: Load) -> Result:
    result = Result()
    await asyncio.sleep(max(0.0, load.start_at - time.time()))
    stop = time.monotonic() + load.seconds

    async def one_client(number: int) -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=load.base, limits=limits, timeout=60) as client:
            i = 0
            while time.monotonic() < stop:
                i += 1
                try:
                    if load.kind == "api":
                        ok = await api_once(client, load, f"{load.tag}-{number}-{i}", result)
                    else:
                        ok = await citizen_once(client, load, result)
                except httpx.HTTPError as exc:
                    result.errors[type(exc).__name__] += 1
                    continue
                result.done += ok

    began = time.monotonic()
    await asyncio.gather(*(one_client(n) for n in range(load.clients)))
    result.wall = time.monotonic() - began
    return result


async def open_loop(load: Load) -> Result:
    """Requests due at fixed times (load.rate per second), sent by load.clients connections as
    they come free; latency counts from the time each was due, so a server that falls behind
    shows it. What is still unsent 5 s after the schedule ends counts as "not sent"."""
    result = Result()
    await asyncio.sleep(max(0.0, load.start_at - time.time()))
    due: asyncio.Queue[tuple[int, float]] = asyncio.Queue()

    async def sender() -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=load.base, limits=limits, timeout=30) as client:
            while True:
                i, at = await due.get()
                try:
                    response = await client.post(
                        "/api/v1/responses",
                        json=api_body(load.seeded, f"{load.tag}-{i}"),
                        headers={"Authorization": f"Bearer {load.seeded.api_key}"},
                    )
                except httpx.HTTPError as exc:
                    result.errors[type(exc).__name__] += 1
                else:
                    result.latencies.append(time.perf_counter() - at)
                    result.statuses[f"POST {response.status_code}"] += 1
                    result.done += response.status_code == 201
                finally:
                    due.task_done()

    senders = [asyncio.create_task(sender()) for _ in range(load.clients)]
    t0 = time.perf_counter()
    for i in range(int(load.rate * load.seconds)):
        at = t0 + i / load.rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait((i, at))
    try:
        await asyncio.wait_for(due.join(), timeout=5)
    except TimeoutError:
        result.statuses["not sent"] += due.qsize()
    for task in senders:
        task.cancel()
    await asyncio.gather(*senders, return_exceptions=True)
    result.wall = time.perf_counter() - t0
    return result


def generate(load: Load) -> Result:
    """One generator process's share of a phase."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    runner = open_loop if load.kind == "api-open" else closed_loop
    result = asyncio.run(runner(load))
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


# --- the raw ceiling ---


def raw_row(seeded: Seeded, key: str) -> tuple[Any, ...]:
    now = datetime.now(UTC)
    return (seeded.unit_id, seeded.form_version_id, now, now.date(), now, "api", key, False)


RAW_COLUMNS = (
    "unit_id, form_version_id, submitted_at, local_date, recorded_at, channel, "
    "idempotency_key, flagged, a1, a2, a3, a4, a5, a6, a7, a8, a9"
)


async def pg_ceiling(conninfo: str, seeded: Seeded, clients: int, seconds: float) -> Result:
    import psycopg

    result = Result()
    sql = (
        f"INSERT INTO response ({RAW_COLUMNS}) VALUES "
        f"(%s, %s, %s, %s, %s, %s, %s, %s, 4, 4, 4, 4, 4, 4, 4, 4, 4) "
        "ON CONFLICT (idempotency_key) DO NOTHING"
    )
    connections = [await psycopg.AsyncConnection.connect(conninfo) for _ in range(clients)]
    stop = time.monotonic() + seconds
    tag = uuid.uuid4().hex[:8]

    async def one(number: int, connection: psycopg.AsyncConnection[Any]) -> None:
        i = 0
        while time.monotonic() < stop:
            i += 1
            began = time.perf_counter()
            await connection.execute(sql, raw_row(seeded, f"raw-{tag}-{number}-{i}"))
            await connection.commit()
            result.latencies.append(time.perf_counter() - began)
            result.statuses["commit"] += 1
            result.done += 1

    began = time.monotonic()
    await asyncio.gather(*(one(n, c) for n, c in enumerate(connections)))
    result.wall = time.monotonic() - began
    for connection in connections:
        await connection.close()
    return result


def sqlite_ceiling(path: str, seeded: Seeded, clients: int, seconds: float) -> Result:
    result = Result()
    lock = threading.Lock()
    sql = (
        f"INSERT INTO response ({RAW_COLUMNS}) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, 4, 4, 4, 4, 4, 4, 4, 4, 4) "
        "ON CONFLICT (idempotency_key) DO NOTHING"
    )
    stop = time.monotonic() + seconds
    tag = uuid.uuid4().hex[:8]

    def one(number: int) -> None:
        # The server's own settings: WAL, synchronous=FULL, a busy timeout, BEGIN IMMEDIATE.
        connection = sqlite3.connect(path, isolation_level=None, timeout=10)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=10000"):
            connection.execute(f"PRAGMA {pragma}")
        i = 0
        while time.monotonic() < stop:
            i += 1
            began = time.perf_counter()
            row = [
                v.isoformat() if hasattr(v, "isoformat") else v
                for v in raw_row(seeded, f"raw-{tag}-{number}-{i}")
            ]
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute(sql, row)
                connection.execute("COMMIT")
                status = "commit"
            except sqlite3.OperationalError as exc:
                status = f"error {exc}"
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            with lock:
                result.latencies.append(time.perf_counter() - began)
                result.statuses[status] += 1
                result.done += status == "commit"
        connection.close()

    began = time.monotonic()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall = time.monotonic() - began
    return result


def ceiling(url: str, seeded: Seeded, clients: int, seconds: float) -> Result:
    """The raw ceiling, run in its own process."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    if url.startswith("sqlite"):
        result = sqlite_ceiling(url.removeprefix("sqlite:///"), seeded, clients, seconds)
    else:
        from sqlalchemy.engine import make_url

        conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        result = asyncio.run(pg_ceiling(conninfo, seeded, clients, seconds))
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


# --- a phase, measured ---


@dataclass
class Measured:
    phase: str
    rate: float  # submissions per second
    p50: float  # ms
    p99: float  # ms
    statuses: Counter[str]
    server_ms: float | None  # server CPU per submission
    server_cores: float | None  # server CPU seconds per wall second
    generator_pct: float  # the busiest generator process, % of one core
    errors: Counter[str]
    offered: float | None = None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_phase(
    phase: str,
    kind: str,
    server: Server,
    seeded: Seeded,
    clients: int,
    seconds: float,
    generators: int,
    rate: float = 0.0,
) -> Measured:
    processes = max(1, min(generators, clients))
    share = [clients // processes + (i < clients % processes) for i in range(processes)]
    start_at = time.time() + 1.0  # every process spawned and connected by then
    tag = uuid.uuid4().hex[:8]
    loads = [
        Load(
            kind=kind,
            base=server.base,
            seeded=seeded,
            clients=n,
            seconds=seconds,
            start_at=start_at,
            rate=rate / processes,
            tag=f"{tag}-{i}",
        )
        for i, n in enumerate(share)
    ]
    with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
        futures = [pool.submit(generate, load) for load in loads]
        time.sleep(max(0.0, start_at - time.time()))
        cpu_before, wall_before = server.cpu(), time.monotonic()
        results = [f.result() for f in futures]
        cpu_after, wall_after = server.cpu(), time.monotonic()
    total = Result()
    for result in results:
        total.merge(result)
    busiest = max(r.cpu / r.wall for r in results if r.wall) if results else 0.0
    server_cpu = cpu_after - cpu_before
    return Measured(
        phase=phase,
        rate=total.done / total.wall if total.wall else 0.0,
        p50=percentile(total.latencies, 0.50) * 1000,
        p99=percentile(total.latencies, 0.99) * 1000,
        statuses=total.statuses,
        server_ms=server_cpu / total.done * 1000 if total.done else None,
        server_cores=server_cpu / (wall_after - wall_before),
        generator_pct=busiest * 100,
        errors=total.errors,
        offered=rate or None,
    )


def run_ceiling(url: str, seeded: Seeded, clients: int, seconds: float) -> Measured:
    with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
        result = pool.submit(ceiling, url, seeded, clients, seconds).result()
    return Measured(
        phase="ceiling",
        rate=result.done / result.wall,
        p50=percentile(result.latencies, 0.50) * 1000,
        p99=percentile(result.latencies, 0.99) * 1000,
        statuses=result.statuses,
        server_ms=None,
        server_cores=None,
        generator_pct=result.cpu / result.wall * 100,
        errors=result.errors,
    )


# --- the report ---

PHASES = ("ceiling", "api", "citizen", "api-open", "api-1", "citizen-1")


def median(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else None


def show(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def report(rounds: list[dict[str, Measured]], load_start: tuple[float, ...]) -> None:
    ceiling_rates = [r["ceiling"].rate for r in rounds]
    print()
    print(
        f"{'phase':<10} {'req/s':>8} {'x ceil':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>10} {'srv cores':>9} {'gen %':>6}  statuses (all rounds)"
    )
    for phase in PHASES:
        found = [r[phase] for r in rounds if phase in r]
        if not found:
            continue
        ratios = [m.rate / c for m, c in zip(found, ceiling_rates, strict=False)]
        statuses: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        for m in found:
            statuses.update(m.statuses)
            errors.update(m.errors)
        status_text = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        if errors:
            status_text += "; client errors " + ", ".join(f"{k}: {v}" for k, v in errors.items())
        print(
            f"{phase:<10} {show(median([m.rate for m in found])):>8} "
            f"{show(median(ratios), 3):>7} {show(median([m.p50 for m in found])):>8} "
            f"{show(median([m.p99 for m in found])):>8} "
            f"{show(median([m.server_ms for m in found]), 2):>10} "
            f"{show(median([m.server_cores for m in found]), 2):>9} "
            f"{show(median([m.generator_pct for m in found]), 0):>6}  {status_text}"
        )
    end = os.getloadavg()
    print(
        f"\nload average (1, 5, 15 min): start {', '.join(f'{x:.2f}' for x in load_start)}; "
        f"end {', '.join(f'{x:.2f}' for x in end)}; {os.cpu_count()} CPUs"
    )
    print(
        "req/s: completed submissions per second (citizen: GET + POST pairs); x ceil: to the "
        "same round's ceiling; p50/p99: the submitting POST (api-open: from its scheduled "
        "time; ceiling: insert + commit); CPU ms/req: server processes' utime+stime per "
        "submission; gen %: busiest load-generator process, % of one core."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_SERVER)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--app-dir",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the checkout whose app is served (default: this one)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(args.app_dir))  # seed with the served checkout's schema
    load_start = os.getloadavg()
    commit = subprocess.run(
        ["git", "-C", str(args.app_dir), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    target = make_database(args.database_url)
    server: Server | None = None
    try:
        print(f"app: {args.app_dir} ({commit})")
        print(f"database: {target.url.split('@')[-1]}")
        seeded = seed(target.url)
        server = Server(args.app_dir, target.url, args.workers)
        server.wait_ready()
        print(
            f"server: skm serve --workers {args.workers} on {server.base}; relaxed for the "
            f"bench: {', '.join(f'{k}={v}' for k, v in RELAXED.items())}"
        )
        print(f"clients: {args.clients}, {args.seconds:g} s per phase, {args.rounds} rounds")
        for kind in ("api", "citizen"):  # warm both workers
            run_phase("warm", kind, server, seeded, 8, 2, args.generators)
        rounds: list[dict[str, Measured]] = []
        for number in range(1, args.rounds + 1):
            found: dict[str, Measured] = {}
            found["ceiling"] = run_ceiling(target.url, seeded, args.clients, args.seconds)
            for phase, kind in (("api", "api"), ("citizen", "citizen")):
                found[phase] = run_phase(
                    phase, kind, server, seeded, args.clients, args.seconds, args.generators
                )
            half = found["ceiling"].rate / 2
            found["api-open"] = run_phase(
                "api-open",
                "api-open",
                server,
                seeded,
                args.clients,
                args.seconds,
                args.generators,
                rate=half,
            )
            for phase, kind in (("api-1", "api"), ("citizen-1", "citizen")):
                found[phase] = run_phase(phase, kind, server, seeded, 1, args.seconds, 1)
            rounds.append(found)
            print(
                f"round {number}: "
                + "; ".join(
                    f"{m.phase} {m.rate:,.0f}/s"
                    + (f" of {m.offered:,.0f}/s offered" if m.offered else "")
                    + (f" ({show(m.server_ms, 2)} ms CPU)" if m.server_ms else "")
                    for m in found.values()
                )
                + f"; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        report(rounds, load_start)
    finally:
        if server is not None:
            server.stop()
        target.drop()


if __name__ == "__main__":
    main()

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
import json
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
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PEMDA, UNIT, SERVICE, COUNTER = "bench-pemda", "bench", "ktp-el", "loket-1"
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
    """Schema, forms, unit ``bench`` (under a pemda) with one service and a counter for it,
    and an API key."""
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
        # Under a pemda, as a real service unit is: its name is on every survey page.
        org.create_unit(
            session=session,
            data=UnitCreate(code=PEMDA, name="Pemerintah Kota Benchmark", time_zone="WITA"),
        )
        unit = org.create_unit(
            session=session,
            data=UnitCreate(
                code=UNIT, name="Unit Benchmark", address="Jl. Contoh 1", parent_code=PEMDA
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


def database_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL server process on this machine (backends too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
    return {pid: cpu_seconds([pid]) for pid in found}


def database_cpu_since(before: dict[int, float]) -> float:
    """CPU the PostgreSQL processes used since ``before``; one started since counts whole."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in database_cpu().items())


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return (total - values[3] - values[4]) / ticks, total / ticks


@dataclass
class Meter:
    """CPU used during a phase: the server's, the database server's, the whole machine's."""

    server: Server | None
    sqlite: bool
    server_cpu: float = 0.0
    db_cpu: float = 0.0
    busy: float = 0.0
    total: float = 0.0
    wall: float = 0.0

    def __enter__(self) -> Meter:
        self._db = {} if self.sqlite else database_cpu()
        self._start = (self.server.cpu() if self.server else 0.0, *machine_busy())
        self._began = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.monotonic() - self._began
        end = (self.server.cpu() if self.server else 0.0, *machine_busy())
        self.server_cpu, self.busy, self.total = (
            b - a for a, b in zip(self._start, end, strict=True)
        )
        self.db_cpu = 0.0 if self.sqlite else database_cpu_since(self._db)


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


# --- a light HTTP/1.1 client: the load generator's own CPU must not starve the server ---


class HttpError(Exception):
    """The connection failed or the answer was not HTTP/1.1 as expected."""


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]  # names lower-cased
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class LightClient:
    """One keep-alive connection, requests in turn. httpx cost about 1.5 ms of the generator's
    CPU per request, as much as the server's own share: on a 2-core machine that starved the
    server it measured. The ceiling's client (psycopg, libpq) is light; this one is too."""

    def __init__(self, base: str) -> None:
        host_port = base.removeprefix("http://")
        host, _, port = host_port.partition(":")
        self.host, self.port, self.authority = host, int(port or 80), host_port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Answer:
        head = [f"{method} {path} HTTP/1.1", f"host: {self.authority}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if self.cookies:
            head.append("cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if body or method == "POST":
            head.append(f"content-length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            self.writer.write(data)
            answer = await self._read(self.reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            raise HttpError(type(exc).__name__) from exc
        for name, value in answer.headers:
            if name == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                self.cookies[cookie_name.strip()] = rest.split(";", 1)[0]
            elif name == "connection" and value.lower() == "close":
                await self.close()
        return answer

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Answer:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = []
        for line in head[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip().lower(), value.strip()))
        fields = dict(headers)
        if "content-length" in fields:
            body = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")  # the empty trailer
            body = b"".join(parts)
        else:
            body = b""
        return Answer(status, headers, body)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


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
    db_cpu: float = 0.0  # the ceiling's: PostgreSQL's CPU seconds
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


def api_request(load: Load, key: str) -> tuple[str, dict[str, str], bytes]:
    body = json.dumps(api_body(load.seeded, key)).encode()
    headers = {
        "authorization": f"Bearer {load.seeded.api_key}",
        "content-type": "application/json",
    }
    return "/api/v1/responses", headers, body


async def api_once(client: LightClient, load: Load, key: str, result: Result) -> bool:
    began = time.perf_counter()
    response = await client.request("POST", *api_request(load, key))
    result.latencies.append(time.perf_counter() - began)
    result.statuses[f"POST {response.status}"] += 1
    return response.status == 201


async def citizen_once(client: LightClient, load: Load, result: Result) -> bool:
    client.cookies.clear()  # every submission a new citizen's browser
    path = f"/s/{load.seeded.survey_token}"
    page = await client.request("GET", path)
    result.statuses[f"GET {page.status}"] += 1
    found = FORM_TOKEN.search(page.text)
    if page.status != 200 or found is None:
        return False
    fields = {**dict.fromkeys(load.seeded.codes, "4"), "form_token": found.group(1)}
    fields.update(sex="P", age="41", saran="Ruang tunggu nyaman")
    began = time.perf_counter()
    response = await client.request(
        "POST",
        path,
        {
            "content-type": "application/x-www-form-urlencoded",
            "origin": load.base,
            "sec-fetch-site": "same-origin",
        },
        urlencode(fields).encode(),
    )
    result.latencies.append(time.perf_counter() - began)
    result.statuses[f"POST {response.status}"] += 1
    return response.status == 303


async def closed_loop(load: Load) -> Result:
    result = Result()
    await asyncio.sleep(max(0.0, load.start_at - time.time()))
    stop = time.monotonic() + load.seconds

    async def one_client(number: int) -> None:
        client = LightClient(load.base)
        i = 0
        while time.monotonic() < stop:
            i += 1
            try:
                if load.kind == "api":
                    ok = await api_once(client, load, f"{load.tag}-{number}-{i}", result)
                else:
                    ok = await citizen_once(client, load, result)
            except HttpError as exc:
                result.errors[str(exc)] += 1
                continue
            result.done += ok
        await client.close()

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
        client = LightClient(load.base)
        while True:
            i, at = await due.get()
            try:
                response = await client.request("POST", *api_request(load, f"{load.tag}-{i}"))
            except HttpError as exc:
                result.errors[str(exc)] += 1
            else:
                result.latencies.append(time.perf_counter() - at)
                result.statuses[f"POST {response.status}"] += 1
                result.done += response.status == 201
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

    began, database = time.monotonic(), database_cpu()
    await asyncio.gather(*(one(n, c) for n, c in enumerate(connections)))
    result.wall = time.monotonic() - began
    result.db_cpu = database_cpu_since(database)  # before the backends exit on close
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
    db_ms: float | None = None  # the database server's CPU per submission (PostgreSQL)
    busy_pct: float = 0.0  # the whole machine's CPU in use, % of all cores
    offered: float | None = None


def per_submission(cpu: float, done: int) -> float | None:
    return cpu / done * 1000 if done else None


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
    sqlite: bool,
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
        with Meter(server, sqlite) as meter:
            results = [f.result() for f in futures]
    total = Result()
    for result in results:
        total.merge(result)
    busiest = max(r.cpu / r.wall for r in results if r.wall) if results else 0.0
    return Measured(
        phase=phase,
        rate=total.done / total.wall if total.wall else 0.0,
        p50=percentile(total.latencies, 0.50) * 1000,
        p99=percentile(total.latencies, 0.99) * 1000,
        statuses=total.statuses,
        server_ms=meter.server_cpu / total.done * 1000 if total.done else None,
        server_cores=meter.server_cpu / meter.wall,
        generator_pct=busiest * 100,
        db_ms=None if sqlite else per_submission(meter.db_cpu, total.done),
        busy_pct=meter.busy / meter.total * 100 if meter.total else 0.0,
        errors=total.errors,
        offered=rate or None,
    )


def run_ceiling(url: str, seeded: Seeded, clients: int, seconds: float) -> Measured:
    sqlite = url.startswith("sqlite")
    with (
        ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool,
        Meter(None, sqlite) as meter,
    ):
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
        db_ms=None if sqlite else per_submission(result.db_cpu, result.done),
        busy_pct=meter.busy / meter.total * 100 if meter.total else 0.0,
    )


# --- the report ---

PHASES = ("ceiling", "api", "citizen", "api-open", "api-1", "citizen-1")


def median(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else None


def show(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def report(rounds: list[dict[str, Measured]], load_start: tuple[float, ...]) -> None:
    ceiling_rates = [r["ceiling"].rate for r in rounds]
    print()
    print(
        f"{'phase':<10} {'req/s':>8} {'x ceil':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>10} {'srv cores':>9} {'db ms/req':>9} {'busy %':>6} {'gen %':>6}  "
        "statuses (all rounds)"
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
            f"{show(median([m.db_ms for m in found]), 2):>9} "
            f"{show(median([m.busy_pct for m in found]), 0):>6} "
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
        "submission; db ms/req: PostgreSQL's processes' CPU per submission (ceiling: per "
        "insert); busy %: the whole machine's CPU in use, % of all cores; gen %: busiest "
        "load-generator process, % of one core."
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
    sqlite = target.url.startswith("sqlite")
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
            run_phase("warm", kind, server, seeded, 8, 2, args.generators, sqlite)
        rounds: list[dict[str, Measured]] = []
        for number in range(1, args.rounds + 1):
            found: dict[str, Measured] = {}
            found["ceiling"] = run_ceiling(target.url, seeded, args.clients, args.seconds)
            for phase, kind in (("api", "api"), ("citizen", "citizen")):
                found[phase] = run_phase(
                    phase, kind, server, seeded, args.clients, args.seconds, args.generators, sqlite
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
                sqlite,
                rate=half,
            )
            for phase, kind in (("api-1", "api"), ("citizen-1", "citizen")):
                found[phase] = run_phase(phase, kind, server, seeded, 1, args.seconds, 1, sqlite)
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

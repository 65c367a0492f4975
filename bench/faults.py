"""Faults under load: is every acknowledged response stored exactly once, is an outage a 503 in
the error envelope, and how soon does the service answer again?

    python bench/faults.py                    # PostgreSQL (a private cluster) crashed, a worker
    python bench/faults.py --sqlite           # SQLite: a worker, then the whole server killed
    python bench/faults.py --clients 16 --citizens 4 --outage 5 --steady 5

PostgreSQL mode starts a throwaway cluster (tests/pgcluster.py: initdb in a temporary
directory, a free port, run as the postgres user when this runs as root) and `skm serve
--workers 2` on it. ``--clients`` threads submit without pause, each response under a new
idempotency key and every retry under the same one (API clients: `POST /api/v1/responses`;
``--citizens`` of them use the survey page, GET then POST, whose form token is the key). During
the load: the postmaster is killed with SIGKILL and restarted after ``--outage`` seconds, then
a worker is killed with SIGKILL (SQLite: a worker, then the server and its workers, restarted
at once). At the end it prints acknowledged against stored (lost and duplicated must be 0),
whether the rollups equal a rebuild, the answers seen during each fault by status (an API
error must be a 503 in the JSON envelope, never a 500) and how long each fault took to heal.
Everything it started is stopped and removed, on Ctrl-C too.
"""

import argparse
import collections
import contextlib
import itertools
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's app, and tests/pgcluster.py

from app.config import REPO_ROOT  # noqa: E402 (after the path is set)
from app.db import create_db_engine, upgrade_schema  # noqa: E402
from app.models import CounterCreate, Response, ServiceCreate, UnitCreate  # noqa: E402
from app.services import apikeys, org, questionnaires, rollups  # noqa: E402
from tests.pgcluster import Cluster  # noqa: E402
from tests.served import free_port  # noqa: E402

SECRET = "a-benchmark-key-that-is-long-enough-for-production"
STARTED = "Application startup complete"
UNIT, SERVICE, COUNTER = "faults", "ktp", "l1"
BACKOFF = 0.25  # seconds between a client's retries (the server's Retry-After is 5)


# --- the server ---


class Server:
    """`skm serve` (the installed console script) in its own process group, so that the
    supervisor and its workers can be killed together; its log lines are kept."""

    def __init__(self, env: dict[str, str], port: int, workers: int) -> None:
        self.env, self.port, self.workers = env, port, workers
        self.lines: list[tuple[float, str]] = []
        self.changed = threading.Condition()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        skm = str(Path(sys.executable).parent / "skm")
        self.process = subprocess.Popen(
            [skm, "serve", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()

    def _read(self, process: "subprocess.Popen[str]") -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self.changed:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.changed.notify_all()

    def starts(self) -> list[float]:
        return [at for at, line in self.lines if STARTED in line]

    def wait_started(self, count: int, timeout: float = 120) -> float:
        """The moment of the ``count``-th worker start seen in the log."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.starts()) >= count, timeout):
                tail = "\n".join(line for _, line in self.lines[-20:])
                raise RuntimeError(f"{count} worker start(s) not seen in {timeout} s:\n{tail}")
            return self.starts()[count - 1]

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        pid = self.process.pid
        found = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
        return [p for p in found if b"spawn_main" in _cmdline(p)]

    def kill_all(self) -> None:
        """SIGKILL to the supervisor and its workers at once, as a crash would."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill_all()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# --- the clients ---


@dataclass
class Seen:
    at: float
    kind: str  # "api" or "citizen"
    status: int | None  # None: no HTTP answer (connection refused or reset, timeout)
    enveloped: bool  # an API error in {"error": ..., "detail": ...}
    retry_after: bool


@dataclass
class Load:
    base: str
    api_key: str
    counter_token: str
    codes: list[str]
    api_prefix: str  # acknowledged API keys are noted as stored, with this prefix
    stopping: threading.Event = field(default_factory=threading.Event)
    deadline: float = float("inf")  # retries of the last keys end here
    seen: list[Seen] = field(default_factory=list)
    acked: dict[str, float] = field(default_factory=dict)  # key -> when acknowledged
    unfinished: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, answer: httpx.Response | None) -> None:
        enveloped = retry_after = False
        if answer is not None and answer.status_code >= 400:
            retry_after = "retry-after" in answer.headers
            with contextlib.suppress(ValueError):
                body = answer.json()
                enveloped = isinstance(body, dict) and {"error", "detail"} <= body.keys()
        status = answer.status_code if answer is not None else None
        with self.lock:
            self.seen.append(Seen(time.monotonic(), kind, status, enveloped, retry_after))

    def ack(self, key: str) -> None:
        with self.lock:
            self.acked[key] = time.monotonic()

    def send(self, kind: str, request: Any) -> httpx.Response | None:
        try:
            answer: httpx.Response = request()
        except httpx.HTTPError:
            answer = None
        self.note(kind, answer)
        return answer

    def api_client(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        with httpx.Client(base_url=self.base, timeout=15, headers=headers) as client:
            sent = 0
            while not self.stopping.is_set():
                sent += 1
                key = f"faults:{number}:{sent}"
                body = {
                    "unit": UNIT,
                    "service": SERVICE,
                    "responses": [
                        {
                            "idempotency_key": key,
                            "submitted_at": datetime.now(UTC).isoformat(),
                            "answers": dict.fromkeys(self.codes, 3),
                        }
                    ],
                }
                # The same body under the same key until it is acknowledged.
                while time.monotonic() < self.deadline:
                    answer = self.send("api", partial(client.post, "/api/v1/responses", json=body))
                    if answer is not None and answer.status_code in (200, 201):
                        self.ack(self.api_prefix + key)
                        break
                    time.sleep(BACKOFF)
                else:
                    self.unfinished.append(self.api_prefix + key)

    def citizen_client(self) -> None:
        path = f"/s/{self.counter_token}"
        with httpx.Client(base_url=self.base, timeout=15) as browser:
            while not self.stopping.is_set():
                browser.cookies.clear()  # a new citizen
                page = self.send("citizen", lambda: browser.get(path))
                if page is None or page.status_code != 200:
                    time.sleep(BACKOFF)
                    continue
                found = re.search(r'name="form_token" value="([^"]+)"', page.text)
                assert found is not None, page.text
                token = found.group(1)
                key = f"web:{token.split('.')[1]}"  # the key the server stores it under
                fields = {**dict.fromkeys(self.codes, "4"), "form_token": token}
                fields["service"] = SERVICE
                while time.monotonic() < self.deadline:
                    answer = self.send(
                        "citizen",
                        partial(browser.post, path, data=fields, headers={"Origin": self.base}),
                    )
                    if answer is not None and answer.status_code == 303:
                        self.ack(key)
                        break
                    time.sleep(BACKOFF)
                else:
                    self.unfinished.append(key)


# --- the database side ---


def prepare(url: str) -> tuple[str, str, list[str], str]:
    """Schema, forms, one unit with a service and a counter, a key that may write: the key,
    the counter's token, the element codes, and the prefix the API stores the unit's keys
    under (intake.record_batch namespaces a partner's keys by unit)."""
    upgrade_schema(url)
    engine = create_db_engine(url)
    with Session(engine) as session:
        questionnaires.sync_forms(session=session, forms_dir=REPO_ROOT / "survey_forms")
        _, form = questionnaires.current_form(
            session=session, code=questionnaires.default_form_code()
        )
        unit = org.create_unit(
            session=session,
            data=UnitCreate(
                code=UNIT, name="Unit Gangguan", address="Jl. Contoh 1", time_zone="WITA"
            ),
        )
        org.create_service(
            session=session, data=ServiceCreate(unit_code=UNIT, code=SERVICE, name="KTP")
        )
        counter = org.create_counter(
            session=session, data=CounterCreate(unit_code=UNIT, code=COUNTER, name="Loket 1")
        )
        _, key = apikeys.create_key(session=session, name="faults", scopes=["responses:write"])
        token, codes, prefix = counter.token, list(form.element_codes), f"api:{unit.id}:"
    engine.dispose()
    return key, token, codes, prefix


def rollup_totals(session: Session) -> tuple[list[tuple[Any, ...]], ...]:
    """Each rollup's sums per key, shards added up: what readers see and a rebuild writes."""
    return (
        rollups.day_totals(session=session),
        rollups.month_totals(session=session),
        rollups.quarter_totals(session=session),
    )


@dataclass
class Stored:
    keys: collections.Counter[str]
    rollups_equal: bool
    rollup_rows: int


def stored(url: str) -> Stored:
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            keys = collections.Counter(session.exec(select(Response.idempotency_key)).all())
            kept = rollup_totals(session)
            rollups.rebuild(session=session, commit=False)
            rebuilt = rollup_totals(session)
            session.rollback()  # the comparison changes nothing
    finally:
        engine.dispose()
    return Stored(keys, kept == rebuilt, sum(len(rows) for rows in kept))


# --- faults ---


@dataclass
class Fault:
    name: str
    began: float
    repaired: float = 0.0  # the database accepts connections again, a worker has started
    notes: str = ""


def crash_postgres(cluster: Cluster, outage: float) -> Fault:
    fault = Fault("PostgreSQL kill -9, restart", time.monotonic())
    cluster.crash()
    time.sleep(outage)  # the outage the clients live through
    took = cluster.start()
    fault.repaired = time.monotonic()
    fault.notes = f"down {outage:.0f} s, restart {took:.1f} s"
    return fault


def kill_worker(server: Server) -> Fault:
    count = len(server.starts())
    victim = server.worker_pids()[0]
    fault = Fault("worker kill -9", time.monotonic())
    os.kill(victim, signal.SIGKILL)
    fault.repaired = server.wait_started(count + 1)
    fault.notes = f"replacement started after {fault.repaired - fault.began:.1f} s"
    return fault


def kill_server(server: Server) -> Fault:
    fault = Fault("server kill -9, restart", time.monotonic())
    server.kill_all()
    server.lines.clear()
    server.start()
    fault.repaired = server.wait_started(server.workers)
    fault.notes = f"all workers up after {fault.repaired - fault.began:.1f} s"
    return fault


def report(load: Load, found: Stored, faults: list[Fault], mode: str, busy: str) -> bool:
    acked = set(load.acked)
    stored_keys = set(found.keys)
    lost = sorted(acked - stored_keys)
    duplicated = sorted(k for k, n in found.keys.items() if n > 1)
    print(f"\n{mode}; {busy}")
    print(
        f"{'acknowledged':>14} {'stored':>8} {'lost':>6} {'duplicated':>11} {'stored, unacked':>16}"
    )
    print(
        f"{len(acked):>14} {len(stored_keys):>8} {len(lost):>6} {len(duplicated):>11} "
        f"{len(stored_keys - acked):>16}"
    )
    print(
        "rollups equal a rebuild (sums per key, shards added up): "
        f"{found.rollups_equal} ({found.rollup_rows} keys)"
    )
    if lost:
        print(f"lost, for example: {lost[:5]}")
    if load.unfinished:
        print(f"not acknowledged before the end (retries given up): {len(load.unfinished)}")
    print(f"\n{'fault':<28} {'healed s':>9} {'longest gap s':>14} {'answers during the fault'}")
    times = sorted(load.acked.values())
    server_errors = 0
    for number, fault in enumerate(faults):
        # The fault lasts until the first acknowledgement after its repair.
        healed = next((t for t in times if t > fault.repaired), float("nan"))
        end = faults[number + 1].began if number + 1 < len(faults) else float("inf")
        during = [s for s in load.seen if fault.began <= s.at <= min(healed, end)]
        before = [t for t in times if t <= fault.began][-1:] or [fault.began]
        window = [*before, *(t for t in times if fault.began < t <= healed)]
        gap = max((b - a for a, b in itertools.pairwise(window)), default=0.0)
        counts = collections.Counter(
            f"{s.kind} {s.status or 'no answer'}"
            + (
                " enveloped"
                if s.kind == "api" and s.status and s.status >= 400 and s.enveloped
                else ""
            )
            + (" Retry-After" if s.status == 503 and s.retry_after else "")
            for s in during
        )
        server_errors += sum(
            1 for s in during if s.status is not None and s.status >= 500 and s.status != 503
        )
        server_errors += sum(
            1 for s in during if s.kind == "api" and s.status == 503 and not s.enveloped
        )
        shown = ", ".join(f"{k}: {n}" for k, n in sorted(counts.items()))
        print(f"{fault.name:<28} {healed - fault.repaired:>9.2f} {gap:>14.2f} {shown}")
        print(f"{'':<28} {fault.notes}")
    others = collections.Counter(
        s.status for s in load.seen if s.status is not None and s.status >= 500 and s.status != 503
    )
    print(f"\n5xx other than 503 over the whole run: {dict(others) or 'none'}")
    return not lost and not duplicated and found.rollups_equal and not others and not server_errors


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--citizens", type=int, default=4, help="of the clients, via the page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--outage", type=float, default=5, help="seconds PostgreSQL stays down")
    parser.add_argument("--steady", type=float, default=5, help="seconds of load between faults")
    parser.add_argument("--busy", type=int, default=0, help="busy loops on the side")
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C: through the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    with contextlib.ExitStack() as stack:
        stack.enter_context(busy_loops(args.busy))
        cluster: Cluster | None = None
        if args.sqlite:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="skm-faults-"))
            url = f"sqlite:///{tmp}/skm.db"
        else:
            cluster = stack.enter_context(Cluster())
            url = cluster.create_database("skm")
        api_key, counter_token, codes, api_prefix = prepare(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "SKM_DATABASE_URL": url,
            "SKM_SECRET_KEY": SECRET,
            "SKM_PUBLIC_BASE_URL": base,
            "SKM_SURVEY_MIN_SECONDS": "0",
            "SKM_RATE_PER_CLIENT_HOUR": "10000000",
            "SKM_RATE_PER_COUNTER_HOUR": "10000000",
        }
        server = Server(env, port, args.workers)
        stack.callback(server.stop)
        server.start()
        server.wait_started(args.workers)
        load = Load(base, api_key, counter_token, codes, api_prefix)
        clients = [
            threading.Thread(
                target=load.citizen_client if n < args.citizens else load.api_client,
                args=() if n < args.citizens else (n,),
                daemon=True,
            )
            for n in range(args.clients)
        ]
        for client in clients:
            client.start()
        busy = f"{args.clients} clients ({args.citizens} citizen), {args.workers} workers, "
        busy += f"busy loops {args.busy}, load(1 min) at start {os.getloadavg()[0]:.2f}"
        faults: list[Fault] = []
        time.sleep(args.steady)  # load before the first fault
        if cluster is not None:
            faults.append(crash_postgres(cluster, args.outage))
            time.sleep(args.steady)
        faults.append(kill_worker(server))
        time.sleep(args.steady)
        if cluster is None:
            faults.append(kill_server(server))
            time.sleep(args.steady)
        load.stopping.set()
        load.deadline = time.monotonic() + 60
        for client in clients:
            client.join()
        busy += f", at end {os.getloadavg()[0]:.2f}"
        server.stop()
        found = stored(url)
        mode = "SQLite" if args.sqlite else "PostgreSQL (private cluster)"
        ok = report(load, found, faults, mode, busy)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

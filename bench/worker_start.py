"""How fast `skm serve --workers N` comes up, and how fast a worker killed with SIGKILL is
replaced, idle or with both cores kept busy.

    python bench/worker_start.py                  # idle
    python bench/worker_start.py --busy 2         # two busy loops on the 2 cores
    python bench/worker_start.py --rounds 5 --workers 2

The server is started through the installed `skm` console script, as an operator would start
it (that script is what spawned workers used to re-import). SQLite in a temporary directory.
A poller asks /healthz all the time: the other worker must keep answering while one is replaced.
Prints one table: start (all workers up), then per kill the time until the replacement had
started, the longest gap between two answered polls and the polls that failed.
"""

import argparse
import itertools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

STARTED = "Application startup complete"
# This checkout's `app`, not whichever one the console script was installed from.
REPO = Path(__file__).resolve().parent.parent
SECRET = "a-benchmark-key-that-is-long-enough-for-production"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # the task ended meanwhile
            continue
    return found


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes: children started by multiprocessing's spawn."""
    found = []
    for child in children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            found.append(child)
    return found


@contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """``count`` processes spinning on a core each, the load other work puts on the machine."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


class Served:
    """`skm serve` in a subprocess; every log line is kept with the moment it was read."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.began = time.monotonic()
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[tuple[float, str]] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.changed.notify_all()

    def wait_started(self, count: int, timeout: float) -> float:
        """The moment the ``count``-th worker logged that it had started."""
        with self.changed:
            done = self.changed.wait_for(
                lambda: sum(STARTED in line for _, line in self.lines) >= count, timeout
            )
            if not done:
                tail = "\n".join(line for _, line in self.lines[-20:])
                raise SystemExit(f"{count} worker start(s) not seen in {timeout} s:\n{tail}")
            return [at for at, line in self.lines if STARTED in line][count - 1]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Poller(threading.Thread):
    """Asks /healthz about a hundred times a second, noting answers and failures."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.answered: list[float] = []
        self.failed: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as client:
            while not self.stopping.is_set():
                try:
                    ok = client.get("/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                (self.answered if ok else self.failed).append(time.monotonic())
                # Paced: a client in a tight loop would take a core from the starting worker.
                self.stopping.wait(0.01)

    def longest_gap(self, start: float, end: float) -> float:
        times = [start, *(t for t in self.answered if start <= t <= end), end]
        return max(b - a for a, b in itertools.pairwise(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="worker kills")
    parser.add_argument("--busy", type=int, default=0, help="busy loops during the run")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument(
        "--repo", type=Path, default=REPO, help="checkout whose app is served (to compare two)"
    )
    args = parser.parse_args()
    skm = shutil.which("skm") or str(Path(sys.executable).parent / "skm")
    with tempfile.TemporaryDirectory() as tmp, busy_loops(args.busy):
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(args.repo), os.environ.get("PYTHONPATH")])
            ),
            "SKM_DATABASE_URL": f"sqlite:///{tmp}/skm.db",
            "SKM_SECRET_KEY": SECRET,
            "SKM_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
        # The schema first, so that start-up times the server, not the migrations.
        subprocess.run([skm, "db", "upgrade"], env=env, check=True, capture_output=True)
        load = os.getloadavg()[0]
        served = Served([skm, "serve", "--port", str(port), "--workers", str(args.workers)], env)
        poller = Poller(f"http://127.0.0.1:{port}")
        try:
            up = served.wait_started(args.workers, args.timeout) - served.began
            poller.start()
            rows: list[tuple[int, float, float, int]] = []
            for kill in range(1, args.rounds + 1):
                victim = workers_of(served.process.pid)[0]
                killed = time.monotonic()
                os.kill(victim, signal.SIGKILL)
                replaced = served.wait_started(args.workers + kill, args.timeout)
                gap = poller.longest_gap(killed, replaced)
                failed = sum(killed <= t <= replaced for t in poller.failed)
                rows.append((victim, replaced - killed, gap, failed))
            poller.stopping.set()
            poller.join()
        finally:
            served.stop()
    print(f"{args.repo}: skm serve --workers {args.workers}, busy loops {args.busy}, ", end="")
    print(f"load(1 min) {load:.2f}")
    print(f"all workers up after start: {up:6.2f} s")
    print(f"{'kill':>4} {'worker':>8} {'replaced in s':>14} {'longest gap s':>14} {'failed':>7}")
    for number, (victim, took, gap, failed) in enumerate(rows, 1):
        print(f"{number:>4} {victim:>8} {took:>14.2f} {gap:>14.2f} {failed:>7}")
    if rows:
        took = statistics.median(r[1] for r in rows)
        print(f"median replacement {took:.2f} s; polls answered {len(poller.answered)}")


if __name__ == "__main__":
    main()

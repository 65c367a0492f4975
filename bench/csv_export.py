"""Benchmark: stream a CSV export of 200,000 responses and measure the server's peak memory.

    python bench/csv_export.py [--rows 200000] [--database-url URL]

Seeds a fresh database (a temporary SQLite file unless --database-url names an empty
PostgreSQL database), starts the real server (`skm serve`, as the Dockerfile does) in a
subprocess, then downloads GET /api/v1/responses.csv three times: a warm-up of one day, one
month (about a twelfth of the rows) and the whole year. The server's peak RSS (VmHWM) is read
after each: if the export streams, the year costs no more memory than the month.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from seed import seed  # bench/ is on the path when a script there runs
from sqlmodel import Session

from app.db import create_db_engine
from app.services import apikeys


def seed_with_key(url: str, rows: int) -> str:
    """The shared seed, and an API key that may read the responses."""
    seed(url, rows)
    engine = create_db_engine(url)
    with Session(engine) as session:
        _, key = apikeys.create_key(session=session, name="bench", scopes=["responses:read"])
    engine.dispose()
    return key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mib(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc (Linux)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def export(client: httpx.Client, key: str, period: str) -> tuple[int, int, float]:
    """Download one CSV export; (data rows, bytes, seconds)."""
    began = time.perf_counter()
    lines = size = 0
    with client.stream(
        "GET",
        "/api/v1/responses.csv",
        params={"unit": "bench", "period": period},
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")  # one byte: a chunk boundary cannot split it
    return lines - 1, size, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database-url", help="an empty database (default: temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        key = seed_with_key(url, args.rows)
        port = free_port()
        env = {**os.environ, "SKM_DATABASE_URL": url}
        skm = Path(sys.executable).parent / "skm"  # the console script, as the Dockerfile runs
        server = subprocess.Popen(  # our own CLI, fixed arguments
            [str(skm), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
                for _ in range(100):
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                print(f"server up: RSS {peak_rss_mib(server.pid)[0]:.1f} MiB")
                for label, period in (
                    ("one day", "2025-01-01..2025-01-01"),
                    ("one month", "2025-03"),
                    ("whole year", "2025"),
                ):
                    rows, size, seconds = export(client, key, period)
                    rss, peak = peak_rss_mib(server.pid)
                    print(
                        f"{label:>10}: {rows:>9,} rows, {size / 2**20:7.1f} MiB in "
                        f"{seconds:6.2f} s ({rows / seconds:>9,.0f} rows/s); "
                        f"server RSS {rss:6.1f} MiB, peak {peak:6.1f} MiB"
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

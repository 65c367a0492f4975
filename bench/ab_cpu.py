"""Benchmark: two checkouts' server CPU per submission at one client, interleaved.

    python bench/ab_cpu.py BASE_DIR NEW_DIR [--kinds api,citizen] [--windows 10]
                           [--per-window 200] [--database-url URL]

On this shared machine the same code's one-client CPU per submission moves by 30% from one
minute to the next, so two checkouts measured one after the other (bench/ingest.py
``--app-dir``) cannot tell a 5% change from the noise. Here both checkouts serve at once
(``skm serve --workers 1`` each, a fresh database each, the bench settings of
bench/ingest.py), and one client sends a submission to one, then to the other, alternately;
each window measures both servers' CPU (utime + stime from /proc) over the same seconds, so
whatever slows the machine slows both. The order within a pair flips every window. It prints
each window's CPU per submission for both and the ratio NEW/BASE, with medians: a ratio is
good to about ±3% here (the same checkout against itself gave 0.97-1.03).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import (
    DEFAULT_SERVER,
    LightClient,
    Load,
    Result,
    Seeded,
    Server,
    Target,
    api_once,
    citizen_once,
    make_database,
    seed,
)

EXPECTED = {"POST 201", "GET 200", "POST 303"}


async def _window(
    served: list[tuple[Server, Seeded]], kind: str, submissions: int
) -> tuple[list[float], Result]:
    """CPU ms per submission of each server over ``submissions`` alternating pairs."""
    clients = [LightClient(server.base) for server, _ in served]
    loads = [
        Load(kind=kind, base=server.base, seeded=seeded, clients=1, seconds=0, start_at=0)
        for server, seeded in served
    ]
    result = Result()
    before = [server.cpu() for server, _ in served]
    for number in range(submissions):
        for client, load in zip(clients, loads, strict=True):
            if kind == "api":
                await api_once(client, load, f"ab-{uuid.uuid4().hex}-{number}", result)
            else:
                await citizen_once(client, load, result)
    after = [server.cpu() for server, _ in served]
    for client in clients:
        await client.close()
    used = [(b - a) / submissions * 1000 for a, b in zip(before, after, strict=True)]
    return used, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="the checkout to compare against")
    parser.add_argument("new", type=Path, help="the checkout measured")
    parser.add_argument("--kinds", default="api,citizen", help="api, citizen or both")
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--per-window", type=int, default=200, help="submissions to each")
    parser.add_argument("--database-url", default=DEFAULT_SERVER)
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    if not kinds or set(kinds) - {"api", "citizen"}:
        parser.error("--kinds takes api, citizen or both, comma-separated")
    targets: list[Target] = []
    served: list[tuple[Server, Seeded]] = []
    try:
        for app_dir in (args.base, args.new):
            target = make_database(args.database_url)
            targets.append(target)
            seeded = seed(target.url)  # the schema first: the server refuses a database without
            served.append((Server(app_dir.resolve(), target.url, 1), seeded))
        for server, _ in served:
            server.wait_ready()
        print(f"base: {args.base}\nnew:  {args.new}")
        print(f"{args.windows} windows of {args.per_window} submissions to each, alternating")
        for kind in kinds:
            asyncio.run(_window(served, kind, 50))  # warm both
            rows: list[list[float]] = []
            statuses = Result()
            for number in range(args.windows):
                # Flip which server goes first in a pair, so neither always follows the other.
                order = served if number % 2 == 0 else served[::-1]
                used, result = asyncio.run(_window(order, kind, args.per_window))
                rows.append(used if number % 2 == 0 else used[::-1])
                statuses.merge(result)
            base, new = ([row[i] for row in rows] for i in (0, 1))
            ratios = [n / b for b, n in zip(base, new, strict=True)]
            print(f"\n{kind}: CPU ms per submission, each window")
            for name, values, digits in (("base", base, 2), ("new", new, 2), ("ratio", ratios, 3)):
                shown = " ".join(f"{v:5.2f}" for v in values)
                print(f"  {name:5s} {shown}   median {statistics.median(values):.{digits}f}")
            unexpected = {k: v for k, v in statuses.statuses.items() if k not in EXPECTED}
            print(f"  statuses: {dict(statuses.statuses)}" + (" UNEXPECTED" if unexpected else ""))
    finally:
        for server, _ in served:
            server.stop()
        for target in targets:
            target.drop()


if __name__ == "__main__":
    main()

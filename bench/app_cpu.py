"""Benchmark: the app's own CPU per submission, in process, without HTTP or sockets.

    python bench/app_cpu.py [--kinds api,citizen] [--submissions 300] [--rounds 5]
                            [--database-url URL|sqlite]

The app (``create_app``) is called directly as an ASGI application, one submission at a time,
on a fresh database seeded as bench/ingest.py seeds it (and with its relaxed settings):
``api`` is one ``POST /api/v1/responses`` with one response, ``citizen`` the survey page's GET
and the form's POST. Each round prints the process's CPU (user + system) per submission and
how it splits between the event loop's thread and the rest (the threadpool's worker), by
request. PostgreSQL's own CPU is not counted (another process).

Where bench/ingest.py measures a served app over sockets, with a load generator beside it,
and its one-client figure moves by 30% from one minute to the next on this shared machine,
this one has nothing else running: in a quiet minute its rounds agree within 2%, so it shows
where a request's CPU goes (the loop/worker split, request by request) and roughly what a
change does, before bench/ab_cpu.py measures the change interleaved. It leaves out uvicorn's
parsing and the socket writes, about 0.1 ms of a submission here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import (
    DEFAULT_SERVER,
    FORM_TOKEN,
    RELAXED,
    Seeded,
    api_body,
    make_database,
    seed,
)

ORIGIN = "http://bench.test"


class Answer:
    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""


class Caller:
    """Calls the ASGI app as a server would, counting each request's CPU: the whole process's
    and the calling (event loop's) thread's."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.process: Counter[str] = Counter()
        self.loop: Counter[str] = Counter()

    async def __call__(
        self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
    ) -> Answer:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"lang=id",
            "root_path": "",
            "headers": [(b"host", b"bench.test"), *headers],
            "client": ("10.1.2.3", 50000),
            "server": ("bench.test", 80),
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # no disconnect while the app answers
            raise AssertionError("unreachable")

        answer = Answer()

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer.status, answer.headers = message["status"], message.get("headers", [])
            else:
                answer.body += message.get("body", b"")

        process, loop = time.process_time(), time.thread_time()
        await self.app(scope, receive, send)
        self.process[method] += time.process_time() - process
        self.loop[method] += time.thread_time() - loop
        return answer


async def api_once(call: Caller, seeded: Seeded) -> None:
    body = json.dumps(api_body(seeded, uuid.uuid4().hex)).encode()
    headers = [
        (b"authorization", f"Bearer {seeded.api_key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    answer = await call("POST", "/api/v1/responses", headers, body)
    if answer.status != 201:
        raise SystemExit(f"API post answered {answer.status}: {answer.body[:300]!r}")


async def citizen_once(call: Caller, seeded: Seeded) -> None:
    path = f"/s/{seeded.survey_token}"
    page = await call("GET", path, [])
    found = FORM_TOKEN.search(page.body.decode())
    if page.status != 200 or found is None:
        raise SystemExit(f"survey page answered {page.status}")
    cookies = "; ".join(
        value.decode().split(";", 1)[0] for name, value in page.headers if name == b"set-cookie"
    )
    fields = {**dict.fromkeys(seeded.codes, "4"), "form_token": found.group(1)}
    fields.update(sex="P", age="41", saran="Ruang tunggu nyaman")
    body = urlencode(fields).encode()
    headers = [
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(body)).encode()),
        (b"origin", ORIGIN.encode()),
        (b"sec-fetch-site", b"same-origin"),
        (b"cookie", cookies.encode()),
    ]
    answer = await call("POST", path, headers, body)
    if answer.status != 303:
        raise SystemExit(f"survey post answered {answer.status}: {answer.body[:300]!r}")


async def measure(kinds: list[str], seeded: Seeded, submissions: int, rounds: int) -> None:
    from app.main import create_app

    app = create_app()
    once = {"api": api_once, "citizen": citizen_once}
    async with app.router.lifespan_context(app):
        for kind in kinds:
            warm = Caller(app)
            for _ in range(100):
                await once[kind](warm, seeded)
            totals = []
            print(f"\n{kind}: CPU ms per submission (loop = the event loop's thread)")
            for number in range(1, rounds + 1):
                call = Caller(app)
                for _ in range(submissions):
                    await once[kind](call, seeded)
                total = sum(call.process.values()) / submissions * 1000
                totals.append(total)
                parts = ", ".join(
                    f"{method} {call.process[method] / submissions * 1000:.3f}"
                    f" (loop {call.loop[method] / submissions * 1000:.3f})"
                    for method in call.process
                )
                print(f"  round {number}: {total:.3f}  [{parts}]", flush=True)
            print(f"  median {statistics.median(totals):.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default="api,citizen", help="api, citizen or both")
    parser.add_argument("--submissions", type=int, default=300, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_SERVER)
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    if not kinds or set(kinds) - {"api", "citizen"}:
        parser.error("--kinds takes api, citizen or both, comma-separated")
    target = make_database(args.database_url)
    try:
        seeded = seed(target.url)
        os.environ.update(
            RELAXED,
            SKM_DATABASE_URL=target.url,
            SKM_SECRET_KEY=secrets.token_urlsafe(48),
            SKM_PUBLIC_BASE_URL=ORIGIN,
            SKM_BACKGROUND_JOBS="false",  # no job round inside a measured one
        )
        from app.config import get_settings
        from app.db import get_database

        get_settings.cache_clear()  # read again, with the settings above
        try:
            asyncio.run(measure(kinds, seeded, args.submissions, args.rounds))
        finally:
            get_database().engine.dispose()
    finally:
        target.drop()


if __name__ == "__main__":
    main()

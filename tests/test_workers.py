"""The server's process module (app/workers.py): what it hands uvicorn, and that it stays light
enough for every spawned worker to import again."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from app import workers
from app.db import upgrade_schema
from tests.conftest import fresh_database
from tests.served import STARTED, Server, free_port, worker_pids


def test_config_leaves_forwarded_headers_to_the_app() -> None:
    # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 whatever
    # SKM_TRUSTED_PROXIES says.
    config = workers.config(host="127.0.0.1", port=8000, workers=2, healthcheck_seconds=45)
    assert (config.app, config.factory, config.proxy_headers) == (workers.APP, True, False)
    assert (config.workers, config.timeout_worker_healthcheck) == (2, 45)


def test_command_line_runs_this_module_in_this_interpreter() -> None:
    argv = workers.command_line(host="0.0.0.0", port=8080, workers=2, healthcheck_seconds=30)
    assert argv == [
        sys.executable,
        "-m",
        "app.workers",
        "--host=0.0.0.0",
        "--port=8080",
        "--workers=2",
        "--healthcheck-seconds=30",
    ]


def test_importing_the_module_loads_neither_the_cli_nor_the_app() -> None:
    # A spawned worker imports it again before anything else: what it pulls in is paid by
    # every worker start.
    probe = (
        "import sys, app.workers; "
        "print(sorted(m for m in ('app.cli', 'app.main', 'typer', 'alembic', 'fastapi', "
        "'sqlalchemy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"


async def stub_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app for the supervisor's workers: the test is about processes."""
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.slow
def test_supervisor_replaces_a_worker_killed_during_its_health_check() -> None:
    config = uvicorn.Config(
        f"{__name__}:stub_app",
        port=0,
        workers=1,
        lifespan="off",
        log_level="warning",
        timeout_worker_healthcheck=60,
    )
    listening = config.bind_socket()
    supervisor = workers.Supervisor(config, sockets=[listening])
    supervisor.init_processes()
    try:
        (worker,) = supervisor.processes
        assert worker.wait_until_ready(timeout=60)
        victim = worker.pid
        assert victim is not None
        # An answer to an earlier ping left unread in the pipe (a health check that timed out
        # while the worker started on a busy machine): it must not pass the next check.
        worker.parent_conn.send(b"ping")
        assert worker.parent_conn.poll(30)
        # Stopped, the worker cannot answer the ping the check below sends; it is killed while
        # the supervisor waits for that answer (or, on a slow machine, before the ping: then
        # the check finds it dead at once, and the test proves less but does not fail).
        os.kill(victim, signal.SIGSTOP)
        killer = threading.Timer(1, os.kill, (victim, signal.SIGKILL))
        killer.start()
        began = time.monotonic()
        supervisor.keep_subprocess_alive()
        took = time.monotonic() - began
        killer.join()
        (replacement,) = supervisor.processes
        # A new process, not the stopped one; compared as processes, not by pid, since the
        # kernel may hand the dead worker's pid to its replacement (it did in CI once).
        assert replacement is not worker
        assert replacement.pid is not None
        assert took < 30, f"the supervisor waited {took:.1f} s for a dead worker"
    finally:
        supervisor.terminate_all()
        supervisor.join_all()
        listening.close()


@pytest.mark.slow
def test_served_workers_survive_a_killed_worker_and_its_replacement_serves(
    tmp_path: Path,
) -> None:
    with fresh_database(tmp_path) as url:
        upgrade_schema(url)
        port = free_port()
        env = {"SKM_DATABASE_URL": url, "SKM_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
        server = Server(env, "serve", "--port", str(port), "--workers", "2")
        try:
            server.wait_for(STARTED)
            server.wait_for(STARTED)
            first, second = worker_pids(server.process.pid)
            os.kill(first, signal.SIGKILL)
            # A new connection per request (a kept-alive one belongs to one worker): new
            # connections wait in the one listening socket for a living worker.
            fresh = httpx.Limits(max_keepalive_connections=0)
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=30, limits=fresh) as client:
                assert [client.get("/healthz").status_code for _ in range(20)] == [200] * 20
                server.wait_for(STARTED, timeout=60)  # the replacement
                assert len(set(worker_pids(server.process.pid)) - {first, second}) == 1
                os.kill(second, signal.SIGKILL)  # only the replacement is left to answer
                assert client.get("/healthz").status_code == 200
        finally:
            server.stop()

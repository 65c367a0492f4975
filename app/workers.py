"""The HTTP server's processes: uvicorn serving ``app.main:create_app``, in worker processes
when more than one is asked for. ``skm serve`` prepares the database, then replaces itself
with ``python -m app.workers``.

Kept light on purpose (uvicorn and the standard library only): uvicorn starts each worker with
multiprocessing's *spawn*, and a spawned child first imports the parent's ``__main__`` again.
When the parent was the ``skm`` console script that meant the whole command line (typer,
alembic, the report renderers) in every worker and every replacement: 1.3 s on an idle machine,
5-10 s on a busy one, longer than a health check. Each worker imports the app itself once.
"""

import argparse
import pickle
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

APP = "app.main:create_app"
MODULE = "app.workers"  # this module, by the name `python -m` runs it under


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, told at once when a worker has died.

    The supervisor pings each worker over a pipe and waits up to the health-check time for the
    answer. It keeps its own copy of the worker's end of that pipe, so a worker killed between
    a ping and its answer never closes the pipe: the supervisor waited out the whole health
    check (30 s by default) before starting a replacement. Once a worker has started, it holds
    its end itself; with the supervisor's copy closed, a dead worker's pipe reads end-of-file
    and the ping fails at once.
    """

    def keep_subprocess_alive(self) -> None:
        # Every listed worker has been started (a replacement added during the check below
        # is handled on the next round, half a second later). Closing twice is harmless.
        for process in self.processes:
            process.child_conn.close()
            _drop_late_answers(process.parent_conn)
        super().keep_subprocess_alive()


def _drop_late_answers(connection: Connection) -> None:
    """Read away answers to earlier pings that timed out (while the worker started on a busy
    machine, say): left in the pipe, one would pass the next check for a worker that has
    since hung or died (seen in CI: a stopped, then killed worker was kept)."""
    try:
        while connection.poll(0):
            connection.recv()
    except (OSError, EOFError, pickle.UnpicklingError):
        pass  # a dead worker's pipe: the check that follows finds it out


def config(*, host: str, port: int, workers: int, healthcheck_seconds: int) -> uvicorn.Config:
    return uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # SKM_TRUSTED_PROXIES alone decides whose X-Forwarded-For is believed (the app reads
        # it); uvicorn's own handling would trust any client connecting from 127.0.0.1.
        proxy_headers=False,
        # A worker starting on a busy machine may need longer than uvicorn's 5 s to answer.
        timeout_worker_healthcheck=healthcheck_seconds,
    )


def command_line(*, host: str, port: int, workers: int, healthcheck_seconds: int) -> list[str]:
    """The command line that runs :func:`main` with these options, in this interpreter."""
    return [
        sys.executable,
        "-m",
        MODULE,
        f"--host={host}",
        f"--port={port}",
        f"--workers={workers}",
        f"--healthcheck-seconds={healthcheck_seconds}",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--healthcheck-seconds", type=int, default=30)
    args = parser.parse_args(argv)
    served = config(
        host=args.host,
        port=args.port,
        workers=args.workers,
        healthcheck_seconds=args.healthcheck_seconds,
    )
    server = uvicorn.Server(served)
    try:
        if served.workers == 1:
            server.run()
        else:
            Supervisor(served, sockets=[served.bind_socket()]).run()
    except KeyboardInterrupt:  # Ctrl-C before uvicorn's own signal handlers were in place
        pass
    if served.workers == 1 and not server.started:  # as uvicorn.run: the app or port refused
        sys.exit(STARTUP_FAILURE)


if __name__ == "__main__":
    main()

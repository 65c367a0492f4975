"""A throwaway PostgreSQL cluster that a test or bench/faults.py may crash: initdb into a new
temporary directory, a free port on 127.0.0.1, the postmaster a child of this process (owned
by the postgres user when this runs as root: PostgreSQL refuses to run as root)."""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg

from tests.served import free_port


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's program directory (Debian's layout), or the
    directory of ``initdb`` on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL's initdb is not installed")
    return Path(initdb).parent


class Cluster:
    """Use as a context manager: the cluster is removed, processes and files, on the way out
    (an exception or Ctrl-C included)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="skm-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.postmaster: subprocess.Popen[bytes] | None = None
        # PostgreSQL will not run as root: the files and processes belong to postgres then.
        self.owner = "postgres" if os.geteuid() == 0 else None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run_as_owner(self, argv: list[str]) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            return subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                user=self.owner,
                group=self.owner,
                extra_groups=[] if self.owner else None,
                start_new_session=True,  # Ctrl-C in a terminal reaches this process only
            )

    def init(self) -> None:
        if self.owner:
            shutil.chown(self.root, self.owner, self.owner)
        initdb = self._run_as_owner(
            [
                *(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"),
                *("-A", "trust", "--no-sync", "--no-locale", "-E", "UTF8"),
            ]
        )
        if initdb.wait(timeout=300) != 0:
            raise RuntimeError(f"initdb failed: {self.log.read_text()[-2000:]}")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nmax_connections = 200\n"
            )

    def start(self, timeout: float = 120) -> float:
        """Start the postmaster and wait until it accepts connections; returns the seconds
        that took. After a crash the old server's backends may linger a moment and hold its
        shared memory: the start is retried until they are gone."""
        began = time.monotonic()
        deadline = began + timeout
        while True:
            self.postmaster = self._run_as_owner([str(self.bin / "postgres"), "-D", str(self.data)])
            while self.postmaster.poll() is None:
                if self.accepts_connections():
                    return time.monotonic() - began
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-2000:]}")
                time.sleep(0.05)  # polling the server's state
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)  # a refused start (shared memory still held): try again

    def accepts_connections(self) -> bool:
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user="postgres",
                dbname="postgres",
                connect_timeout=2,
            ):
                return True
        except psycopg.OperationalError:
            return False

    def create_database(self, name: str) -> str:
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def crash(self) -> None:
        """``kill -9`` of the postmaster, as an out-of-memory killer or a power cut would;
        its backends notice and exit on their own."""
        assert self.postmaster is not None
        self.postmaster.send_signal(signal.SIGKILL)
        self.postmaster.wait()

    def stop(self) -> None:
        if self.postmaster is not None and self.postmaster.poll() is None:
            self.postmaster.send_signal(signal.SIGQUIT)  # immediate shutdown
            try:
                self.postmaster.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.postmaster.kill()
                self.postmaster.wait()
        self._kill_leftovers()

    def _kill_leftovers(self) -> None:
        """Backends of a crashed postmaster that have not exited yet."""
        marker = str(self.data).encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                command = (proc / "cmdline").read_bytes()
                cwd = str((proc / "cwd").readlink()).encode()
            except OSError:
                continue
            if command.startswith(b"postgres") and cwd == marker:
                with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
                    os.kill(int(proc.name), signal.SIGKILL)

    def __enter__(self) -> "Cluster":
        try:
            self.init()
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

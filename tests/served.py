"""`skm serve` run as an operator runs it, in a subprocess, for the tests that need a real server
(worker processes, the access log, faults)."""

import os
import queue
import socket
import subprocess
import sys
import threading
from pathlib import Path

STARTED = "Application startup complete"  # uvicorn's line when a worker serves


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`skm serve` in a subprocess; its log lines are read as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 60) -> list[str]:
        """The lines up to and including the first that contains ``pattern``."""
        seen: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} in {seen}") from None
            seen.append(line)
            if pattern in line:
                return seen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=20)  # it ends at the end of the output
        assert self.process.stdout is not None
        self.process.stdout.close()


def worker_pids(pid: int) -> list[int]:
    """uvicorn's worker processes under the server ``pid``: its children started by
    multiprocessing's spawn (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return [child for child in found if b"spawn_main" in _cmdline(child)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # ended meanwhile
        return b""

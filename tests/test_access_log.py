"""The access log: private (no client address, no survey token) and written in batches."""

import io
import logging
import threading
from collections.abc import Iterator
from typing import TextIO

import pytest
from uvicorn.logging import AccessFormatter

from app import access_log
from app.access_log import BatchedStreamHandler
from app.main import create_app


def _uvicorn_access_line(client: str, path: str) -> str:
    """An access record as uvicorn's HTTP protocol logs it, through the app's filter and
    uvicorn's own access formatter."""
    access = logging.getLogger("uvicorn.access")
    record = access.makeRecord(
        access.name,
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d',
        (client, "GET", path, "1.1", 200),
        None,
    )
    assert access.filter(record)
    return AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)


def test_access_log_keeps_no_client_address_and_no_survey_token() -> None:
    create_app()  # installs the filter
    assert _uvicorn_access_line("203.0.113.7:50312", "/s/Qx7_token-value?lang=en") == (
        '- - "GET /s/…?lang=en HTTP/1.1" 200 OK'
    )
    assert _uvicorn_access_line("[2001:db8::1]:443", "/s/Qx7_token-value/terima-kasih") == (
        '- - "GET /s/…/terima-kasih HTTP/1.1" 200 OK'
    )
    assert _uvicorn_access_line("203.0.113.7:50312", "/api/v1/ikm?unit=a&period=2026") == (
        '- - "GET /api/v1/ikm?unit=a&period=2026 HTTP/1.1" 200 OK'
    )


class Writes(io.StringIO):
    """A stream that keeps each write apart (one system call each on a real stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.writes.append(text)
        self.written.set()
        return len(text)


def _record(message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", level, __file__, 0, message, None, None)


def test_lines_are_written_together_in_whole_lines() -> None:
    stream = Writes()
    handler = BatchedStreamHandler(stream, batch_chars=100, interval=None)
    lines = [f"GET /api/v1/responses {n:03d} 201" for n in range(10)]  # 30 bytes a line
    for line in lines[:3]:
        handler.handle(_record(line))
    assert stream.writes == []  # 90 bytes gathered, under the batch
    handler.handle(_record(lines[3]))  # would pass it: the three gathered go first
    assert stream.writes == ["".join(f"{line}\n" for line in lines[:3])]
    for line in lines[4:]:
        handler.handle(_record(line))
    handler.flush()  # logging's shutdown calls it: nothing gathered is lost
    assert "".join(stream.writes) == "".join(f"{line}\n" for line in lines)
    assert all(write.endswith("\n") for write in stream.writes)  # never half a line
    assert [len(write) for write in stream.writes] == [90, 90, 90, 30]


def test_a_warning_is_written_at_once_with_the_lines_before_it() -> None:
    stream = Writes()
    handler = BatchedStreamHandler(stream, interval=None)
    handler.handle(_record("GET / 200"))
    handler.handle(_record("something went wrong", logging.WARNING))
    assert stream.writes == ["GET / 200\nsomething went wrong\n"]


def test_gathered_lines_are_written_within_the_interval() -> None:
    stream = Writes()
    handler = BatchedStreamHandler(stream, interval=0.05)
    handler.handle(_record("GET /healthz 200"))
    # The flushing thread writes it; the wait ends as soon as it has (bounded, not a timing).
    assert stream.written.wait(timeout=10)
    handler.close()
    assert stream.writes == ["GET /healthz 200\n"]


class Broken(Writes):
    """A stream whose first write fails (a log reader gone, a full pipe)."""

    def write(self, text: str) -> int:
        if not self.writes:
            self.writes.append("")
            raise BrokenPipeError("the reader went away")
        return super().write(text)


def test_a_failed_write_is_not_raised_and_its_lines_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging, "raiseExceptions", False)  # handleError prints nothing
    stream = Broken()
    handler = BatchedStreamHandler(stream, interval=None)
    handler.handle(_record("GET / 200", logging.WARNING))  # the request that logged goes on
    handler.flush()
    assert stream.writes == ["", "GET / 200\n"]


def test_no_write_grows_past_the_batch() -> None:
    stream = Writes()
    handler = BatchedStreamHandler(stream, batch_chars=100, interval=None)
    for _ in range(3):
        handler.handle(_record("x" * 39))  # 40 bytes a line
    handler.handle(_record("é" * 20))  # 41 bytes in 21 characters
    handler.flush()
    assert [len(w.encode()) for w in stream.writes] == [80, 81]


@pytest.fixture
def uvicorn_access_handler() -> Iterator[logging.StreamHandler[TextIO]]:
    """uvicorn's default access handler on its logger, as its logging configuration sets it."""
    logger = logging.getLogger("uvicorn.access")
    kept = list(logger.handlers)
    plain: logging.StreamHandler[TextIO] = logging.StreamHandler(io.StringIO())
    plain.setFormatter(AccessFormatter("%(message)s"))
    logger.handlers = [plain]
    yield plain
    logger.handlers = kept


def test_install_batches_uvicorns_access_handler_once(
    uvicorn_access_handler: logging.StreamHandler[TextIO],
) -> None:
    logger = logging.getLogger("uvicorn.access")
    access_log.install()
    access_log.install()  # create_app runs it for every app: still one handler
    (handler,) = logger.handlers
    assert isinstance(handler, BatchedStreamHandler)
    assert handler.stream is uvicorn_access_handler.stream
    assert handler.formatter is uvicorn_access_handler.formatter

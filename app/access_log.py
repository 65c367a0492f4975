"""Uvicorn's access log, kept private and cheap: no client address and no survey token in a
line, and lines written out in batches rather than one write each.

A write to the log's stream (a pipe, a file, a terminal) is a system call per request: 4% of a
worker's CPU on a one-response API post. Lines are therefore gathered and written together
when about a pipe's atomic write (4 KB) has gathered, and at least every
``FLUSH_SECONDS``, as nginx's ``access_log ... buffer= flush=`` does. Each write holds whole
lines, so two workers sharing a pipe never split one another's lines. What a hard kill (``kill
-9``) can lose is the last second's access lines; the responses themselves are in the
database, and error messages (on ``uvicorn.error``) are not buffered.
"""

import contextlib
import logging
import re
import threading
from typing import TextIO

# At most one pipe buffer's atomic write (PIPE_BUF, 4096 bytes on Linux) per write, less a line.
BATCH_CHARS = 3_500
FLUSH_SECONDS = 1.0


class AccessLogPrivacy(logging.Filter):
    """Uvicorn's access lines without the client's address and with survey tokens masked: the
    survey page promises not to keep citizens' IP addresses, and a logged token would tie an
    address and a time to a counter. Method, path and status stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs '%s - "%s %s HTTP/%s" %d' (HTTP, on uvicorn.access) and
        # '%s - "WebSocket %s" ...' (on uvicorn.error), the client address first.
        if (
            isinstance(record.msg, str)
            and record.msg.startswith('%s - "')
            and isinstance(record.args, tuple)
            and record.args
        ):
            _client, *rest = record.args
            record.args = ("-", *(mask_survey_token(a) if isinstance(a, str) else a for a in rest))
        return True


def mask_survey_token(text: str) -> str:
    return re.sub(r"/s/[^/?#\s]+", "/s/…", text)


class BatchedStreamHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes its lines in batches (see the module's docstring): when
    ``batch_chars`` have gathered, when a record of WARNING or above comes, at ``flush()``
    (logging's shutdown calls it), and every ``interval`` seconds from a daemon thread."""

    def __init__(
        self,
        stream: TextIO,
        *,
        batch_chars: int = BATCH_CHARS,
        interval: float | None = FLUSH_SECONDS,
    ) -> None:
        super().__init__(stream)
        self.batch_chars = batch_chars
        self._pending: list[str] = []
        self._size = 0  # bytes, as the pipe counts them
        self._closed = threading.Event()
        if interval is not None:
            thread = threading.Thread(
                target=self._flush_every, args=(interval,), name="access-log", daemon=True
            )
            thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        # Called by Handler.handle, which holds the handler's lock. A failed write is handled
        # as logging handles any (handleError), never raised into the request that logged.
        try:
            line = self.format(record) + self.terminator
            size = len(line.encode())
            if self._pending and self._size + size > self.batch_chars:
                self._write()  # what is gathered first: no write grows past the batch
            self._pending.append(line)
            self._size += size
            if self._size >= self.batch_chars or record.levelno >= logging.WARNING:
                self._write()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # Handler.createLock made it
            self._write()

    def close(self) -> None:
        self._closed.set()  # the flushing thread ends
        super().close()  # flushes what is gathered

    def _write(self) -> None:
        if self._pending:
            self.stream.write("".join(self._pending))
            self._pending.clear()  # only once written: a failed write keeps them for the next
            self._size = 0
        if self.stream and hasattr(self.stream, "flush"):
            self.stream.flush()

    def _flush_every(self, interval: float) -> None:
        while not self._closed.wait(interval):
            # A broken or closed stream: tried again at the next interval, the lines kept.
            with contextlib.suppress(OSError, ValueError):
                self.flush()


def install() -> None:
    """Put the privacy filter on uvicorn's loggers and batch the access log's writes (its
    plain stream handler, as uvicorn's default logging configures it, is replaced by a
    :class:`BatchedStreamHandler` on the same stream with the same format). Idempotent."""
    for name in ("uvicorn.access", "uvicorn.error"):
        found = logging.getLogger(name)
        if not any(isinstance(f, AccessLogPrivacy) for f in found.filters):
            found.addFilter(AccessLogPrivacy())
    access = logging.getLogger("uvicorn.access")
    for handler in list(access.handlers):
        if type(handler) is logging.StreamHandler:  # exactly: not a file handler, not ours
            batched = BatchedStreamHandler(handler.stream)
            batched.setFormatter(handler.formatter)
            batched.setLevel(handler.level)
            for kept in handler.filters:
                batched.addFilter(kept)
            access.removeHandler(handler)
            access.addHandler(batched)


def flush() -> None:
    """Write out the access lines gathered so far (at shutdown)."""
    for handler in logging.getLogger("uvicorn.access").handlers:
        handler.flush()

"""gunicorn's logger with a cheaper access log, as text or as JSON lines.

gunicorn builds each access line from a dict of every request header and
sends it through `logging`, which costs throughput (the template's
docs/benchmarks.md). `AccessLogger` formats only the fields it writes, and
writes the lines to the log's stream itself: a gevent worker gathers the
lines of a loop turn into one write, and no write exceeds PIPE_BUF, the size
a pipe never interleaves, so two workers' lines never mix. `JsonLogger`
(LOG_FORMAT=json) writes the same fields, and gunicorn's error log, as one
JSON object per line; the app factory gives the app's logger a
`JsonFormatter`. Either way a quote or a newline in a header cannot break a
line.

An access line never fails or delays its request: when the output is full (a
non-blocking pipe whose reader stalls) or closed, the line is dropped and
counted, and the count goes to the error log once a line gets through again.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import select
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gunicorn.glogging import Logger

if TYPE_CHECKING:  # the worker has them loaded; the app alone needs none of them
    from gunicorn.config import Config
    from gunicorn.http.message import Request
    from gunicorn.http.wsgi import Response

# A write of at most this many bytes to a pipe is never interleaved with
# another process's: the workers share the container's output.
PIPE_BUF = select.PIPE_BUF
# What a client sends and the log repeats, and the mark of a cut one.
CLIENT_FIELDS = ("path", "referer", "user_agent")
CUT = "...(cut)"
# The WSGI environ key under which the app leaves each request's id for the access log.
REQUEST_ID = "service.request_id"
{%- if cookiecutter.tracing == "opentelemetry" %}
# And where tracing.py leaves the ids of the request's span, when tracing is on.
TRACE_IDS = "service.trace_ids"
{%- endif %}
# Text lines quote header values: escape what would end the quote or the line. WSGI hands
# on bytes past ASCII as latin-1 characters, C1 controls among them: each is written as its byte.
NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f-\xff"\\]')
ESCAPES = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0x100)]} | {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}
# The text line's fields that are quoted or may carry a client's bytes, in its order.
QUOTED = ("method", "path", "protocol", "referer", "user_agent", "request_id")
# An access line's fields by name: strings, numbers or None, as the environ gave them.
Fields = dict[str, Any]


def fit_to_pipe(fields: Fields, format_line: Callable[[Fields], str]) -> str:
    """The access line, its longest client-given fields halved until the line
    and its newline fit in PIPE_BUF: a longer write to a pipe can be cut by
    another worker's line (gunicorn admits 8 KiB headers)."""
    line = format_line(fields)
    # UTF-8 takes 4 bytes a character at most: most lines need no encoding here.
    while len(line) >= PIPE_BUF // 4 and len(line.encode()) >= PIPE_BUF:
        name = max(CLIENT_FIELDS, key=lambda field: len(fields[field] or ""))
        value = fields[name] or ""
        if len(value) <= 2 * len(CUT):
            break  # halving no longer shortens: only bounded fields remain
        fields = {**fields, name: value[: len(value) // 2] + CUT}
        line = format_line(fields)
    return line


def after_ready_greenlets(callback: Callable[[], None]) -> bool:
    """Runs `callback` once the greenlets ready now have run, when this process
    is a gevent worker; False in any other worker."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("socket"):
        return False
    sys.modules["gevent"].get_hub().loop.run_callback(callback)
    return True


def whole_lines(lines: list[str], size: int) -> Iterator[bytes]:
    """The lines, newline-ended, in chunks of at most `size` bytes that split
    no line (a line longer than `size` is a chunk of its own)."""
    chunk = b""
    for line in lines:
        data = line.encode() + b"\n"
        if chunk and len(chunk) + len(data) > size:
            yield chunk
            chunk = b""
        chunk += data
    if chunk:
        yield chunk


def write_all(fd: int, data: bytes) -> None:
    left = memoryview(data)
    while left:
        left = left[os.write(fd, left) :]


def stream_fd(handler: logging.Handler) -> int | None:
    """The file descriptor a handler writes to, or None when it has none."""
    if not isinstance(handler, logging.StreamHandler):
        return None
    try:
        fd: int = handler.stream.fileno()
    except (OSError, ValueError):  # a StringIO, a closed file: `logging` writes those
        return None
    return fd


def iso_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def request_fields(resp: Response, environ: dict[str, Any], request_time: timedelta) -> Fields:
    # gunicorn's error responses set only `status`, "400 Bad Request".
    code = str(resp.status).split(None, 1)[0]
    return {
        "remote_addr": environ.get("REMOTE_ADDR"),
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("RAW_URI"),
        "protocol": environ.get("SERVER_PROTOCOL"),
        "status": int(code) if code.isdigit() else code,
        "bytes": resp.sent,
        "duration_ms": round(request_time.total_seconds() * 1000, 3),
        "referer": environ.get("HTTP_REFERER"),
        "user_agent": environ.get("HTTP_USER_AGENT"),
        "request_id": environ.get(REQUEST_ID),
{%- if cookiecutter.tracing == "opentelemetry" %}
        **environ.get(TRACE_IDS, {}),  # JSON lines only: the text line keeps its fields
{%- endif %}
    }


class AccessLogger(Logger):
    """Access lines in Apache's combined format, which log tools read, then the
    request's duration in milliseconds and its id."""

    def __init__(self, cfg: Config) -> None:
        if cfg.access_log_format != cfg.settings["access_log_format"].default:
            # gunicorn answers a RuntimeError at start with this one line.
            raise RuntimeError(
                "access_log_format is not used: this service writes its own access line "
                "(logs.py); unset it, or change AccessLogger.access_line"
            )
        self.dropped = 0
        # A second and its time stamp, set together for threads.
        self.clock: tuple[int | None, str] = (None, "")
        self.pending: list[str] = []
        atexit.register(self.flush)  # the lines of a last loop turn, as the worker exits
        super().__init__(cfg)

    def access(
        self, resp: Response, req: Request, environ: dict[str, Any], request_time: timedelta
    ) -> None:
        if not self.access_log_enabled:
            return
        line = fit_to_pipe(request_fields(resp, environ, request_time), self.access_line)
        # A gevent worker writes a loop turn's lines in one system call; threads (gthread)
        # write their own at once, so no line waits on a list that threads share.
        if self.pending or after_ready_greenlets(self.flush):
            self.pending.append(line)
        else:
            self.write([line])

    def flush(self) -> None:
        lines, self.pending = self.pending, []
        self.write(lines)

    def write(self, lines: list[str]) -> None:
        for handler in self.access_log.handlers:
            fd = stream_fd(handler)
            if fd is not None:
                for chunk in whole_lines(lines, PIPE_BUF):
                    self.send(fd, chunk)
            else:  # syslog and the like get a record per line
                for line in lines:
                    record = {"name": "gunicorn.access", "msg": line}
                    handler.handle(logging.makeLogRecord(record))

    def send(self, fd: int, chunk: bytes) -> None:
        try:
            write_all(fd, chunk)
        except OSError:  # BlockingIOError, BrokenPipeError: never into the request
            self.dropped += chunk.count(b"\n")
            return
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            self.error("%d access log lines dropped: the log's output was full or closed", dropped)

    def access_line(self, fields: Fields) -> str:
        now, (second, stamp) = int(time.time()), self.clock
        if now != second:  # one strftime a second, not one a request
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(now))
            self.clock = (now, stamp)
        quoted = [fields[name] or "-" for name in QUOTED]
        # One search over all of them: a line rarely has anything to escape.
        if NEEDS_ESCAPE.search("".join(quoted)):
            quoted = [value.translate(ESCAPES) for value in quoted]
        method, path, protocol, referer, agent, request_id = quoted
        return (
            f'{fields["remote_addr"] or "-"} - - [{stamp}] "{method} {path} {protocol}" '
            f'{fields["status"]} {fields["bytes"]} "{referer}" "{agent}" '
            f"{fields['duration_ms']} {request_id}"
        )


class JsonLogger(AccessLogger):
    """gunicorn's logs as JSON lines, access and error alike."""

    def setup(self, cfg: Config) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access_line(self, fields: Fields) -> str:
        entry = {"time": iso_time(time.time()), "level": "INFO", "logger": "gunicorn.access"}
        return json.dumps({**entry, "message": "request", **fields})

"""gunicorn's logger with a cheaper access log, as text or as JSON lines.

gunicorn builds each access line from a dict of every request header and
sends it through `logging`: measured on one CPU, a worker with that logger
served 0.86 times the trivial requests of one with this one (docs/benchmarks.md
in the template). `AccessLogger` formats the few fields it writes and writes
the line to the log's stream itself. `JsonLogger` (LOG_FORMAT=json) writes
the same fields, and gunicorn's error log, as one JSON object per line; the
app factory gives the app's logger a `JsonFormatter`. Either way a quote or a
newline in a header cannot break a line.
"""

import json
import logging
import os
import time
from datetime import UTC, datetime

from gunicorn.glogging import Logger

# The WSGI environ key under which the app leaves each request's id for the access log.
REQUEST_ID = "service.request_id"
# Text lines quote header values: escape what would end the quote or the line.
ESCAPES = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]} | {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}


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


def request_fields(resp, environ: dict, request_time) -> dict:
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
    }


class AccessLogger(Logger):
    """Access lines in Apache's combined format, which log tools read, then the
    request's duration in milliseconds and its id."""

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        line = self.access_line(request_fields(resp, environ, request_time))
        data = (line + "\n").encode()
        for handler in self.access_log.handlers:
            if isinstance(handler, logging.StreamHandler):
                # A pipe takes a line of up to 4 KiB in one write, so workers'
                # lines do not interleave; a longer one may need more writes.
                left = memoryview(data)
                while left:
                    left = left[os.write(handler.stream.fileno(), left) :]
            else:  # syslog and the like get a record
                handler.handle(logging.makeLogRecord({"name": "gunicorn.access", "msg": line}))

    def access_line(self, fields: dict) -> str:
        def quoted(name: str) -> str:
            return (fields[name] or "-").translate(ESCAPES)

        stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z")
        request = " ".join(quoted(name) for name in ("method", "path", "protocol"))
        return (
            f'{fields["remote_addr"] or "-"} - - [{stamp}] "{request}" {fields["status"]} '
            f'{fields["bytes"]} "{quoted("referer")}" "{quoted("user_agent")}" '
            f"{fields['duration_ms']} {quoted('request_id')}"
        )


class JsonLogger(AccessLogger):
    """gunicorn's logs as JSON lines, access and error alike."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access_line(self, fields: dict) -> str:
        entry = {"time": iso_time(time.time()), "level": "INFO", "logger": "gunicorn.access"}
        return json.dumps({**entry, "message": "request", **fields})

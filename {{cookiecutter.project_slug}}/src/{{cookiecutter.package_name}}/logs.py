"""Logs as one JSON object per line (LOG_FORMAT=json).

gunicorn's access and error logs and the app's own share one shape; every
value goes through the JSON encoder, so a quote or a newline in a header
cannot break a line. gunicorn.conf.py selects `JsonLogger`; the app
factory gives its logger a `JsonFormatter`.
"""

import json
import logging
from datetime import UTC, datetime

from gunicorn.glogging import Logger


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class JsonLogger(Logger):
    """gunicorn's logger, writing JSON lines."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        headers = {name.lower(): value for name, value in resp.headers}
        fields = {
            "remote_addr": environ.get("REMOTE_ADDR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("RAW_URI"),
            "protocol": environ.get("SERVER_PROTOCOL"),
            "status": int(str(resp.status).split()[0]),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "request_id": headers.get("x-request-id"),
        }
        self.access_log.info("request", extra={"fields": fields})

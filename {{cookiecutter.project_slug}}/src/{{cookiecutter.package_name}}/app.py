"""The Flask application factory."""

import logging
import re
import sys
import uuid
from collections.abc import Callable

from flask import Blueprint, Flask, abort, current_app, g, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

from . import __version__
from .logs import REQUEST_ID, JsonFormatter
from .settings import Settings

# A caller's request id is kept when it looks like one (a UUID, a trace id);
# anything else, or none, gets a fresh one, so a header cannot forge log lines.
WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

# A readiness check returns nothing when its dependency is usable and raises
# when it is not; /readyz answers 503 until every check passes.
ReadinessCheck = Callable[[], None]

routes = Blueprint("service", __name__)


@routes.get("/")
def index():
    return {"service": current_app.config["SERVICE_NAME"], "version": __version__}


@routes.get("/healthz")
def healthz():
    """Liveness: the process answers requests."""
    return {"status": "ok"}


@routes.get("/readyz")
def readyz():
    """Readiness: every registered dependency check passes."""
    failed = []
    for check in current_app.extensions["readiness_checks"]:
        try:
            check()
        except Exception as exc:
            current_app.logger.warning("readiness check %s failed: %s", check.__name__, exc)
            failed.append(check.__name__)
    if failed:
        return {"status": "unavailable", "failed": failed}, 503
    return {"status": "ready"}


def require_host() -> None:
    """HTTP/1.1 requests must name their host (RFC 9112, 3.2); gunicorn lets them through."""
    if request.environ.get("SERVER_PROTOCOL") == "HTTP/1.1" and not request.environ.get(
        "HTTP_HOST"
    ):
        abort(400, "HTTP/1.1 requests need a Host header")


def assign_request_id() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if WELL_FORMED_ID.match(given) else uuid.uuid4().hex
    request.environ[REQUEST_ID] = g.request_id  # for gunicorn's access log


def echo_request_id(response):
    response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
    return response


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to the app's JSON log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.fields = {**getattr(record, "fields", {}), "request_id": g.request_id}
        return True


def use_json_logs(logger: logging.Logger) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger.handlers[:] = [handler]


def json_error(error: HTTPException):
    """Every HTTP error, unhandled exceptions (500) included, as a JSON body."""
    body = {"error": error.name, "status": error.code, "message": error.description}
    return jsonify(body), error.code


def create_app(
    settings: Settings | None = None, readiness_checks: list[ReadinessCheck] | None = None
) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SERVICE_NAME=settings.service_name, MAX_CONTENT_LENGTH=settings.max_content_length
    )
    app.logger.setLevel(settings.log_level)
    if settings.log_format == "json":
        use_json_logs(app.logger)
    app.before_request(assign_request_id)
    app.before_request(require_host)
    app.after_request(echo_request_id)
    app.extensions["readiness_checks"] = list(readiness_checks or [])
    app.register_blueprint(routes)
    app.register_error_handler(HTTPException, json_error)
    return app

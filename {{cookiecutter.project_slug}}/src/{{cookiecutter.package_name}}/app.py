"""The Flask application factory."""

import logging
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from flask import Blueprint, Flask, abort, current_app, has_request_context, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

{% if cookiecutter.tracing == "opentelemetry" -%}
from . import __version__{% if cookiecutter.metrics == "prometheus" %}, metrics{% endif %}, tracing
from .logs import REQUEST_ID, TRACE_IDS, JsonFormatter
{%- else -%}
from . import __version__{% if cookiecutter.metrics == "prometheus" %}, metrics{% endif %}
from .logs import REQUEST_ID, JsonFormatter
{%- endif %}
from .settings import Settings

if TYPE_CHECKING:
    from _typeshed import OptExcInfo

# A caller's request id is kept when it looks like one (a UUID, a trace id);
# anything else, or none, gets a fresh one, so a header cannot forge log lines.
WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

# A readiness check returns nothing when its dependency is usable and raises
# when it is not; /readyz answers 503 until every check passes.
ReadinessCheck = Callable[[], None]

routes = Blueprint("service", __name__)


@routes.get("/")
def index() -> dict[str, str]:
    return {"service": current_app.config["SERVICE_NAME"], "version": __version__}


@routes.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers requests."""
    return {"status": "ok"}


@routes.get("/readyz")
def readyz() -> ResponseReturnValue:
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
    environ = request.environ  # one lookup through the request proxy
    if environ.get("SERVER_PROTOCOL") == "HTTP/1.1" and not environ.get("HTTP_HOST"):
        abort(400, "HTTP/1.1 requests need a Host header")


def with_request_ids(wsgi_app: WSGIApplication) -> WSGIApplication:
    """`wsgi_app` giving each request an id: the caller's X-Request-ID when well
    formed, else a fresh one, left in the environ under REQUEST_ID (for the access
    log and `request_id()`) and echoed on every response, errors included.

    A WSGI wrapper rather than Flask hooks: it costs a fraction of their
    per-request dispatch, and covers responses the hooks never see."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if WELL_FORMED_ID.match(given) else os.urandom(16).hex()
        environ[REQUEST_ID] = request_id

        def start_with_id(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: "OptExcInfo | None" = None,
        ) -> Callable[[bytes], object]:
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start_with_id)

    return app


def request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return request.environ.get(REQUEST_ID) if has_request_context() else None


class RequestIdFilter(logging.Filter):
{%- if cookiecutter.tracing == "opentelemetry" %}
    """Adds the current request's id, and its span's, to the app's JSON log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (current := request_id()) is not None:
            ids = {"request_id": current, **request.environ.get(TRACE_IDS, {})}
            record.fields = {**getattr(record, "fields", {}), **ids}
        return True
{%- else %}
    """Adds the current request's id to the app's JSON log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (current := request_id()) is not None:
            record.fields = {**getattr(record, "fields", {}), "request_id": current}
        return True
{%- endif %}


def use_json_logs(logger: logging.Logger) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger.handlers[:] = [handler]


def json_error(error: HTTPException) -> ResponseReturnValue:
    """Every HTTP error, unhandled exceptions (500) included, as a JSON body."""
    # Never None here: Flask answers an HTTPException without a code before its handlers.
    code = error.code or 500
    body = {"error": error.name, "status": code, "message": error.description}
    return jsonify(body), code


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
    # Flask's way to wrap its app in WSGI middleware, which mypy sees as replacing a method.
    app.wsgi_app = with_request_ids(app.wsgi_app)  # type: ignore[method-assign, assignment]
{%- if cookiecutter.tracing == "opentelemetry" %}
    tracing.instrument(app)  # first: the other hooks then run inside the request's span
{%- endif %}
{%- if cookiecutter.metrics == "prometheus" %}
    if settings.metrics:
        metrics.init_app(app, settings.metrics_port)
{%- endif %}
    app.before_request(require_host)
    app.extensions["readiness_checks"] = list(readiness_checks or [])
    app.register_blueprint(routes)
    app.register_error_handler(HTTPException, json_error)
    return app

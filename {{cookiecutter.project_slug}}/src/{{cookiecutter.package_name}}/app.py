"""The Flask application factory."""

from collections.abc import Callable

from flask import Blueprint, Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from . import __version__
from .settings import Settings

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
    app.extensions["readiness_checks"] = list(readiness_checks or [])
    app.register_blueprint(routes)
    app.register_error_handler(HTTPException, json_error)
    return app

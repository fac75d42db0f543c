"""OpenTelemetry traces over OTLP/HTTP, on while OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Off, nothing past the API is imported.

Each gunicorn worker starts its own tracer provider (gunicorn.conf.py's
post_worker_init: after the fork, which a batch processor's export thread does
not survive, and after gevent's patching, so under gevent that thread is a
greenlet), and flushes it in worker_exit. The app factory instruments the app:
a request's span continues the caller's W3C `traceparent`, `propagate.inject`
hands it on to the services the request calls, and the span's ids reach the
JSON access line and the app's log lines.
"""

import logging
import os

from flask import Flask, request
from opentelemetry import trace

from . import __version__
from .logs import TRACE_IDS

ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# Probes call these every few seconds: their spans would bury the others.
UNTRACED = "/healthz$,/readyz$"


def configured() -> bool:
    return any(os.environ.get(name) for name in ENDPOINTS)


def start(service_name: str, error_log: logging.Logger) -> None:
    """In a gunicorn worker: export its spans, when an endpoint is set."""
    if not configured():
        return
    # The SDK's own warnings (a collector that does not answer) in the error log's format.
    logging.getLogger("opentelemetry").handlers[:] = error_log.handlers
    # Imported only when on: the SDK, the exporter and protobuf cost every worker memory.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": service_name, "service.version": __version__})
    # stop() flushes it from gunicorn's worker_exit; the SDK's own flush at exit stays off.
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    # The exporter reads the OTEL_EXPORTER_OTLP_* variables: endpoint, headers, timeout.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def stop() -> None:
    """As the worker exits: send what is queued, then close the exporter."""
    provider = trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()


def instrument(app: Flask) -> None:
    """A span for each request (none for the probes), when tracing is on."""
    if not configured():
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    excluded = os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS", UNTRACED)
    FlaskInstrumentor.instrument_app(app, excluded_urls=excluded)
    app.before_request(keep_trace_ids)  # after the instrumentation's: its span is current


def keep_trace_ids() -> None:
    """The request span's ids in the environ, for the access line after the response."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        request.environ[TRACE_IDS] = {
            "trace_id": trace.format_trace_id(context.trace_id),
            "span_id": trace.format_span_id(context.span_id),
        }

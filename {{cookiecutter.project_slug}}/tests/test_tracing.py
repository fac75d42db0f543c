"""Traces from a real gunicorn to a real OTLP/HTTP receiver on loopback."""

import concurrent.futures
import contextlib
import gzip
import http.server
import json
import os
import runpy
import threading
import time

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from test_gunicorn import CONF, free_port, get, gunicorn, load_conf

# Every worker class this project can run.
WORKERS = list(runpy.run_path(str(CONF))["WORKER_CLASSES"])
# The app with one route more: it logs, and calls the receiver with its trace context.
CALLING_APP = """
import os
import urllib.request

from opentelemetry import propagate, trace

from {{ cookiecutter.package_name }}.app import create_app

app = create_app()


@app.get("/call")
def call():
    app.logger.warning("calling")
    headers = {}
    propagate.inject(headers)
    outgoing = urllib.request.Request(os.environ["CALLED_URL"], headers=headers)
    urllib.request.urlopen(outgoing, timeout=5).close()
    return {"provider": type(trace.get_tracer_provider()).__name__}
"""


@contextlib.contextmanager
def receiver():
    """An OTLP/HTTP endpoint on loopback: yields its URL, the spans it was sent
    and the headers of the app's calls (GET, answered after a pause so that
    requests overlap)."""
    received = {"spans": [], "calls": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            for batch in ExportTraceServiceRequest.FromString(body).resource_spans:
                resource = {a.key: a.value.string_value for a in batch.resource.attributes}
                for scope in batch.scope_spans:
                    received["spans"] += [(resource, span) for span in scope.spans]
            self.reply(ExportTraceServiceResponse().SerializeToString(), self.path == "/v1/traces")

        def do_GET(self) -> None:
            received["calls"].append({k.lower(): v for k, v in self.headers.items()})
            time.sleep(0.2)
            self.reply(b"{}", True)

        def reply(self, body: bytes, found: bool) -> None:
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def json_lines(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


@pytest.fixture
def calling_app(tmp_path):
    (tmp_path / "calling_app.py").write_text(CALLING_APP)
    return {"PYTHONPATH": str(tmp_path), "LOG_FORMAT": "json", "WEB_CONCURRENCY": "1"}


def test_a_collector_that_does_not_answer_fails_no_request():
    """The request is served, the exporter's errors reach the error log as JSON
    lines, and gunicorn still stops cleanly."""
    closed = f"http://127.0.0.1:{free_port()}"
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": closed, "OTEL_EXPORTER_OTLP_TIMEOUT": "1"}
    with gunicorn(LOG_FORMAT="json", WEB_CONCURRENCY="1", **environ) as server:
        status, _ = get(f"http://127.0.0.1:{server['port']}/")
    assert status == 200
    lines = server["log"].splitlines()
    assert len(json_lines(server["log"])) == len(lines)
    failed = [line for line in json_lines(server["log"]) if line["level"] == "ERROR"]
    assert [line["logger"].split(".")[0] for line in failed] == ["opentelemetry"]


@pytest.mark.parametrize("worker", WORKERS)
def test_request_spans_reach_the_collector(calling_app, worker):
    """Requests with their callers' `traceparent`, served at once: each span
    continues its caller's trace, and its ids reach the call it makes and the
    log lines of its request, in any worker class."""
    callers = {os.urandom(16).hex(): os.urandom(8).hex() for _ in range(4)}
    with receiver() as (url, received):
        environ = {**calling_app, "GUNICORN_WORKER_CLASS": worker, "CALLED_URL": f"{url}/called"}
        # A batch is due only every minute: what arrives was sent as the worker exited.
        environ |= {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_BSP_SCHEDULE_DELAY": "60000"}
        with gunicorn(args=("calling_app:app",), **environ) as server:
            call = f"http://127.0.0.1:{server['port']}/call"
            with concurrent.futures.ThreadPoolExecutor(len(callers)) as pool:
                headers = [{"traceparent": f"00-{t}-{p}-01"} for t, p in callers.items()]
                answers = list(pool.map(lambda h: get(call, **h), headers))
            assert received["spans"] == []
    assert answers == [(200, b'{"provider":"TracerProvider"}\n')] * len(callers)
    # One span a request; the probes gunicorn() waited on are not traced.
    spans = {span.trace_id.hex(): (resource, span) for resource, span in received["spans"]}
    assert len(spans) == len(received["spans"]) == len(callers)
    ids = set()
    for trace_id, parent_id in callers.items():
        resource, span = spans[trace_id]
        assert (span.name, span.kind) == ("GET /call", span.SPAN_KIND_SERVER)
        assert span.parent_span_id.hex() == parent_id
        assert resource["service.name"] == "{{ cookiecutter.project_slug }}"
        ids.add((trace_id, span.span_id.hex()))
    # Each call carried its request's trace, with the request's span as the parent.
    sent = {tuple(call["traceparent"].split("-")[1:3]) for call in received["calls"]}
    assert sent == ids
    lines = json_lines(server["log"])
    access = {(line["trace_id"], line["span_id"]) for line in lines if line.get("path") == "/call"}
    logged = {(line["trace_id"], line["span_id"]) for line in lines if line["message"] == "calling"}
    assert access == logged == ids
    assert "Traceback" not in server["log"] and '"ERROR"' not in server["log"]


def test_without_an_endpoint_nothing_is_traced(calling_app):
    with receiver() as (url, received):
        environ = {**calling_app, "CALLED_URL": f"{url}/called"}
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            environ[name] = ""
        traceparent = f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"
        with gunicorn(args=("calling_app:app",), **environ) as server:
            status, body = get(f"http://127.0.0.1:{server['port']}/call", traceparent=traceparent)
    # No provider installed: the API's stand-in, whose spans record nothing.
    assert (status, json.loads(body)) == (200, {"provider": "ProxyTracerProvider"})
    [call] = received["calls"]
    assert "traceparent" not in call
    [access] = [line for line in json_lines(server["log"]) if line.get("path") == "/call"]
    assert "trace_id" not in access and access["request_id"]
    assert received["spans"] == []


@pytest.mark.parametrize(
    "name", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
# The last three look like URLs, but the exporter could not parse them at any export.
@pytest.mark.parametrize(
    "value", ["collector:4318", "http://[::1", "http://:4318", "http://collector:99999"]
)
def test_an_endpoint_that_is_no_url_stops_the_master(monkeypatch, name, value):
    with pytest.raises(SystemExit) as stopped:
        load_conf(monkeypatch, **{name: value})
    assert str(stopped.value) == f"{name}={value!r}: expected an http:// or https:// URL"

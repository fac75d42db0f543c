"""Prometheus metrics: requests counted by route, method and status, and timed.

Under gunicorn, gunicorn.conf.py gives the workers a directory in /tmp
(PROMETHEUS_MULTIPROC_DIR), where prometheus-client keeps each worker's values
in a file; a scrape adds up every worker's, those of workers that have exited
included, so counts never go back. Without it (the Flask test client), the
values stay in the process.

Labels are bounded, so that no client can create series: a route is its
template (`/items/<int:item>`), never the path asked for, and a method outside
HTTP's own is `other`.
"""

import os
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from flask import Flask, request
from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app, multiprocess
from prometheus_client.exposition import choose_encoder

if TYPE_CHECKING:
    from _typeshed import OptExcInfo

# The route label of a request no route matched: a 404, or a 405 the router answered.
UNMATCHED = "unmatched"
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)


class Metrics:
    """The service's two metrics, and the registry a scrape reads."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        shared = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        if shared:  # every worker's files, read at each scrape
            multiprocess.MultiProcessCollector(self.registry)
        own = None if shared else self.registry
        self.requests = Counter(
            "http_requests",
            "Requests answered by the app, by route template, method and status.",
            ("route", "method", "status"),
            registry=own,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Seconds from a request reaching the app to its response's start.",
            ("route", "method"),
            registry=own,
        )
        # A label set's children, kept: prometheus-client's lookup takes a lock each time.
        self.counters: dict[tuple[str, str, str], Counter] = {}
        self.timers: dict[tuple[str, str], Histogram] = {}

    def observe(self, method: str, status: str, seconds: float) -> None:
        rule = request.url_rule
        route = UNMATCHED if rule is None else rule.rule
        method = method if method in METHODS else "other"
        counter = self.counters.get((route, method, status))
        if counter is None:
            counter = self.counters[route, method, status] = self.requests.labels(
                route, method, status
            )
        counter.inc()
        timer = self.timers.get((route, method))
        if timer is None:
            timer = self.timers[route, method] = self.latency.labels(route, method)
        timer.observe(seconds)

    def scrape(self) -> tuple[bytes, dict[str, str]]:
        """The /metrics view, in the format the scraper's Accept header asks for."""
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return encode(self.registry), {"Content-Type": content_type}


def init_app(app: Flask, port: int | None) -> None:
    """Counts and times every request the app answers, and serves the metrics:
    at /metrics on the app's port, or on `port` alone (METRICS_PORT), where
    every path is the metrics and nothing is counted."""
    metrics = Metrics()
    if port is None:
        app.add_url_rule("/metrics", "metrics", metrics.scrape)
    scrape_port = None if port is None else str(port)
    exposition: WSGIApplication = make_wsgi_app(metrics.registry)
    wsgi_app = app.wsgi_app

    def counted(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # gunicorn's SERVER_PORT is the port it accepted the connection on, not the Host header's.
        if environ["SERVER_PORT"] == scrape_port:
            return exposition(environ, start_response)
        started = time.perf_counter()

        def start_and_count(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: "OptExcInfo | None" = None,
        ) -> Callable[[bytes], object]:
            # Flask starts the response while the request's context, with its rule, is current.
            metrics.observe(environ["REQUEST_METHOD"], status[:3], time.perf_counter() - started)
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start_and_count)

    app.wsgi_app = counted  # type: ignore[method-assign]

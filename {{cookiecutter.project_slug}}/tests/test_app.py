import json
import re

import pytest

from {{ cookiecutter.package_name }} import __version__
from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.settings import Settings


def test_index_names_the_service(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.json == {"service": "{{ cookiecutter.project_slug }}", "version": __version__}


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_without_checks_is_ready(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready"}


def test_readyz_reports_the_failing_check(make_client):
    def database():
        raise ConnectionError("refused")

    def cache():
        return None

    response = make_client(readiness_checks=[cache, database]).get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "failed": ["database"]}


def test_unknown_path_is_a_json_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.is_json
    assert response.json["status"] == 404
    assert response.json["error"] == "Not Found"


def test_wrong_method_is_a_json_405(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json["error"] == "Method Not Allowed"


def test_oversized_body_is_refused(client):
    from flask import request

    @client.application.post("/echo")
    def echo():
        return {"size": len(request.get_data())}

    assert client.post("/echo", data=b"x" * 1024).json == {"size": 1024}
    response = client.post("/echo", data=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json["status"] == 413


def test_unhandled_exception_is_a_json_500(client):
    app = client.application
    app.config["TESTING"] = False  # let the error handler see it instead of pytest

    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail")

    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json["error"] == "Internal Server Error"
    assert "internal detail" not in response.get_data(as_text=True)


def test_request_id_is_kept_when_well_formed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "b7e2c1d0-trace.42"})
    assert response.headers["X-Request-ID"] == "b7e2c1d0-trace.42"


@pytest.mark.parametrize("given", [None, "", 'quote" and space', "x" * 129, "line\\nbreak"])
def test_request_id_is_generated_otherwise(client, given):
    headers = {} if given is None else {"X-Request-ID": given}
    response = client.get("/nowhere", headers=headers)  # errors carry it too
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_json_logs_carry_the_request_id(capsys):
    app = create_app(Settings(log_format="json"))

    @app.get("/note")
    def note():
        app.logger.warning('a "quoted" note')
        return {}

    app.test_client().get("/note", headers={"X-Request-ID": "req-1"})
    (line,) = capsys.readouterr().err.splitlines()
    entry = json.loads(line)
    assert entry["message"] == 'a "quoted" note'
    assert (entry["level"], entry["request_id"]) == ("WARNING", "req-1")


def test_http11_without_host_is_a_json_400(client):
    response = client.get("/", environ_overrides={"HTTP_HOST": ""})
    assert response.status_code == 400
    assert response.json["message"] == "HTTP/1.1 requests need a Host header"
    # HTTP/1.0 has no such rule.
    response = client.get("/", environ_overrides={"HTTP_HOST": "", "SERVER_PROTOCOL": "HTTP/1.0"})
    assert response.status_code == 200

{%- if cookiecutter.metrics == "prometheus" %}


def test_metrics_count_requests_by_route_template(client, metric_samples):
    app = client.application

    @app.get("/items/<int:item>")
    def item(item):
        return {"item": item}

    for number in range(3):
        client.get(f"/items/{number}?page={number}")
    client.get("/nowhere")
    client.open("/", method="BREW")  # a method of no RFC: one label for them all
    response = client.get("/metrics", headers={"X-Request-ID": "scrape-1"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["X-Request-ID"] == "scrape-1"
    # By (method, route, status): the paths asked for appear nowhere.
    assert metric_samples(response.text, "http_requests_total") == {
        ("GET", "/items/<int:item>", "200"): 3,
        ("GET", "unmatched", "404"): 1,
        ("other", "unmatched", "405"): 1,
    }
    timed = metric_samples(response.text, "http_request_duration_seconds_count")
    assert timed[("GET", "/items/<int:item>")] == 3
    client.get("/metrics")
    again = client.get("/metrics").text
    assert metric_samples(again, "http_requests_total")[("GET", "/metrics", "200")] == 2


def test_metrics_answer_errors_in_json(client):
    response = client.post("/metrics")
    assert response.status_code == 405
    assert response.json["error"] == "Method Not Allowed"


def test_metrics_off():
    client = create_app(Settings(metrics=False)).test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_metrics_on_their_own_port(metric_samples):
    """METRICS_PORT: gunicorn listens there too, and every request that arrives
    on it is a scrape, left uncounted; the app's port has no /metrics."""
    client = create_app(Settings(metrics_port=9000)).test_client()
    assert client.get("/metrics").json["status"] == 404
    on_port = {"SERVER_PORT": "9000"}
    scraped = client.get("/anything", environ_overrides=on_port)
    assert scraped.status_code == 200
    counted = metric_samples(scraped.text, "http_requests_total")
    assert counted == {("GET", "unmatched", "404"): 1}
    assert "X-Request-ID" not in scraped.headers  # not the app's: a scrape
{%- else %}


def test_no_metrics(client):
    assert client.get("/metrics").status_code == 404
{%- endif %}

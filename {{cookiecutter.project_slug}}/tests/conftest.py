import pytest

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.settings import Settings


@pytest.fixture
def make_client():
    def make(**kwargs):
        app = create_app(Settings(), **kwargs)
        app.config["TESTING"] = True
        return app.test_client()

    return make


@pytest.fixture
def client(make_client):
    return make_client()

{%- if cookiecutter.metrics == "prometheus" %}


def samples(text: str, name: str) -> dict[tuple[str, ...], float]:
    """A scrape's samples of one metric, by their label values in label-name order."""
    from prometheus_client.parser import text_string_to_metric_families

    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(value for _, value in sorted(sample.labels.items()))] = sample.value
    return found


@pytest.fixture
def metric_samples():
    return samples
{%- endif %}

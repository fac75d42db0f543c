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

import pytest

from {{ cookiecutter.package_name }}.settings import Environment, Settings, SettingsError


def test_defaults():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.log_level, settings.log_format) == ("INFO", "text")


def test_values_from_the_environment():
    settings = Settings.from_env(
        {
            "SERVICE_NAME": "orders",
            "LOG_LEVEL": "debug",
            "LOG_FORMAT": "JSON",
            "MAX_CONTENT_LENGTH": "2048",
        }
    )
    assert settings == Settings(
        service_name="orders", log_level="DEBUG", log_format="json", max_content_length=2048
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud': expected one of DEBUG, INFO, WARNING"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT='xml': expected one of text, json"),
        ({"MAX_CONTENT_LENGTH": "1MB"}, "MAX_CONTENT_LENGTH='1MB': expected a whole number"),
        ({"MAX_CONTENT_LENGTH": "-1"}, "MAX_CONTENT_LENGTH='-1': expected a whole number"),
    ],
)
def test_bad_values_name_the_variable(environ, message):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    (problem,) = raised.value.problems
    assert problem.startswith(message)


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"LOG_LEVEL": "loud", "MAX_CONTENT_LENGTH": "0"})
    assert [line.split("=")[0] for line in raised.value.problems] == [
        "LOG_LEVEL",
        "MAX_CONTENT_LENGTH",
    ]


def test_numbers_keep_to_their_range():
    env = Environment({"PORT": "70000", "WORKERS": "3"})
    assert env.number("PORT", 8000, minimum=1, maximum=65535) == 8000
    assert env.number("WORKERS", 1, minimum=1) == 3
    assert env.problems == ["PORT='70000': expected a whole number from 1 to 65535"]


def test_forwarded_networks_are_checked_as_gunicorn_checks_them():
    # gunicorn refuses a network with host bits set, in a line that names no variable.
    env = Environment({"FORWARDED_ALLOW_IPS": "10.0.0.1/8"})
    assert env.addresses("FORWARDED_ALLOW_IPS", "127.0.0.1") == "127.0.0.1"
    assert env.problems == [
        "FORWARDED_ALLOW_IPS='10.0.0.1/8': expected *, or IP addresses or networks"
    ]

import pytest

from {{ cookiecutter.package_name }}.settings import Settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.log_level == "INFO"


def test_values_from_the_environment():
    settings = Settings.from_env(
        {"SERVICE_NAME": "orders", "LOG_LEVEL": "debug", "MAX_CONTENT_LENGTH": "2048"}
    )
    assert settings == Settings(service_name="orders", log_level="DEBUG", max_content_length=2048)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='LOUD': expected one of"),
        ({"MAX_CONTENT_LENGTH": "1MB"}, "MAX_CONTENT_LENGTH='1MB': expected a whole number"),
        ({"MAX_CONTENT_LENGTH": "0"}, "MAX_CONTENT_LENGTH='0': expected a number above 0"),
    ],
)
def test_bad_values_name_the_variable(environ, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(environ)

"""Settings read from environment variables, validated once at start-up."""

import os
from collections.abc import Mapping
from dataclasses import dataclass

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Settings:
    service_name: str = "{{ cookiecutter.project_slug }}"
    log_level: str = "INFO"
    # Flask rejects larger request bodies with 413 before the view reads them.
    max_content_length: int = 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        defaults = cls()
        log_level = environ.get("LOG_LEVEL", defaults.log_level).upper()
        if log_level not in LOG_LEVELS:
            raise ValueError(f"LOG_LEVEL={log_level!r}: expected one of {', '.join(LOG_LEVELS)}")
        return cls(
            service_name=environ.get("SERVICE_NAME", defaults.service_name),
            log_level=log_level,
            max_content_length=_positive_int(
                environ, "MAX_CONTENT_LENGTH", defaults.max_content_length
            ),
        )


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a whole number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: expected a number above 0")
    return value

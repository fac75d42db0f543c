"""Settings read from environment variables, validated once at start-up.

gunicorn.conf.py reads its own variables and these with one `Environment`, in
the master before any worker starts, so a bad value stops the container at
once with one line per problem: `NAME=value: what is allowed`.
"""

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
# A service name as label values and host names allow it.
NAME = r"[a-z0-9._-]{1,63}"


class SettingsError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class Environment:
    """Reads variables, recording every problem rather than stopping at the first."""

    def __init__(self, environ: Mapping[str, str] = os.environ):
        self.environ = environ
        self.problems: list[str] = []

    def matching(self, name: str, default: str, pattern: str, allowed: str) -> str:
        raw = self.environ.get(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(pattern, raw):
            self.problems.append(f"{name}={raw!r}: expected {allowed}")
            return default
        return raw

    def addresses(self, name: str, default: str) -> str:
        """`*`, or comma-separated IP addresses and networks."""
        raw = self.environ.get(name) or default
        if raw.strip() == "*":
            return "*"
        try:
            for item in raw.split(","):
                # Strict, as gunicorn reads it: a network with host bits set is a mistake.
                ipaddress.ip_network(item.strip())
        except ValueError:
            self.problems.append(f"{name}={raw!r}: expected *, or IP addresses or networks")
            return default
        return raw

    def number(self, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = self.environ.get(name)
        if raw is None or raw == "":
            return default
        allowed = f"a whole number from {minimum}" + (f" to {maximum}" if maximum else " up")
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            self.problems.append(f"{name}={raw!r}: expected {allowed}")
            return default
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self.environ.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() not in (choice.lower() for choice in choices):
            self.problems.append(f"{name}={raw!r}: expected one of {', '.join(choices)}")
            return default
        return next(choice for choice in choices if choice.lower() == raw.lower())

    def check(self) -> None:
        if self.problems:
            raise SettingsError(self.problems)


@dataclass(frozen=True)
class Settings:
    service_name: str = "{{ cookiecutter.project_slug }}"
    log_level: str = "INFO"
    log_format: str = "text"
    # Flask rejects larger request bodies with 413 before the view reads them.
    max_content_length: int = 1024 * 1024
{%- if cookiecutter.metrics == "prometheus" %}
    metrics: bool = True
    # Where /metrics is served: None for the app's own port, else this port alone.
    metrics_port: int | None = None
{%- endif %}

    @classmethod
    def read(cls, env: Environment) -> "Settings":
        """The settings `env` holds; its problems are recorded there."""
        defaults = cls()
        return cls(
            service_name=env.matching(
                "SERVICE_NAME", defaults.service_name, NAME, "1 to 63 of a-z 0-9 . _ -"
            ),
            log_level=env.choice("LOG_LEVEL", defaults.log_level, LOG_LEVELS),
            log_format=env.choice("LOG_FORMAT", defaults.log_format, LOG_FORMATS),
            max_content_length=env.number("MAX_CONTENT_LENGTH", defaults.max_content_length, 1),
{%- if cookiecutter.metrics == "prometheus" %}
            metrics=env.choice("METRICS", "on", ("on", "off")) == "on",
            # Unset: 0, which no port is, so None.
            metrics_port=env.number("METRICS_PORT", 0, minimum=1, maximum=65535) or None,
{%- endif %}
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        env = Environment(environ)
        settings = cls.read(env)
        env.check()
        return settings

"""How the tests and the benchmarks run a generated project's tools: as a user would."""

import os

# nox points these at its own session's venv; a generated project's tools
# (nox, uv, pip, hatch) must choose their own, as they do in a user's shell.
NOX_VARIABLES = ("VIRTUAL_ENV", "UV_PYTHON", "UV_PROJECT_ENVIRONMENT", "NOX_CURRENT_SESSION")


def tool_env() -> dict[str, str]:
    """This process's environment without what the template's own nox session set."""
    return {k: v for k, v in os.environ.items() if k not in NOX_VARIABLES}

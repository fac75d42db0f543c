"""How the tests and the benchmarks run a generated project's tools: as a user would."""

import os
import subprocess
from pathlib import Path

# nox points these at its own session's venv; a generated project's tools
# (nox, uv, pip, hatch) must choose their own, as they do in a user's shell.
NOX_VARIABLES = ("VIRTUAL_ENV", "UV_PYTHON", "UV_PROJECT_ENVIRONMENT", "NOX_CURRENT_SESSION")


def tool_env() -> dict[str, str]:
    """This process's environment without what the template's own nox session set."""
    return {k: v for k, v in os.environ.items() if k not in NOX_VARIABLES}


def run(command: list, cwd: Path, env: dict, **kwargs) -> str:
    """A command that must succeed: its output, stdout then stderr; on failure,
    an assertion showing the end of it."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return output


def wheelhouse(project: Path, arch: str = "x86_64") -> Path:
    """The part of a project's dist/wheelhouse for one architecture (this
    machine's by default): hatch build writes one folder per platform."""
    [folder] = (project / "dist" / "wheelhouse").glob(f"*_{arch}")
    return folder

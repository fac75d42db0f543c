"""How the tests and the benchmarks run a generated project's tools: as a user would."""

import os
import shutil
import subprocess
from pathlib import Path

# nox points these at its own session's venv; a generated project's tools
# (nox, uv, pip, hatch) must choose their own, as they do in a user's shell.
NOX_VARIABLES = ("VIRTUAL_ENV", "UV_PYTHON", "UV_PROJECT_ENVIRONMENT", "NOX_CURRENT_SESSION")
# renovate-config-validator, pinned; Renovate 44 needs Node 24, which npm's
# `node` package brings where the machine's is older.
RENOVATE = ("renovate@44.121.2", "node@24.21.0")


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


def npm_tools(packages: tuple[str, ...]) -> Path:
    """The bin folder of an npm prefix holding `packages`: installed on first use,
    then kept in the user's cache (~/.cache/slipway-tests), as uv keeps the
    Python tools, so later runs start at once."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    prefix = cache / "slipway-tests" / "npm" / "+".join(packages).replace("/", "_")
    done = prefix / "installed"  # written last: a broken install is started again
    if not done.exists():
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        install = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund"]
        run([*install, "--loglevel=error", *packages], prefix, tool_env())
        done.write_text("\n".join(packages) + "\n")
    return prefix / "node_modules" / ".bin"

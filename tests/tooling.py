"""The environment generated projects' tools run in, shared by tests and bench."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_plugin_wheel(out: Path) -> Path:
    """hatch-wheelhouse built from this checkout into `out`."""
    subprocess.run(
        [sys.executable, "-m", "uv", "build", "--wheel", "-q", "-o", str(out)],
        cwd=ROOT / "hatch_plugin",
        check=True,
    )
    return out


def tool_env(plugin_wheels: Path) -> dict[str, str]:
    """Environment for nox, uv, pip and hatch runs on generated projects.

    Their build-system.requires names hatch-wheelhouse: resolve it from this
    checkout. Interpreters are never downloaded (no network for that here).
    """
    env = {
        **os.environ,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_FIND_LINKS": str(plugin_wheels),
        "PIP_FIND_LINKS": str(plugin_wheels),
    }
    # nox points these at its own session venv; the tools must choose their own.
    for name in ("VIRTUAL_ENV", "UV_PYTHON", "UV_PROJECT_ENVIRONMENT", "NOX_CURRENT_SESSION"):
        env.pop(name, None)
    return env

"""Building and running generated projects' images on a real Docker engine."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Debian's docker.io client: the newer one some machines have lacks buildx.
DOCKER = os.environ.get("DOCKER") or (
    "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker") or "docker"
)


def engine_problem() -> str | None:
    """Why no image test can run here, or None when an engine answers."""
    try:
        info = subprocess.run([DOCKER, "info"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no Docker client ({exc}); run .ci/provision"
    if info.returncode != 0:
        return f"no Docker engine answers ({info.stderr.strip()[:200]}); run .ci/provision"
    return None


def require_images(*images: str) -> None:
    missing = [
        i
        for i in images
        if subprocess.run([DOCKER, "image", "inspect", i], capture_output=True).returncode
    ]
    if missing:
        pytest.fail(f"base images missing: {', '.join(missing)}; run .ci/provision")


def docker(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([DOCKER, *args], capture_output=True, text=True, **kwargs)
    if check:
        assert result.returncode == 0, f"docker {' '.join(args[:3])}: {result.stderr[-3000:]}"
    return result


def run(command: list[str], cwd: Path, env: dict) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return output


def nox(project: Path, env: dict, *args: str) -> str:
    return run([sys.executable, "-m", "nox", *args], project, env)


def build(project: Path, env: dict, tag: str) -> str:
    """A plain BuildKit build of the project's current wheelhouse, with its log."""
    result = subprocess.run(
        [DOCKER, "build", "--progress=plain", "--tag", tag, "."],
        cwd=project,
        env={**env, "DOCKER_BUILDKIT": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return result.stderr

"""Building and running generated projects' images on a real Docker engine."""

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
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


def build(project: Path, env: dict, tag: str, *options: str) -> str:
    """A plain BuildKit build of the project's current wheelhouse, with its log."""
    result = subprocess.run(
        [DOCKER, "build", "--progress=plain", *options, "--tag", tag, "."],
        cwd=project,
        env={**env, "DOCKER_BUILDKIT": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return result.stderr


def exported_files(tag: str, prefixes: tuple[str, ...]) -> dict[str, tuple]:
    """Each file of an image's filesystem under `prefixes`, as what a rebuild must
    reproduce: its type, mode, owner and content (sha256) or link target.
    Modification times are left out: engines before BuildKit 0.13 do not clamp them."""
    container = docker("create", tag).stdout.strip()
    try:
        export = subprocess.Popen([DOCKER, "export", container], stdout=subprocess.PIPE)
        files = {}
        with tarfile.open(fileobj=export.stdout, mode="r|") as tar:
            for member in tar:
                if not member.name.startswith(prefixes):
                    continue
                content = tar.extractfile(member).read() if member.isfile() else b""
                files[member.name] = (
                    member.type,
                    member.mode,
                    member.uid,
                    member.gid,
                    hashlib.sha256(content).hexdigest() if member.isfile() else member.linkname,
                )
        assert export.wait() == 0
    finally:
        docker("rm", container)
    return files

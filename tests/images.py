"""Building and running generated projects' images on a real Docker engine."""

import contextlib
import hashlib
import os
import runpy
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from answers import AWKWARD, CONTEXT, RENAMED, ROOT
from tooling import run

# Debian's docker.io client: the newer one some machines have lacks buildx.
DOCKER = os.environ.get("DOCKER") or (
    "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker") or "docker"
)


SLUG_DIR = "{{cookiecutter.project_slug}}"
# The repository the tests tag their images in: another on a machine others build on too.
TEST_IMAGES = os.environ.get("SLIPWAY_TEST_IMAGES", "slipway-test")

# The CPython that cookiecutter.json pins for base=source: the same upstream
# tarball python.org serves (same sha256), from Debian's mirror, which
# containers here reach over plain HTTP.
PINNED_PYTHON = CONTEXT["_source_pythons"]["3.13"]["version"]
SOURCE_URL = (
    f"http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_{PINNED_PYTHON}.orig.tar.xz"
)

# answers, the base image they build on, the size budget in MB (set from the
# sizes measured, see the README's image section), and build arguments. Every
# base on the default minimal runtime; the gthread variant on the slim one.
BASES = {
    "debian-trixie": ({}, "debian:trixie-slim", 66, []),
    # Without metrics: the image check tells a missing /metrics from a broken one.
    "debian-bookworm": (
        {"debian_release": "bookworm", "python_version": "3.11", "metrics": "none"},
        "debian:bookworm-slim",
        66,
        [],
    ),
    "official-trixie": ({"base": "official"}, "python:3.13-slim-trixie", 70, []),
    # A plain build (PGO=0): PGO and LTO take about 14 minutes on 2 cores.
    "source-trixie": (
        {"base": "source"},
        "debian:trixie-slim",
        70,
        ["PGO=0", f"PYTHON_URL={SOURCE_URL}"],
    ),
    # The gthread worker (the other answer that ships no gevent) on the slim
    # runtime. Its distribution and import package are named apart, and its
    # description needs escaping in the Dockerfile's LABEL.
    "debian-trixie-gthread": (
        {
            "worker_class": "gthread",
            "runtime": "slim",
            **RENAMED,
            "description": AWKWARD["description"],
        },
        "debian:trixie-slim",
        150,
        [],
    ),
    # OpenTelemetry's SDK, exporter and protobuf in the venv, each module imported by
    # the image check; test_image.py then traces a request through it.
    "debian-trixie-tracing": ({"tracing": "opentelemetry"}, "debian:trixie-slim", 78, []),
}
# Baked from a git clone of the template, with the cookiecutter CLI, as a user
# does; the others from this folder through pytest-cookies.
FROM_GIT = "debian-trixie"


# The distribution registry .ci/provision runs (Docker speaks plain HTTP to loopback).
REGISTRY = "127.0.0.1:5000"


def registry_problem() -> str | None:
    """Why nothing can be pushed here, or None when the registry answers."""
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5):
            return None
    except OSError as exc:
        return f"no registry answers on {REGISTRY} ({exc}); run .ci/provision"


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


# What the engine adds to every container it creates: not the image's files.
ENGINE_ADDED = {".dockerenv", "dev", "proc", "sys", "etc/hostname", "etc/hosts", "etc/resolv.conf"}


@contextlib.contextmanager
def exported(tag: str) -> Iterator[Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]]:
    """An image's files as tar members, each with the archive to read it from,
    from `docker create` + `docker export`: the image needs no shell."""
    container = docker("create", tag).stdout.strip()
    try:
        export = subprocess.Popen([DOCKER, "export", container], stdout=subprocess.PIPE)
        with tarfile.open(fileobj=export.stdout, mode="r|") as tar:
            yield (
                (member, tar)
                for member in tar
                if member.name.split("/")[0] not in ENGINE_ADDED and member.name not in ENGINE_ADDED
            )
        assert export.wait() == 0
    finally:
        docker("rm", container)


def exported_files(tag: str, prefixes: tuple[str, ...] = ("",)) -> dict[str, tuple]:
    """Each file of an image's filesystem (under `prefixes`), as what a rebuild
    must reproduce: its type, mode, owner and content (sha256) or link target.
    Modification times are left out: engines before BuildKit 0.13 do not clamp
    them."""
    files = {}
    with exported(tag) as members:
        for member, tar in members:
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
    return files


# The generated check_image.py (copied as is, not rendered): how production
# runs the image (the flags it checks images under), and how big an image is.
CHECK_IMAGE = runpy.run_path(str(ROOT / SLUG_DIR / "checks" / "check_image.py"))
CHECK_IMAGE["DOCKER"] = DOCKER
HARDENED = tuple(CHECK_IMAGE["HARDENED"])
exported_size = CHECK_IMAGE["exported_size"]


@dataclass
class Container:
    id: str
    host: str
    port: int
    ready_s: float  # from `docker run` to /healthz answering

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"


def serves(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def container(
    tag: str,
    *options: str,
    command: tuple[str, ...] = (),
    hardened: bool = True,
    timeout: float = 30,
    at: tuple[str, int] | None = None,
) -> Iterator[Container]:
    """The image running and serving /healthz; removed after. Reached on a
    port published on 127.0.0.1, or `at` the loopback address and port it
    binds on the host's network. Hardened as production runs it, unless
    `options` say how instead."""
    publish = [] if at else ["--publish", "127.0.0.1::8000"]
    run_options = ["--detach", *publish, *options, *(HARDENED if hardened else ())]
    started = time.monotonic()
    cid = docker("run", *run_options, tag, *command).stdout.strip()
    try:
        if at:
            host, port = at
        else:
            host = "127.0.0.1"
            port = int(docker("port", cid, "8000/tcp").stdout.splitlines()[0].rsplit(":", 1)[1])
        while not serves(f"http://{host}:{port}/healthz"):
            assert time.monotonic() - started < timeout, docker("logs", cid).stderr[-3000:]
            time.sleep(0.01)
        yield Container(cid, host, port, time.monotonic() - started)
    finally:
        docker("rm", "--force", cid, check=False)

"""Development sessions.

`nox` runs lint and tests; `nox -s lock` pins the dependencies; `nox -s image`
builds the container image and checks it; `nox -s serve` runs it locally.
"""

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nox

PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
PYPROJECT = nox.project.load_toml("pyproject.toml")
SLUG = PYPROJECT["project"]["name"]
WHEELHOUSE = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["wheelhouse"]
IMAGE_PYTHON = WHEELHOUSE["python-version"]
UV = "uv==0.13.9"
HATCH = ["hatch==1.18.2", "hatchling==1.33.0"]
# The Docker CLI to use; BuildKit is required (cache and bind mounts).
DOCKER = os.environ.get("DOCKER", "docker")
# How production should run the image: nothing writable but /tmp, no privileges.
HARDENED = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"]
HARDENED += ["--security-opt", "no-new-privileges"]

nox.needs_version = ">=2025.5.1"  # download_python
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
# Test on every supported Python this machine has (none is downloaded); CI
# pins one per job.
nox.options.error_on_missing_interpreters = False
nox.options.download_python = "never"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite against an installed copy of the service."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Lock the dependencies in pylock.toml (PEP 751, with hashes).

    The lock is universal: one version per package with the wheels for every
    supported Python and platform, so any image target installs from it.
    `-- --upgrade` moves every package to its newest version; `-- --check`
    fails when pylock.toml no longer matches pyproject.toml.
    """
    session.install(UV)  # one uv version, so every developer writes the same lock
    check = "--check" in session.posargs
    lock_pylock(session, check, [arg for arg in session.posargs if arg != "--check"])


def lock_pylock(session: nox.Session, check: bool, extra: list[str]) -> None:
    lockfile = Path("pylock.toml")
    if check and not lockfile.exists():
        session.error("pylock.toml is missing: run `nox -s lock`")
    command = ["uv", "pip", "compile", "pyproject.toml", "--universal", "--generate-hashes"]
    command += ["--quiet", "--no-header"]
    with tempfile.TemporaryDirectory() as tmp:
        # --check locks a copy (uv keeps the versions it finds there) and compares.
        out = Path(tmp, "pylock.toml") if check else lockfile
        if check:
            shutil.copyfile(lockfile, out)
        session.run(*command, "--output-file", str(out), *extra)
        if check and out.read_text() != lockfile.read_text():
            session.error("pylock.toml is stale: run `nox -s lock` and commit the result")


def image_options(session: nox.Session) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"nox -s {session.name} --")
    parser.add_argument(
        "--tag", help=f"image name (default {SLUG}:dev, or {SLUG}:dev-stage for --target dev)"
    )
    parser.add_argument(
        "--target", choices=["runtime", "dev"], default="runtime", help="Dockerfile stage"
    )
{%- if cookiecutter.base == "official" %}
    parser.add_argument("--python", default=IMAGE_PYTHON, help="Python version in the image")
{%- endif %}
    parser.add_argument(
        "--build-arg", action="append", default=[], metavar="NAME=VALUE", help="for docker build"
    )
    parser.add_argument("--port", type=int, default=8000, help="host port for `serve`")
    options = parser.parse_args(session.posargs)
    # Apart by default, so building the dev stage never replaces the image `serve` runs.
    options.tag = options.tag or f"{SLUG}:{'dev' if options.target == 'runtime' else 'dev-stage'}"
    return options


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


@nox.session
def image(session: nox.Session) -> None:
    """Build the image from a fresh wheelhouse, then check it runs as production does."""
    options = image_options(session)
{%- if cookiecutter.base == "official" %}
    python = options.python
{%- else %}
    python = IMAGE_PYTHON  # fixed by the base image
{%- endif %}
    session.install(UV, *HATCH)
    lock_pylock(session, check=True, extra=[])
    # The wheelhouse for the image's Python; the lock covers every supported one.
    # UV_PYTHON is nox's pointer to this session's venv: hatch must pick its own.
    env = {"HATCH_WHEELHOUSE_PYTHON_VERSION": python, "UV_PYTHON": None}
    session.run("hatch", "build", "-t", "wheel", env=env)
    build_args = {  # the OCI labels, and the time BuildKit dates the image by
        "VERSION": PYPROJECT["project"]["version"],
        "REVISION": git("rev-parse", "HEAD"),
        "CREATED": git("log", "-1", "--format=%cI"),  # the commit's time: reproducible
        "SOURCE": git("remote", "get-url", "origin"),
{%- if cookiecutter.base == "official" %}
        "PYTHON_VERSION": python,
{%- endif %}
    }
    if options.target == "dev":
        download_devtools(session, python)
    epoch = git("log", "-1", "--format=%ct")
    if epoch.isdigit():
        # BuildKit 0.11+ dates the image, and 0.13+ can date every layer's files, by this.
        build_args["SOURCE_DATE_EPOCH"] = epoch
    args = [arg for item in build_args.items() for arg in ("--build-arg", "=".join(item))]
    args += [arg for value in options.build_arg for arg in ("--build-arg", value)]
    args += ["--target", options.target, "--tag", options.tag]
    session.run(DOCKER, "build", *args, ".", env={"DOCKER_BUILDKIT": "1"}, external=True)
    if options.target == "dev":
        # The project's tests, inside the image, against the installed service.
        tests = f"{Path('tests').resolve()}:/opt/app/tests:ro"
        session.run(DOCKER, "run", "--rm", "--volume", tests, options.tag, external=True)
    else:
        session.run("python", "scripts/check_image.py", options.tag, env={"DOCKER": DOCKER})


def download_devtools(session: nox.Session, python: str) -> None:
    """Wheels of the test group for the dev stage, fetched here: its build stays offline."""
    devtools = Path("dist/devtools")
    shutil.rmtree(devtools, ignore_errors=True)
    requirements = nox.project.dependency_groups(PYPROJECT, "test")
    session.install("pip")
    target = ["--python-version", python, "--platform", WHEELHOUSE["platforms"][0]]
    download = ["pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(devtools)]
    session.run(*download, *target, *requirements)
    (devtools / "requirements.txt").write_text("\n".join(requirements) + "\n")


@nox.session(venv_backend="none")
def serve(session: nox.Session) -> None:
    """Run the image on localhost, hardened as in production (Ctrl-C stops it)."""
    options = image_options(session)
    publish = ["--publish", f"127.0.0.1:{options.port}:8000"]
    session.run(DOCKER, "run", "--rm", *publish, *HARDENED, options.tag, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")

"""Development sessions: `nox -s tests`, `nox -s lint`, `nox -s lock`."""

import shutil
import tempfile
from pathlib import Path

import nox

PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
PYPROJECT = nox.project.load_toml("pyproject.toml")
WHEELHOUSE = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["wheelhouse"]
# The image's interpreter and platform, as uv names them.
IMAGE_PYTHON = WHEELHOUSE["python-version"]
IMAGE_PLATFORM = "x86_64-" + WHEELHOUSE["platforms"][0].removesuffix("_x86_64")
UV = "uv==0.13.9"

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
# Test on every supported Python this machine has; CI pins one per job.
nox.options.error_on_missing_interpreters = False


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite against an installed copy of the service."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Lock the dependencies for the image in pylock.toml (PEP 751, hashed).

    `-- --upgrade` moves every package to its newest version; `-- --check`
    fails when pylock.toml no longer matches pyproject.toml.
    """
    session.install(UV)  # one uv version, so every developer writes the same lock
    check = "--check" in session.posargs
    extra = [arg for arg in session.posargs if arg != "--check"]
    lockfile = Path("pylock.toml")
    if check and not lockfile.exists():
        session.error("pylock.toml is missing: run `nox -s lock`")
    compile_ = ["uv", "pip", "compile", "pyproject.toml", "--quiet", "--no-header"]
    target = ["--generate-hashes", "--python-version", IMAGE_PYTHON]
    target += ["--python-platform", IMAGE_PLATFORM]
    with tempfile.TemporaryDirectory() as tmp:
        # --check locks a copy (uv keeps the versions it finds there) and compares.
        out = Path(tmp, "pylock.toml") if check else lockfile
        if check:
            shutil.copyfile(lockfile, out)
        session.run(*compile_, *target, "--output-file", str(out), *extra)
        if check and out.read_text() != lockfile.read_text():
            session.error("pylock.toml is stale: run `nox -s lock` and commit the result")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")

"""The template's development sessions: `nox` (lint, plugin, tests) and `nox -s bench`."""

import nox

PYPROJECT = nox.project.load_toml("pyproject.toml")

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "plugin", "tests"]


@nox.session
def tests(session: nox.Session) -> None:
    """Bake, lint and test generated projects; build and run their images."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", *session.posargs)


@nox.session
def reliability(session: nox.Session) -> None:
    """The reliability cases at full length; writes docs/reliability.md.

    CI runs the same tests shorter (10 s soak, 20,000 requests for memory).
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    # name=value: pytest would take a separate value for a path to start from.
    full = ["--soak-seconds=60", "--memory-requests=100000"]
    report = ["--reliability-report=docs/reliability.md"]
    session.run("pytest", "-m", "reliability", *full, *report, *session.posargs)


@nox.session
def plugin(session: nox.Session) -> None:
    """hatch-wheelhouse's own tests, against an editable install of it."""
    session.install("-e", "hatch_plugin", *nox.project.dependency_groups(PYPROJECT, "plugin"))
    session.run("pytest", "hatch_plugin/tests", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Measure generated images against a naive one; writes docs/benchmarks.md.

    Needs a Docker engine, the base images (.ci/provision) and wrk
    (`apt-get install wrk`). `-- --quick` skips the PGO build of CPython and
    shortens the load runs; `-- --serving-only`, `-- --open-loop-only` (needs
    hey: `apt-get install hey`), `-- --profile-only`, `-- --runtime-only` and
    `-- --bytecode-only` rerun one section. Build the
    official stand-in with STANDIN_PGO=1 bash .ci/provision to compare like
    with like.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "test", "bench"))
    # bench/ shares the tests' modules: how images are built, run and read.
    session.run("python", "bench/run.py", *session.posargs, env={"PYTHONPATH": "tests"})


@nox.session(name="cpython_flags")
def cpython_flags(session: nox.Session) -> None:
    """Time CPython builds with different configure options; writes docs/cpython-flags.md."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("python", "bench/flags.py", *session.posargs, env={"PYTHONPATH": "tests"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the template's own code (generated code is linted by the tests)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    # Named paths: ruff would otherwise parse the Jinja in the template's pyproject.toml.
    paths = ["hooks", "tests", "noxfile.py", "hatch_plugin", "bench"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)

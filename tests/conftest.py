"""Fixtures shared by the template's tests (helpers live in modules beside it)."""

import os
import time
from pathlib import Path

import pytest
import reliability_report
import template_repo
import tooling
from images import (
    BASES,
    DOCKER,
    FROM_GIT,
    REGISTRY,
    TEST_IMAGES,
    engine_problem,
    nox,
    registry_problem,
    require_images,
)


def pytest_addoption(parser):
    group = parser.getgroup("reliability", "the reliability cases (tests/test_reliability.py)")
    group.addoption("--soak-seconds", type=float, default=10, help="sustained load (10)")
    group.addoption("--memory-requests", type=int, default=20_000, help="memory case (20000)")
    group.addoption("--reliability-report", type=Path, help="write the figures here (Markdown)")


@pytest.fixture(scope="session")
def soak_seconds(request) -> float:
    return request.config.getoption("--soak-seconds")


@pytest.fixture(scope="session")
def memory_requests(request) -> int:
    return request.config.getoption("--memory-requests")


@pytest.fixture(scope="session")
def report(request):
    """report(case, what was done, what was measured); written at the end if asked."""
    rows = []
    yield lambda *row: rows.append(row)
    path = request.config.getoption("--reliability-report")
    if path and rows:
        path.write_text(
            reliability_report.render(sorted(rows), request.config.invocation_params.args)
        )


@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    return tooling.tool_env()


@pytest.fixture(scope="session")
def template_git(tmp_path_factory) -> Path:
    """This checkout as a git repository, to bake from as `git+file://`."""
    return template_repo.snapshot(tmp_path_factory.mktemp("slipway"))


@pytest.fixture(scope="session")
def docker_env(tool_env):
    problem = engine_problem()
    if problem:
        # CI provisions an engine, so there a missing one is a failure.
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return {**tool_env, "DOCKER": DOCKER}


@pytest.fixture(scope="session")
def registry(docker_env) -> str:
    """The local registry's address, for real pushes and pulls."""
    problem = registry_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return REGISTRY


@pytest.fixture(scope="session")
def build_base(cookies_session, docker_env, template_git, tmp_path_factory):
    """Bake, lock and `nox -s image` one base, once per test session."""
    done = {}

    def bake(name: str, answers: dict) -> Path:
        answers = {"project_name": f"Image {name}", **answers}
        if name != FROM_GIT:
            return cookies_session.bake(extra_context=answers).project_path
        out = tmp_path_factory.mktemp(name)
        pairs = [f"{key}={value}" for key, value in answers.items()]
        return template_repo.bake_project(f"git+{template_git.as_uri()}", out, docker_env, *pairs)

    def build_base(name: str) -> dict:
        if name in done:
            return done[name]
        answers, base_image, budget, build_args = BASES[name]
        require_images(base_image)
        project = bake(name, answers)
        template_repo.git(project, "init", "-q")
        template_repo.commit_all(project, "baked")
        nox(project, docker_env, "-s", "lock")
        tag = f"{TEST_IMAGES}/{name}:latest"
        started = time.monotonic()
        build_args = [arg for value in build_args for arg in ("--build-arg", value)]
        output = nox(project, docker_env, "-s", "image", "--", "--tag", tag, *build_args)
        print(f"\n[{name}] nox -s image: {time.monotonic() - started:.1f} s")
        done[name] = {
            "project": project,
            "output": output,
            "tag": tag,
            "budget": budget,
            "name": name,
        }
        return done[name]

    return build_base


@pytest.fixture(scope="session")
def default_image(build_base):
    return build_base("debian-trixie")

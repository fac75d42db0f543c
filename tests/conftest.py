"""Fixtures shared by the template's tests (helpers live in modules beside it)."""

from pathlib import Path

import pytest
import template_repo
import tooling


@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    return tooling.tool_env()


@pytest.fixture(scope="session")
def template_git(tmp_path_factory) -> Path:
    """This checkout as a git repository, to bake from as `git+file://`."""
    return template_repo.snapshot(tmp_path_factory.mktemp("slipway"))

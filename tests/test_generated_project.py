"""The generated project's own checks, run the way its developers run them."""

import re
import sys
import tomllib

import pytest
import yaml
from answers import AWKWARD, ROOT
from tooling import run

VARIANTS = {
    "default": {},
    "official-bookworm-py3.12-gthread": {
        "base": "official",
        "debian_release": "bookworm",
        "python_version": "3.12",
        "worker_class": "gthread",
        "ci": "none",
        "project_name": "Order Tracker",
    },
    # The description lands in the package's docstring, which mypy reads too; and without
    # metrics, nothing imports prometheus-client.
    "sync-proprietary-awkward-no-metrics": {
        "worker_class": "sync",
        "license": "Proprietary",
        "metrics": "none",
        **AWKWARD,
    },
    # Its tests trace through every worker class to a collector on loopback.
    "tracing": {"tracing": "opentelemetry"},
}
# The GitLab tests job's coverage pattern, read from the template (copied unrendered).
GITLAB_CI = yaml.safe_load((ROOT / "{{cookiecutter.project_slug}}" / ".gitlab-ci.yml").read_text())
COVERAGE = re.compile(GITLAB_CI["tests"]["coverage"].strip("/"), re.M)


@pytest.mark.parametrize("answers", VARIANTS.values(), ids=VARIANTS.keys())
def test_nox_sessions_pass(cookies, tool_env, answers):
    project = cookies.bake(extra_context=answers).project_path
    command = [sys.executable, "-m", "nox", "-s", "tests", "lint", "typecheck"]
    output = run(command, project, tool_env)
    # Missing interpreters are skipped, so make sure the suite really ran somewhere.
    ran = re.findall(r"\* tests-(3\.\d+): success", output)
    assert ran, output[-4000:]
    assert re.search(r"\* lint: success", output)
    assert re.search(r"\* typecheck: success", output)
    assert "Success: no issues found" in output
    # Each run measured coverage and met pyproject.toml's threshold.
    threshold = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["coverage"]
    figures = [float(figure) for figure in COVERAGE.findall(output)]
    assert len(figures) == len(ran), output[-4000:]
    assert min(figures) >= threshold["report"]["fail_under"]
    print(f"tests passed on Python {', '.join(ran)}; coverage {figures}")

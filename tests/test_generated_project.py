"""The generated project's own checks, run the way its developers run them."""

import re
import sys

import pytest
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
    "sync-proprietary-no-metrics": {
        "worker_class": "sync",
        "license": "Proprietary",
        "metrics": "none",
    },
}


@pytest.mark.parametrize("answers", VARIANTS.values(), ids=VARIANTS.keys())
def test_nox_sessions_pass(cookies, tool_env, answers):
    project = cookies.bake(extra_context=answers).project_path
    output = run([sys.executable, "-m", "nox", "-s", "tests", "lint"], project, tool_env)
    # Missing interpreters are skipped, so make sure the suite really ran somewhere.
    ran = re.findall(r"\* tests-(3\.\d+): success", output)
    assert ran, output[-4000:]
    assert re.search(r"\* lint: success", output)
    print(f"tests passed on Python {', '.join(ran)}")

"""Shared helpers for the template's tests."""

import itertools
import json
from pathlib import Path

import pytest
import tooling

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((ROOT / "cookiecutter.json").read_text())


def supported_combinations() -> list[dict]:
    """Every answer set the template accepts for the options that change files.

    Debian's base fixes the Python version per release and the source base has
    a pinned checksum only for some versions; the hooks reject the rest.
    """
    combos = []
    for base, release, python in itertools.product(
        CONTEXT["base"], CONTEXT["debian_release"], CONTEXT["python_version"]
    ):
        if base == "debian" and CONTEXT["_debian_pythons"][release] != python:
            continue
        if base == "source" and python not in CONTEXT["_source_pythons"]:
            continue
        combos.append({"base": base, "debian_release": release, "python_version": python})
    answers = []
    for i, (combo, worker, ci) in enumerate(
        itertools.product(combos, CONTEXT["worker_class"], CONTEXT["ci"])
    ):
        # license changes one file only: rotate it rather than multiply the set.
        license_ = CONTEXT["license"][i % len(CONTEXT["license"])]
        answers.append({**combo, "worker_class": worker, "ci": ci, "license": license_})
    return answers


def combo_id(answers: dict) -> str:
    return "-".join(
        [
            answers["base"],
            answers["debian_release"],
            "py" + answers["python_version"],
            answers["worker_class"],
            "ci-" + answers["ci"],
            answers["license"].lower(),
        ]
    )


@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    return tooling.tool_env()

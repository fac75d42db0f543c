"""The template's questions, its hook scripts, and the answer sets the tests bake."""

import importlib.util
import itertools
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((ROOT / "cookiecutter.json").read_text())


def load_hook(name: str):
    """A hook script as a module (its Jinja line runs only under cookiecutter)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre = load_hook("pre_gen_project")
post = load_hook("post_gen_project")

# A distribution named apart from its import package: the wheel is named after
# the former, which the Dockerfile must know.
RENAMED = {"project_name": "Order Tracker", "package_name": "orders"}

# Quotes, a backslash, a dollar and accents: each format escapes them its own way.
AWKWARD = {
    "project_name": "Café Orders",
    "description": 'The "orders" API costs $5 \\ back\\slash',
    "author_name": 'Renée O"Brien',
}


def supported_combinations() -> list[dict]:
    """Every answer set the template accepts for the options that change files,
    as the pre-generation hook decides, plus one renamed package."""
    private = {k: v for k, v in CONTEXT.items() if k.startswith("_")}
    combos = [
        {"base": base, "debian_release": release, "python_version": python}
        for base, release, python in itertools.product(
            CONTEXT["base"], CONTEXT["debian_release"], CONTEXT["python_version"]
        )
        if pre.check_base(
            {**private, "base": base, "debian_release": release, "python_version": python}
        )
        is None
    ]
    answers = []
    for i, (combo, worker, ci) in enumerate(
        itertools.product(combos, CONTEXT["worker_class"], CONTEXT["ci"])
    ):
        # license, deploy, runtime, tracing and metrics each add or drop files independently
        # of the rest: rotate them rather than multiply the set, out of step with ci's
        # order (ci changes every answer set, the worker every third).
        license_ = CONTEXT["license"][(i + i // 3) % len(CONTEXT["license"])]
        deploy = CONTEXT["deploy"][i // 2 % len(CONTEXT["deploy"])]
        runtime = CONTEXT["runtime"][i // 5 % len(CONTEXT["runtime"])]
        tracing = CONTEXT["tracing"][i // 7 % len(CONTEXT["tracing"])]
        metrics = CONTEXT["metrics"][i // 11 % len(CONTEXT["metrics"])]
        answers.append(
            {
                **combo,
                "worker_class": worker,
                "ci": ci,
                "deploy": deploy,
                "license": license_,
                "runtime": runtime,
                "tracing": tracing,
                "metrics": metrics,
            }
        )
    return [*answers, {**answers[0], **RENAMED}]


def combo_id(answers: dict) -> str:
    parts = [
        answers["base"],
        answers["debian_release"],
        "py" + answers["python_version"],
        answers["worker_class"],
        "ci-" + answers["ci"],
        "deploy-" + answers["deploy"],
        "runtime-" + answers["runtime"],
        "tracing-" + answers["tracing"],
        "metrics-" + answers["metrics"],
        answers["license"].lower(),
    ]
    if "package_name" in answers:
        parts.append("package-" + answers["package_name"])
    return "-".join(parts)

"""A generated project's pipeline files as GitLab and GitHub read them."""

from pathlib import Path

import yaml


def workflow(project: Path, name: str) -> dict:
    return yaml.safe_load((project / ".github/workflows" / f"{name}.yml").read_text())


def gitlab(project: Path) -> dict:
    return yaml.safe_load((project / ".gitlab-ci.yml").read_text())


def resolved(document: dict, name: str) -> dict:
    """A GitLab job with its `extends` applied: hashes merged key by key, the
    job's own values (lists included) replacing its templates'."""
    job = dict(document[name])
    parents = job.pop("extends", [])
    merged: dict = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        merge(merged, resolved(document, parent))
    merge(merged, job)
    return merged


def merge(target: dict, change: dict) -> None:
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = {**target[key]}
            merge(target[key], value)
        else:
            target[key] = value


def gitlab_jobs(document: dict) -> dict[str, dict]:
    """The jobs that run, resolved (hidden ones, named with a dot, are only templates)."""
    return {
        name: resolved(document, name)
        for name, job in document.items()
        if isinstance(job, dict) and name[0] != "." and "script" in resolved(document, name)
    }

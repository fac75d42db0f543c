"""Finish the generated project: prune, pin the build plugin, record the source.

Runs inside the new project directory, under cookiecutter or cruft (which
bakes the old and new template commits to compute an update); needs no network.

The build plugin comes from the template that generated the project, pinned to
that exact commit, so the project builds on a machine whose index has never
heard of hatch-wheelhouse and moves with the template on `cruft update`.
"""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cookiecutter.config import get_user_config
from cookiecutter.repository import expand_abbreviations, is_repo_url, is_zip_file
from cookiecutter.vcs import identify_repo

# Paths that an answer makes unwanted: (question, answer) -> paths to remove,
# formatted with the answers.
FAIR_WORKER = "src/{package_name}/workers.py"  # imports gevent: the gevent answer's only
TRACING = ["src/{package_name}/tracing.py", "tests/test_tracing.py", "docs/tracing.md"]
# A docs/ page goes with what it documents.
UNSELECTED = {
    ("ci", "github"): [".gitlab-ci.yml"],
    ("ci", "gitlab"): [".github"],
    ("ci", "none"): [".github", ".gitlab-ci.yml", "ci", "renovate.json", "docs/pipelines.md"],
    ("deploy", "none"): ["deploy", "docs/kubernetes.md"],
    ("metrics", "none"): ["src/{package_name}/metrics.py"],
    ("license", "Proprietary"): ["LICENSE"],
    ("runtime", "slim"): ["docker/runtime_root.py", "docs/debugging.md"],
    ("tracing", "none"): TRACING,
    ("worker_class", "gthread"): [FAIR_WORKER],
    ("worker_class", "sync"): [FAIR_WORKER],
}
# cookiecutter's own bookkeeping, and what is local to the machine that baked.
LOCAL_KEYS = {"_repo_dir", "_output_dir", "_checkout", "_template", "_commit", "__prompts__"}
# What pyproject.toml holds until the plugin's source is known (the answer
# "template" rendered into the hook's dependencies).
PLUGIN_PLACEHOLDER = 'dependencies = ["template"]'
PLUGIN_DIR = "hatch_plugin"  # the plugin's folder in the template repository


@dataclass(frozen=True)
class Source:
    """Where the template came from: a git URL at a commit, or a local folder."""

    url: str | None = None
    commit: str | None = None
    folder: Path | None = None

    def plugin_requirement(self) -> str:
        if self.url:
            return f"hatch-wheelhouse @ git+{self.url}@{self.commit}#subdirectory={PLUGIN_DIR}"
        return f"hatch-wheelhouse @ {(self.folder / PLUGIN_DIR).resolve().as_uri()}"


def as_url(location: str) -> str:
    """A git location as a URL pip accepts: paths become file: URLs, scp-style gets ssh://."""
    if "://" in location:
        return location
    if Path(location).is_absolute():
        return Path(location).as_uri()
    user_host, _, path = location.partition(":")  # git@github.com:org/repo.git
    return f"ssh://{user_host}/{path}"


def git_url(template: str) -> str | None:
    """The clone URL of a template given as gh:, https://, git+…, or None for a folder or zip."""
    expanded = expand_abbreviations(template, get_user_config()["abbreviations"])
    if is_zip_file(expanded) or not is_repo_url(expanded):
        return None
    repo_type, url = identify_repo(expanded)  # drops a "git+" prefix
    return as_url(url) if repo_type == "git" else None


def head(folder: str) -> str:
    result = subprocess.run(
        ["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def template_source(answers: dict) -> Source:
    # cruft names the commit it bakes; cookiecutter leaves a clone in _repo_dir.
    if answers.get("_commit"):
        return Source(as_url(answers["_template"]), answers["_commit"])
    url = git_url(answers["_template"])
    if url:
        return Source(url, head(answers["_repo_dir"]))
    return Source(folder=template_folder(answers["_repo_dir"]))


def template_folder(repo_dir: str) -> Path:
    """The template's folder, absolute. cookiecutter passes it as typed, relative
    to where it was run, while this hook runs inside the new project."""
    return Path(os.environ.get("PWD", "."), repo_dir).resolve()


def prune(project: Path, answers: dict) -> list[Path]:
    removed = []
    for (question, answer), paths in UNSELECTED.items():
        if answers.get(question) != answer:  # a question newer than the answers: its default
            continue
        for target in (project / rel.format(**answers) for rel in paths):
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            else:
                continue
            removed.append(target)
    return removed


def pin_plugin(project: Path, source: Source) -> str:
    if source.folder and not (source.folder / PLUGIN_DIR).is_dir():
        raise SystemExit(
            f"slipway: hatch_wheelhouse: no {PLUGIN_DIR}/ in {source.folder}; give cookiecutter "
            "the template's absolute path or git URL, or answer with a requirement"
        )
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    if PLUGIN_PLACEHOLDER not in text:
        raise SystemExit(f"slipway: pyproject.toml lacks {PLUGIN_PLACEHOLDER!r}")
    requirement = source.plugin_requirement()
    pinned = f"dependencies = [{json.dumps(requirement)}]"
    if not source.url:
        pinned = f"# A folder on the machine that generated this project.\n{pinned}"
    pyproject.write_text(text.replace(PLUGIN_PLACEHOLDER, pinned), encoding="utf-8")
    return requirement


def recorded_answers(answers: dict) -> dict:
    """The questions' answers, without cookiecutter's bookkeeping (local paths)
    or private values, which the template derives again."""
    return {k: v for k, v in answers.items() if not k.startswith("_")}


def cruft_state(answers: dict, source: Source) -> dict:
    """.cruft.json as cruft itself writes it (its keys, the template's order), so
    that its rewrite after `cruft update` changes only what the update changed."""
    context = {k: v for k, v in answers.items() if k not in LOCAL_KEYS}
    return {
        "template": source.url,
        "commit": source.commit,
        "checkout": answers.get("_checkout"),
        "context": {"cookiecutter": {**context, "_template": source.url, "_commit": source.commit}},
        "directory": None,
    }


def write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, separators=(",", ": "))
    path.write_text(text + "\n", encoding="utf-8")


def main(project: Path, answers: dict) -> int:
    prune(project, answers)
    source = template_source(answers)
    if answers["hatch_wheelhouse"] == "template":
        pin_plugin(project, source)
        if not source.url:
            print(
                f"slipway: hatch-wheelhouse comes from {source.folder / PLUGIN_DIR}, which works "
                "on this machine only; bake from the template's git URL (or git+file://) "
                "to pin a commit anyone can fetch"
            )
    write_json(project / ".cookiecutter.json", recorded_answers(answers))
    if source.url:
        # What `cruft check` and `cruft update` read: where to fetch the
        # template, the commit this project matches, and the answers to bake with.
        write_json(project / ".cruft.json", cruft_state(answers, source))
    return 0


if __name__ == "__main__":
    # jsonify sorts the keys; cruft keeps the template's order, so pass it too.
    context = json.loads(r"""{{ cookiecutter | jsonify }}""")
    order = json.loads(r"""{{ cookiecutter.keys() | list | jsonify }}""")
    sys.exit(main(Path.cwd(), {key: context[key] for key in order}))

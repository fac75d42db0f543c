"""The generated GitHub workflows: valid, hardened, and running only what nox runs here.

No runner can be reached from these machines: the workflows are checked against
GitHub's schemas (check-jsonschema) and zizmor's audits, and every command they
run is a nox session of the generated project, which the image tests run for real.
"""

import contextlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from images import docker, nox

WORKFLOWS = ("ci", "release", "rebuild")
# `uvx "$NOX" -s SESSION [-- ARGS]`: how every workflow step runs the project's tools.
NOX_STEP = re.compile(r'uvx "\$NOX" -s "?([\w.${}-]+)"?(?: -- (.*))?')
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
WRITE_SCOPES = {"contents", "packages", "id-token", "attestations"}


@pytest.fixture(scope="module")
def project(cookies_session):
    return cookies_session.bake().project_path


def workflow(project, name: str) -> dict:
    return yaml.safe_load((project / ".github/workflows" / f"{name}.yml").read_text())


def workflow_text(project, name: str) -> str:
    return (project / ".github/workflows" / f"{name}.yml").read_text()


def steps(document: dict):
    for job_name, job in document["jobs"].items():
        for step in job["steps"]:
            yield job_name, job, step


def test_workflows_match_githubs_schemas(project):
    github = project / ".github"
    files = [str(github / "workflows" / f"{name}.yml") for name in WORKFLOWS]
    for schema, paths in (("github-workflows", files), ("dependabot", [github / "dependabot.yml"])):
        command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", f"vendor.{schema}"]
        result = subprocess.run([*command, *map(str, paths)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing(project):
    """No finding at any severity in zizmor's regular persona, offline."""
    command = [shutil.which("zizmor") or "zizmor", "--offline", "--format", "json", ".github"]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True)
    findings = json.loads(result.stdout)
    assert [(f["ident"], f["determinations"]["severity"]) for f in findings] == []
    assert result.returncode == 0, result.stderr


def test_actions_are_pinned_and_permissions_least(project):
    for name in WORKFLOWS:
        document = workflow(project, name)
        assert document["permissions"] == {}, f"{name}: no permission unless a job asks"
        text = workflow_text(project, name)
        for used in re.findall(r"uses: (.+)", text):
            assert PINNED.match(used), f"{name}: {used} is not pinned to a commit with its version"
        for job_name, job in document["jobs"].items():
            writes = {scope for scope, level in job["permissions"].items() if level == "write"}
            if name == "ci":
                assert writes == set(), f"ci/{job_name} runs on pull requests: read only"
            else:
                assert writes <= WRITE_SCOPES
        if name == "ci":
            assert document["concurrency"]["cancel-in-progress"] is True
            assert "secrets." not in text, "pull requests from forks get no secrets"


def test_every_step_runs_a_session_the_noxfile_has(project, tool_env):
    ran = []
    for name in WORKFLOWS:
        for job_name, job, step in steps(workflow(project, name)):
            run = step.get("run", "")
            assert "docker build" not in run and "hatch build" not in run, (
                f"{name}/{job_name}: build through nox, so CI cannot drift from what is tested"
            )
            for session, args in NOX_STEP.findall(run):
                for python in job.get("strategy", {}).get("matrix", {}).get("python", [None]):
                    resolved = session.replace("${PYTHON}", python) if python else session
                    ran.append((name, resolved, args))
    # nox fails, naming it, if any of them is not a session of the generated noxfile.
    names = sorted({session for _, session, _ in ran})
    listed = json.loads(nox(project, tool_env, "--list", "--json", "--sessions", *names))
    assert sorted(s["session"] for s in listed) == names
    assert ("ci", "image", "--cache-from type=gha --cache-to type=gha,mode=max") in ran
    assert ("ci", "lock", "--check") in ran
    assert ("ci", "lint", "") in ran
    assert any(w == "release" and s == "release" and "--push" in a for w, s, a in ran)
    assert any(w == "rebuild" and s == "release" and "--refresh --push" in a for w, s, a in ran)
    pythons = {s for _, s, _ in ran if s.startswith("tests-")}
    assert pythons == {f"tests-{p}" for p in ("3.11", "3.12", "3.13", "3.14")}


def noxfile_module(project):
    """The generated noxfile as a module (it reads pyproject.toml from the working directory)."""
    spec = importlib.util.spec_from_file_location("generated_noxfile", project / "noxfile.py")
    module = importlib.util.module_from_spec(spec)
    with contextlib.chdir(project):
        spec.loader.exec_module(module)
    return module


@pytest.mark.docker
def test_release_session_builds_what_a_tag_ships(default_image, docker_env):
    """`nox -s release`, as the release workflow runs it, short of the push."""
    project = default_image["project"]
    image = "slipway-test/release"
    wrong = subprocess.run(
        [
            sys.executable,
            "-m",
            "nox",
            "-s",
            "release",
            "--",
            "--image",
            image,
            "--version-tag",
            "v9.9.9",
        ],
        cwd=project,
        env=docker_env,
        capture_output=True,
        text=True,
    )
    assert wrong.returncode != 0
    assert (
        "tag v9.9.9 does not match version 0.1.0 in pyproject.toml" in wrong.stdout + wrong.stderr
    )
    output = nox(
        project, docker_env, "-s", "release", "--", "--image", image, "--version-tag", "v0.1.0"
    )
    assert "FAIL" not in output and "stopped by SIGTERM with exit code 0" in output
    dist = {p.name for p in (project / "dist").iterdir()}
    assert {"wheelhouse", "image_debian_trixie-0.1.0-py3-none-any.whl"} <= dist
    assert "image_debian_trixie-0.1.0.tar.gz" in dist
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True
    ).stdout.strip()
    ids = {
        docker("image", "inspect", "-f", "{{.Id}}", tag).stdout.strip()
        for tag in (f"{image}:0.1.0", f"{image}:sha-{head}")
    }
    assert len(ids) == 1, "both tags name one image"


@pytest.mark.docker
def test_refresh_compares_system_packages(build_base, docker_env):
    """The weekly rebuild pushes only when a Debian package changed: the comparison
    on real images (the same one twice, then trixie against bookworm)."""
    trixie, bookworm = build_base("debian-trixie"), build_base("debian-bookworm")
    session = noxfile_module(trixie["project"])
    session.DOCKER = docker_env["DOCKER"]
    installed = session.packages(trixie["tag"])
    assert "libc6" in installed and re.match(r"\d", installed["libc6"])
    assert session.package_changes(installed, session.packages(trixie["tag"])) == []
    changes = session.package_changes(installed, session.packages(bookworm["tag"]))
    assert any(line.startswith("libc6: ") and " -> " in line for line in changes), changes

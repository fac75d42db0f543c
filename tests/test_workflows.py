"""The generated pipelines (GitHub workflows, .gitlab-ci.yml): valid, hardened,
and running only what nox runs here.

No runner can be reached from these machines: the files are checked against
GitHub's and GitLab's schemas (check-jsonschema) and zizmor's audits, and every
command they run is a nox session of the generated project, which the image
tests run for real. They are copied unrendered, so every bake has these files
(test_bake.py checks it).
"""

import contextlib
import importlib.util
import ipaddress
import json
import re
import shutil
import socket
import subprocess
import sys
import threading

import pytest
import yaml
from images import DOCKER, docker, nox
from pipelines import gitlab_jobs

WORKFLOWS = ("ci", "release", "rebuild", "updates")
# `uvx "$NOX" -s SESSION [-- ARGS]`: how every workflow step runs the project's tools.
NOX_STEP = re.compile(r'uvx "\$NOX" -s "?([\w.${}-]+)"?(?: -- ([^\n]*))?')
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
WRITE_SCOPES = {"contents", "packages", "id-token", "attestations", "pull-requests"}


@pytest.fixture(scope="module")
def project(cookies_session):
    return cookies_session.bake().project_path


@pytest.fixture(scope="module")
def gitlab(cookies_session):
    """A project with ci=gitlab, and its pipeline file."""
    project = cookies_session.bake(extra_context={"ci": "gitlab"}).project_path
    return project, yaml.safe_load((project / ".gitlab-ci.yml").read_text())


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
    assert ("ci", "typecheck", "") in ran and ("ci", "audit", "") in ran
    assert any(w == "release" and s == "release" and "--push" in a for w, s, a in ran)
    assert any(w == "rebuild" and s == "release" and "--refresh --push" in a for w, s, a in ran)
    assert ("updates", "lock", '--upgrade --exclude-newer "7 days"') in ran
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
    # A runner's fetch URL carries a token: the image's source label must not.
    remote = "https://gitlab-ci-token:s3cret@gitlab.example/team/service.git"
    subprocess.run(["git", "remote", "add", "origin", remote], cwd=project, check=True)
    try:
        output = nox(
            project,
            docker_env,
            "-s",
            "release",
            "--",
            "--image",
            image,
            "--version-tag",
            "v0.1.0",
            "--platform",
            "linux/amd64",
        )
    finally:
        subprocess.run(["git", "remote", "remove", "origin"], cwd=project, check=True)
    assert "FAIL" not in output and "stopped by SIGTERM with exit code 0" in output
    dist = {p.name for p in (project / "dist").iterdir()}
    assert {"wheelhouse", "image_debian_trixie-0.1.0-py3-none-any.whl"} <= dist
    assert {"image_debian_trixie-0.1.0.tar.gz", "sbom-linux-amd64.cdx.json"} <= dist
    # Checked here under a local name; only --push publishes X.Y.Z and sha-COMMIT.
    local = f"{image}:0.1.0-amd64"
    label = '{{index .Config.Labels "org.opencontainers.image.source"}}'
    source = docker("image", "inspect", "-f", label, local).stdout.strip()
    assert source == "https://gitlab.example/team/service.git"
    assert docker("image", "inspect", f"{image}:0.1.0", check=False).returncode != 0


@pytest.mark.docker
def test_refresh_compares_system_packages(build_base, docker_env):
    """The weekly rebuild pushes only when a Debian package changed: the comparison
    on real images (the same one twice, then trixie against bookworm)."""
    trixie, bookworm = build_base("debian-trixie"), build_base("debian-bookworm")
    session = noxfile_module(trixie["project"])
    session.DOCKER = docker_env["DOCKER"]
    amd64 = "linux/amd64"
    installed = session.packages(trixie["tag"], amd64)
    assert "libc6" in installed and re.match(r"\d", installed["libc6"])
    assert session.package_changes(installed, session.packages(trixie["tag"], amd64)) == []
    changes = session.package_changes(installed, session.packages(bookworm["tag"], amd64))
    assert any(line.startswith("libc6: ") and " -> " in line for line in changes), changes


def test_gitlab_ci_matches_gitlabs_schema(gitlab):
    project, _ = gitlab
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci"]
    result = subprocess.run([*command, str(project / ".gitlab-ci.yml")], capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert not (project / ".github").exists()


def test_every_gitlab_job_runs_a_session_the_noxfile_has(gitlab, tool_env):
    project, document = gitlab
    jobs = gitlab_jobs(document)
    ran = []
    for name, job in jobs.items():
        matrix = job.get("parallel", {}).get("matrix", [])
        pythons = [python for entry in matrix for python in entry["PYTHON"]]
        for line in job["script"]:
            line = " ".join(line.split())  # a folded block is one command
            assert "docker build" not in line and "hatch build" not in line, name
            for session, args in NOX_STEP.findall(line):
                for python in pythons or [None]:
                    resolved = session.replace("$PYTHON", python) if python else session
                    ran.append((name, resolved, args))
    names = sorted({session for _, session, _ in ran})
    # nox fails, naming it, if any of them is not a session of the generated noxfile.
    listed = json.loads(nox(project, tool_env, "--list", "--json", "--sessions", *names))
    assert sorted(s["session"] for s in listed) == names
    # Every Python the noxfile tests on has its job.
    tests = json.loads(nox(project, tool_env, "--list", "--json", "--sessions", "tests"))
    assert {s for _, s, _ in ran if s.startswith("tests-")} == {s["session"] for s in tests}
    assert ("lint", "lint", "") in ran and ("lock", "lock", "--check") in ran
    assert ("lock-upgrade", "lock", '--upgrade --exclude-newer "7 days"') in ran
    assert ("typecheck", "typecheck", "") in ran and ("audit", "audit", "") in ran
    [(_, image_args)] = [(s, a) for job, s, a in ran if job == "build-image"]
    assert "--cache-from" in image_args and "--cache-to" in image_args
    assert any(j == "release" and '"$CI_COMMIT_TAG" --push' in a for j, s, a in ran)
    assert any(j == "rebuild" and s == "release" and "--refresh --push" in a for j, s, a in ran)


def test_gitlab_pushes_only_from_tags_and_schedules(gitlab):
    """Pushing jobs: never for a merge request, never cancelled half-way, one at a
    time; updates: schedules only, never cancelled; checks: for merge requests
    and branches, cancelled by a newer push."""
    _, document = gitlab
    jobs = gitlab_jobs(document)
    for name, job in jobs.items():
        script = " ".join(job["script"])
        rules = " ".join(rule["if"] for rule in job["rules"])
        if job["stage"] == "update":
            assert job["interruptible"] is False and "--push" not in script, name
            assert rules == '$CI_PIPELINE_SOURCE == "schedule" || $CI_PIPELINE_SOURCE == "web"'
        elif "--push" in script:
            assert job["interruptible"] is False and job["resource_group"] == "release", name
            assert "merge_request_event" not in rules and "CI_COMMIT_BRANCH" not in rules, name
            if "CI_COMMIT_TAG" in rules:  # a schedule on a tag must not publish it again
                assert '$CI_PIPELINE_SOURCE == "push"' in rules, name
        else:
            assert job.get("interruptible", document["default"]["interruptible"]) is True, name
            assert "CI_COMMIT_TAG" not in rules and "schedule" not in rules, name
    pushing = {name for name, job in jobs.items() if "--push" in " ".join(job["script"])}
    assert pushing == {"release", "rebuild"}
    updates = {name for name, job in jobs.items() if job["stage"] == "update"}
    assert updates == {"lock-upgrade", "template-update", "merge-requests"}
    assert document["workflow"]["auto_cancel"]["on_new_commit"] == "interruptible"


@contextlib.contextmanager
def engine_over_tcp(host: str):
    """This machine's engine, its socket forwarded to a TCP port on `host`: what
    a docker-in-docker service looks like from a CI job's container."""
    server = socket.create_server((host, 0))

    def pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:  # closed
                return
            engine = socket.socket(socket.AF_UNIX)
            engine.connect("/var/run/docker.sock")
            for ends in ((client, engine), (engine, client)):
                threading.Thread(target=pipe, args=ends, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.mark.docker
def test_check_image_from_a_job_container(default_image, docker_env):
    """As in a GitLab job: checks/check_image.py runs in a container of its own
    and reaches the engine, and the ports the engine publishes, over TCP (its
    own 127.0.0.1 is not where they are)."""
    bridge = "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}"
    subnet, _, gateway = docker("network", "inspect", "bridge", "-f", bridge).stdout.partition(" ")
    # An engine that kept its network from an older version may not record the
    # gateway: Docker gives the bridge the subnet's first address.
    gateway = gateway.strip() or str(next(ipaddress.ip_network(subnet.strip()).hosts()))
    checks = default_image["project"] / "checks"
    with engine_over_tcp(gateway) as port:
        job = [
            "run",
            "--rm",
            *("--env", f"DOCKER_HOST=tcp://{gateway}:{port}"),
            *("--volume", f"{DOCKER}:/usr/local/bin/docker:ro"),
            *("--volume", f"{checks}:/job:ro"),
            "python:3.13-slim-trixie",
            *("python", "/job/check_image.py", default_image["tag"]),
        ]
        result = docker(*job, check=False, timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "serving /healthz with 200" in output and "stopped by SIGTERM" in output


def test_rebuild_picks_the_newest_release_not_a_pre_release(project, gitlab, tmp_path):
    """The tag-choosing line of both rebuild jobs, run by sh in a repository
    with pre-release tags newer than the newest release."""
    lines = [
        next(line for line in text.splitlines() if 'tag="$(git tag' in line).strip(" -")
        for text in (workflow_text(project, "rebuild"), (gitlab[0] / ".gitlab-ci.yml").read_text())
    ]
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    for tag in ("v1.2.0", "v1.9.0", "v1.10.0a1", "v1.9.1rc1", "v2.0.0.dev1", "latest"):
        subprocess.run([*git, "tag", tag], check=True)
    for line in lines:
        chosen = subprocess.run(
            ["sh", "-c", f'{line}\necho "$tag"'], cwd=tmp_path, capture_output=True, text=True
        )
        assert chosen.stdout.strip() == "v1.9.0", line

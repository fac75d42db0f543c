"""The update pipelines (updates.yml and the GitLab update jobs) and renovate.json,
run as the pipelines run them: each job's own commands, read from the
workflow or .gitlab-ci.yml, in a shallow clone of a baked project, as a
runner checks it out. Only the push and the pull request, the last step of
each pipeline, cannot run here: there is no forge to reach.
"""

import json
import re
import runpy
import shlex
import subprocess
import sys
import tomllib
from datetime import timedelta
from pathlib import Path

import pipelines
import pytest
import template_repo
from images import nox
from tooling import RENOVATE, npm_tools, run

COOLDOWN = '--exclude-newer "7 days"'
GITLAB_USER = {"GITLAB_USER_NAME": "Schedule Owner", "GITLAB_USER_EMAIL": "owner@example.invalid"}
# Where GitLab keeps uv's cache is the runner's business: the tests keep the machine's.
RUNNER_ONLY = {"XDG_CACHE_HOME"}


def clone(source: Path, dest: Path) -> Path:
    """A runner's checkout: the default branch's last commit only."""
    subprocess.run(["git", "clone", "-q", "--depth", "1", source.as_uri(), str(dest)], check=True)
    return dest


def head(repo: Path, ref: str = "HEAD") -> str:
    return template_repo.git(repo, "rev-parse", ref)


def changes(checkout: Path) -> list[str]:
    """`git status` of a job's checkout, without the bundles a GitLab job leaves."""
    status = template_repo.git(checkout, "status", "--porcelain", "--", ".", ":!proposal")
    return status.splitlines()


def versions(lock: str) -> dict[str, str]:
    return {p["name"]: p["version"] for p in tomllib.loads(lock)["packages"]}


def github_job(checkout: Path, job: str, env: dict, runner_temp: Path) -> dict[str, str]:
    """Every `run` step of an updates.yml job, in order, in bash as GitHub runs
    it, with the workflow's environment; the job's outputs."""
    document = pipelines.workflow(checkout, "updates")
    spec = document["jobs"][job]
    output = runner_temp / f"{job}-output"
    output.write_text("")
    runner = {"GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(runner_temp)}
    runner["GITHUB_SHA"] = head(checkout)
    for step in spec["steps"]:
        if "run" not in step:
            continue  # an action: checkout, setup-uv, the artifact's upload
        assert "if" not in step, f"{job}: every command of the job runs here"
        step_env = {**document["env"], **spec.get("env", {}), **step.get("env", {})}
        assert not any("${{" in str(v) for v in step_env.values()), step_env
        run(["bash", "-e", "-c", step["run"]], checkout, {**env, **step_env, **runner})
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def gitlab_job(checkout: Path, name: str, env: dict) -> None:
    """A GitLab job's script in one bash, as the runner runs it, with the
    pipeline's and the job's variables (GitLab expands their `$NAME`s). Its
    before_script installs git and uv, which this machine has."""
    document = pipelines.gitlab(checkout)
    job = pipelines.resolved(document, name)
    predefined = {"CI_PROJECT_DIR": str(checkout), "CI_COMMIT_SHA": head(checkout), **GITLAB_USER}
    variables = {}
    for key, value in {**document["variables"], **job.get("variables", {})}.items():
        if key not in RUNNER_ONLY:
            variables[key] = re.sub(r"\$(\w+)", lambda m: predefined[m[1]], str(value))
    assert variables.get("GIT_DEPTH") == "1", "the tests clone as the job does"
    script = "\n".join(["set -eo pipefail", *job["script"]])
    run(["bash", "-c", script], checkout, {**env, **variables, **predefined})


def propose(ci: str, checkout: Path, job: str, env: dict, runner_temp: Path) -> Path | None:
    """Run the job that proposes `job` ("lock" or "template"); the git bundle it
    leaves for the pushing job, if it proposed something."""
    runner_temp.mkdir(exist_ok=True)
    if ci == "github":
        branch = github_job(checkout, job, env, runner_temp)["branch"]
        bundle = runner_temp / f"{job}.bundle"
        assert bundle.exists() == bool(branch)
    else:
        gitlab_job(checkout, {"lock": "lock-upgrade", "template": "template-update"}[job], env)
        bundle = checkout / "proposal" / f"{job}.bundle"
    return bundle if bundle.exists() else None


def fetch_as_the_pushing_job(ci: str, source: Path, bundle: Path, env: dict, tmp: Path) -> Path:
    """The pushing job's first command, in a checkout of its own: the bundles'
    branches fetched. What follows it pushes and opens the pull request."""
    checkout = clone(source, tmp / "pushing-job")
    if ci == "github":
        steps = pipelines.workflow(checkout, "updates")["jobs"]["pull-requests"]["steps"]
        first, *rest = [step for step in steps if "run" in step]
        assert all("GH_TOKEN" in step["env"] for step in rest) and "GH_TOKEN" not in str(first)
        (tmp / "bundles").mkdir()
        (tmp / "bundles" / bundle.name).write_bytes(bundle.read_bytes())
        run(["bash", "-e", "-c", first["run"]], checkout, {**env, "RUNNER_TEMP": str(tmp)})
    else:
        job = pipelines.resolved(pipelines.gitlab(checkout), "merge-requests")
        first, *rest = job["script"]
        assert "UPDATE_TOKEN" not in first and "UPDATE_TOKEN" in " ".join(rest[:2])
        (checkout / "proposal").mkdir()
        (checkout / "proposal" / bundle.name).write_bytes(bundle.read_bytes())
        run(["bash", "-e", "-c", first], checkout, env)
    return checkout


@pytest.fixture(scope="module")
def bumped(cookies_session, tool_env, tmp_path_factory):
    """For each pipeline: a project whose lock was written before flask's newest
    release (a week old or more), then a bot's bump of flask's lower bound to
    that release, committed: the lock no longer matches."""
    made = {}

    def make(ci: str) -> tuple[Path, str, str]:
        if ci in made:
            return made[ci]
        project = cookies_session.bake(extra_context={"ci": ci, "project_name": f"Bump {ci}"})
        project = project.project_path
        template_repo.git(project, "init", "-q")
        template_repo.commit_all(project, "baked")
        nox(project, tool_env, "-s", "lock", "--", *shlex.split(COOLDOWN))
        newest = versions((project / "pylock.toml").read_text())["flask"]
        older = tmp_path_factory.mktemp("constraints") / "older.txt"
        older.write_text(f"flask<{newest}\n")
        (project / "pylock.toml").unlink()
        nox(project, tool_env, "-s", "lock", "--", *shlex.split(COOLDOWN), "-c", str(older))
        was = versions((project / "pylock.toml").read_text())["flask"]
        template_repo.commit_all(project, "lock")
        nox(project, tool_env, "-s", "lock", "--", "--check")
        pyproject = project / "pyproject.toml"
        text = pyproject.read_text()
        assert '"flask>=3.1",' in text
        pyproject.write_text(text.replace('"flask>=3.1",', f'"flask>={newest}",'))
        template_repo.commit_all(project, f"Bump flask to >={newest}")
        stale = subprocess.run(
            [sys.executable, "-m", "nox", "-s", "lock", "--", "--check"],
            cwd=project,
            env=tool_env,
            capture_output=True,
            text=True,
        )
        assert stale.returncode != 0 and "pylock.toml is stale" in stale.stderr
        made[ci] = (project, was, newest)
        return made[ci]

    return make


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_lock_job_proposes_the_refreshed_lock(ci, bumped, tool_env, tmp_path):
    project, was, newest = bumped(ci)
    checkout = clone(project, tmp_path / "checkout")
    bundle = propose(ci, checkout, "lock", tool_env, tmp_path)
    assert bundle is not None
    assert template_repo.git(checkout, "branch", "--show-current") == "update/lock"
    nox(checkout, tool_env, "-s", "lock", "--", "--check")  # passes now
    changed = template_repo.git(checkout, "show", "--name-only", "--format=", "HEAD")
    assert changed.split() == ["pylock.toml"]
    message = template_repo.git(checkout, "log", "-1", "--format=%B")
    assert message.startswith("Upgrade the locked dependencies\n\n")
    assert f"- pylock.toml: `flask` {was} → {newest}" in message
    assert versions((checkout / "pylock.toml").read_text())["flask"] == newest

    # What the pushing job fetches is that commit; the same run again makes
    # the same commit, so the weekly push changes nothing on an unmerged branch.
    pushing = fetch_as_the_pushing_job(ci, project, bundle, tool_env, tmp_path)
    assert head(pushing, "update/lock") == head(checkout)
    again = clone(project, tmp_path / "again")
    propose(ci, again, "lock", tool_env, tmp_path / "again-temp")
    assert head(again) == head(checkout)


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_lock_job_proposes_nothing_for_a_current_lock(ci, bumped, tool_env, tmp_path):
    project, _, _ = bumped(ci)
    upgraded = clone(project, tmp_path / "upgraded")
    propose(ci, upgraded, "lock", tool_env, tmp_path / "first")
    # The upgrade merged: the next week's run finds the lock current.
    merged = tmp_path / "merged"
    template_repo.git(tmp_path, "clone", "-q", "-b", "update/lock", str(upgraded), str(merged))
    checkout = clone(merged, tmp_path / "checkout")
    assert propose(ci, checkout, "lock", tool_env, tmp_path / "second") is None
    assert changes(checkout) == []


def test_upgrade_never_lowers_a_version(cookies_session, tool_env, tmp_path):
    """A lock holding a release younger than the cutoff: the upgrade stops, the lock kept."""
    project = cookies_session.bake(extra_context={"project_name": "Never Lower"}).project_path
    nox(project, tool_env, "-s", "lock")
    lock = (project / "pylock.toml").read_text()
    youngest, uploaded = max(
        (
            (package["name"], min(w["upload-time"] for w in package["wheels"]))
            for package in tomllib.loads(lock)["packages"]
        ),
        key=lambda entry: entry[1],
    )
    cutoff = (uploaded - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    command = [sys.executable, "-m", "nox", "-s", "lock", "--", "--upgrade"]
    result = subprocess.run(
        [*command, "--exclude-newer", cutoff], cwd=project, env=tool_env, capture_output=True
    )
    assert result.returncode != 0
    message = f"pylock.toml kept as it was: the upgrade would lower {youngest} "
    assert message in result.stderr.decode(), result.stderr.decode()[-3000:]
    assert (project / "pylock.toml").read_text() == lock


def renovate_config(project: Path) -> dict:
    return json.loads((project / "renovate.json").read_text())


def test_renovate_refreshes_the_lock_in_its_commit(bumped, tool_env, tmp_path):
    """Renovate's bump of pyproject.toml, then its postUpgradeTasks, run as
    Renovate runs them (no shell): the lock matches, and only flask moved."""
    project, was, newest = bumped("github")
    checkout = clone(project, tmp_path / "renovate")
    before = versions((checkout / "pylock.toml").read_text())
    tasks = renovate_config(checkout)["postUpgradeTasks"]
    assert tasks["executionMode"] == "branch" and "pylock.toml" in tasks["fileFilters"]
    for command in tasks["commands"]:
        run(shlex.split(command), checkout, tool_env)
    nox(checkout, tool_env, "-s", "lock", "--", "--check")
    after = versions((checkout / "pylock.toml").read_text())
    assert (before["flask"], after["flask"]) == (was, newest)
    assert {k: v for k, v in after.items() if k != "flask"} == {
        k: v for k, v in before.items() if k != "flask"
    }
    assert template_repo.git(checkout, "status", "--porcelain") == "M pylock.toml"


def validate_renovate(folder: Path, tool_env: dict) -> subprocess.CompletedProcess:
    """renovate-config-validator, as Renovate's docs have a repository run it."""
    tools = npm_tools(RENOVATE)
    env = {**tool_env, "PATH": f"{tools}:{tool_env['PATH']}"}
    validator = [str(tools / "renovate-config-validator"), "--strict"]
    return subprocess.run(validator, cwd=folder, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_renovate_config_is_valid(ci, cookies_session, tool_env, tmp_path):
    project = cookies_session.bake(extra_context={"ci": ci}).project_path
    result = validate_renovate(project, tool_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config validated successfully" in result.stdout
    # The same check refuses a misspelt option.
    config = renovate_config(project)
    config["postUpgradeTasks"]["command"] = config["postUpgradeTasks"].pop("commands")
    (tmp_path / "renovate.json").write_text(json.dumps(config))
    wrong = validate_renovate(tmp_path, tool_env)
    assert wrong.returncode != 0
    assert "Invalid configuration option: postUpgradeTasks.command" in wrong.stdout


def test_jobs_that_run_tools_cannot_write(cookies_session):
    """Only the pushing job may write, and it runs git and gh alone; it alone
    sees the push token, through its environment (GitHub's and GitLab's)."""
    project = cookies_session.bake().project_path
    jobs = pipelines.workflow(project, "updates")["jobs"]
    for name, job in jobs.items():
        writes = {scope for scope, level in job["permissions"].items() if level == "write"}
        commands = " ".join(step.get("run", "") for step in job["steps"])
        if name == "pull-requests":
            assert writes == {"contents", "pull-requests"}
            assert not re.search(r"\b(nox|uvx?|python3?|cruft)\b", commands), commands
        else:
            assert writes == set() and "ci/propose.py" in commands, name
        secret = "secrets." in json.dumps(job)
        assert secret == (name == "pull-requests") == (job.get("environment") == "updates")
    document = pipelines.gitlab(cookies_session.bake(extra_context={"ci": "gitlab"}).project_path)
    updates = {
        name: job
        for name, job in pipelines.gitlab_jobs(document).items()
        if job.get("stage") == "update"
    }
    assert set(updates) == {"lock-upgrade", "template-update", "merge-requests"}
    for name, job in updates.items():
        token = "UPDATE_TOKEN" in json.dumps(job)
        assert token == (name == "merge-requests") == ("environment" in job), name
    assert updates["merge-requests"]["environment"] == {"name": "updates", "action": "access"}


@pytest.fixture
def template_and_project(tmp_path, tool_env, request):
    """The template as a git repository, a project baked from it with plain
    cookiecutter and committed, and a local edit of the project's README."""
    template = template_repo.snapshot(tmp_path / "template")
    ci = request.param
    out = tmp_path / "out"
    project = template_repo.bake_project(f"git+{template.as_uri()}", out, tool_env, f"ci={ci}")
    template_repo.git(project, "init", "-q")
    template_repo.commit_all(project, "baked")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's own closing line.\n")
    template_repo.commit_all(project, "local edit")
    return ci, template, project


def template_commit(template: Path, message: str, appended: dict[str, str]) -> str:
    """Append to the generated project's files in the template; the new commit."""
    for name, text in appended.items():
        path = template / "{{cookiecutter.project_slug}}" / name
        path.write_text((path.read_text() if path.exists() else "") + text)
    return template_repo.commit_all(template, message)


@pytest.mark.parametrize("template_and_project", ["github", "gitlab"], indirect=True)
def test_template_job_proposes_the_templates_commits(template_and_project, tool_env, tmp_path):
    ci, template, project = template_and_project
    checkout = clone(project, tmp_path / "current")
    assert propose(ci, checkout, "template", tool_env, tmp_path / "current-temp") is None

    # A change that merges cleanly: its branch, named after the template's commit.
    clean = template_commit(template, "B", {"Dockerfile": "# From template commit B.\n"})
    checkout = clone(project, tmp_path / "b")
    bundle = propose(ci, checkout, "template", tool_env, tmp_path / "b-temp")
    branch = f"update/template-{clean[:12]}"
    assert bundle is not None
    assert template_repo.git(checkout, "branch", "--show-current") == branch
    assert (checkout / "Dockerfile").read_text().endswith("# From template commit B.\n")
    assert json.loads((checkout / ".cruft.json").read_text())["commit"] == clean
    message = template_repo.git(checkout, "log", "-1", "--format=%B")
    assert message.startswith(f"Update from the template to {clean[:12]}\n\n")
    assert "Every change applied cleanly." in message
    assert changes(checkout) == []
    pushing = fetch_as_the_pushing_job(ci, project, bundle, tool_env, tmp_path)
    assert head(pushing, branch) == head(checkout)

    # A change where the project changed the same lines: left as a .rej file,
    # committed, and listed for the reviewer.
    appended = {"README.md": "\nThe template's own closing line.\n", "CHANGELOG.md": "# C\n"}
    conflicting = template_commit(template, "C", appended)
    checkout = clone(project, tmp_path / "c")
    assert propose(ci, checkout, "template", tool_env, tmp_path / "c-temp") is not None
    assert template_repo.git(checkout, "branch", "--show-current") == (
        f"update/template-{conflicting[:12]}"
    )
    committed = template_repo.git(checkout, "show", "--name-only", "--format=", "HEAD").split()
    assert {"Dockerfile", "CHANGELOG.md", "README.md.rej", ".cruft.json"} <= set(committed)
    assert "README.md" not in committed  # the project's version kept, the template's in .rej
    assert "The template's own closing line." in (checkout / "README.md.rej").read_text()
    message = template_repo.git(checkout, "log", "-1", "--format=%B")
    assert "Conflicts to merge by hand, then delete the .rej files:\n\n- `README.md.rej`" in message
    check = [sys.executable, "-m", "cruft", "check"]
    assert subprocess.run(check, cwd=checkout, env=tool_env, capture_output=True).returncode == 0


def test_conflicts_with_spaces_or_accents_in_their_names_are_listed(
    cookies_session, tmp_path, monkeypatch
):
    """git's status quotes such paths; the pull request must still name them."""
    project = cookies_session.bake().project_path
    conflicts = runpy.run_path(str(project / "ci" / "propose.py"))["conflicts"]
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    template_repo.git(repo, "init", "-q", "-b", "main")
    notes = repo / "our notes.md"
    notes.write_text("one\n")
    template_repo.commit_all(repo, "notes")
    template_repo.git(repo, "switch", "-q", "-c", "theirs")
    notes.write_text("theirs\n")
    template_repo.commit_all(repo, "theirs")
    template_repo.git(repo, "switch", "-q", "main")
    notes.write_text("ours\n")
    template_repo.commit_all(repo, "ours")
    subprocess.run([*template_repo.GIT, "merge", "-q", "theirs"], cwd=repo, capture_output=True)
    (repo / "docs" / "café notes.md.rej").write_text("rejected\n")
    monkeypatch.chdir(repo)
    assert conflicts() == ["`docs/café notes.md.rej`", "`our notes.md`, conflict markers"]


def test_template_update_needs_what_cruft_reads(cookies, tool_env, tmp_path):
    """Baked from a folder there is no .cruft.json; a dirty tree is refused too."""
    project = cookies.bake().project_path
    propose = [sys.executable, "ci/propose.py", "template"]
    result = subprocess.run(propose, cwd=project, env=tool_env, capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("propose: no .cruft.json: generate the project from")
    template = template_repo.snapshot(tmp_path / "template")
    baked = template_repo.bake_project(f"git+{template.as_uri()}", tmp_path / "out", tool_env)
    template_repo.git(baked, "init", "-q")
    template_repo.commit_all(baked, "baked")
    (baked / "README.md").write_text("edited, not committed\n")
    result = subprocess.run(propose, cwd=baked, env=tool_env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("propose: the working tree has changes")

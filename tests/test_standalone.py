"""A generated project on its own: baked from the template's git repository or
from a folder, then installed, tested and built with nothing but its own files
(no find-links, no variables or files from these tests)."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import template_repo
from tooling import run, wheelhouse

# The plugin answer's default: this template's commit, fetched by git.
GIT_REFERENCE = "hatch-wheelhouse @ git+{url}@{commit}#subdirectory=hatch_plugin"


@pytest.fixture(scope="session")
def git_baked(template_git, tmp_path_factory, tool_env) -> Path:
    out = tmp_path_factory.mktemp("from-git")
    return template_repo.bake_project(f"git+{template_git.as_uri()}", out, tool_env)


@pytest.fixture(scope="session")
def folder_baked(tmp_path_factory, tool_env) -> Path:
    out = tmp_path_factory.mktemp("from-folder")
    return template_repo.bake_project(str(template_repo.ROOT), out, tool_env)


def wheelhouse_hook(project: Path) -> dict:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["build-system"]["requires"] == ["hatchling==1.33.0"]
    return pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["wheelhouse"]


def test_git_bake_pins_the_plugin_and_records_the_commit(git_baked, template_git):
    commit = template_repo.git(template_git, "rev-parse", "HEAD")
    url = template_git.as_uri()
    assert wheelhouse_hook(git_baked)["dependencies"] == [
        GIT_REFERENCE.format(url=url, commit=commit)
    ]
    cruft = json.loads((git_baked / ".cruft.json").read_text())
    assert (cruft["template"], cruft["commit"], cruft["checkout"]) == (url, commit, None)
    answers = cruft["context"]["cookiecutter"]
    assert answers["project_slug"] == "my-service"
    assert (answers["_template"], answers["_commit"]) == (url, commit)
    assert not any(key in answers for key in ("_repo_dir", "_output_dir"))


def test_folder_bake_says_its_plugin_is_local(tool_env, tmp_path):
    result = template_repo.bake(str(template_repo.ROOT), tmp_path, tool_env)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "my-service"
    plugin = (template_repo.ROOT / "hatch_plugin").as_uri()
    assert wheelhouse_hook(project)["dependencies"] == [f"hatch-wheelhouse @ {plugin}"]
    notes = [line for line in result.stdout.splitlines() if line.startswith("slipway: ")]
    assert len(notes) == 1 and "works on this machine only" in notes[0]
    assert not (project / ".cruft.json").exists()


def test_plugin_from_the_teams_index(tool_env, tmp_path):
    requirement = "hatch-wheelhouse>=0.1,<0.2"
    project = template_repo.bake_project(
        str(template_repo.ROOT), tmp_path, tool_env, f"hatch_wheelhouse={requirement}"
    )
    assert wheelhouse_hook(project)["dependencies"] == [requirement]


@pytest.mark.parametrize("source", ["git_baked", "folder_baked"])
def test_pip_install_editable(source, request, tool_env, tmp_path):
    """With the pip a venv comes with (23.2 on Python 3.11): the plugin is not needed."""
    project = request.getfixturevalue(source)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, tool_env)
    python = str(venv / "bin" / "python")
    pip = run([python, "-m", "pip", "--version"], tmp_path, tool_env).split()[1]
    run([python, "-m", "pip", "install", "-q", "-e", "."], project, tool_env)
    probe = "from my_service.wsgi import app; print(app.name)"
    assert run([python, "-c", probe], tmp_path, tool_env).strip() == "my_service.app"
    print(f"pip {pip}: pip install -e . passed ({source})")


def test_nox_tests_and_lint(git_baked, tool_env):
    output = run([sys.executable, "-m", "nox", "-s", "tests", "lint"], git_baked, tool_env)
    assert re.search(r"\* tests-3\.\d+: success", output), output[-3000:]
    assert re.search(r"\* lint: success", output)


def test_hatch_build_as_a_release_pipeline_runs_it(git_baked, tool_env):
    """Plain `hatch build`: the sdist, the wheel and the wheelhouse, plugin fetched by git."""
    run([sys.executable, "-m", "nox", "-s", "lock"], git_baked, tool_env)
    run([sys.executable, "-m", "hatch", "build"], git_baked, tool_env)
    dist = git_baked / "dist"
    assert (dist / "my_service-0.1.0.tar.gz").is_file()
    assert (dist / "my_service-0.1.0-py3-none-any.whl").is_file()
    project = (wheelhouse(git_baked) / "project" / "requirements.txt").read_text()
    assert re.fullmatch(r"my-service==0\.1\.0 --hash=sha256:[0-9a-f]{64}\n", project)
    dependencies = (wheelhouse(git_baked) / "dependencies" / "requirements.txt").read_text()
    assert re.search(r"^flask==", dependencies, flags=re.M)


def test_sdist_builds_without_the_plugin(git_baked, tool_env, tmp_path):
    """A wheel built from the published sdist (pip, isolation) never runs the hook."""
    sdist = git_baked / "dist" / "my_service-0.1.0.tar.gz"
    if not sdist.exists():
        run([sys.executable, "-m", "hatch", "build", "-t", "sdist"], git_baked, tool_env)
    out = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(sdist)]
    run(pip, tmp_path, tool_env)
    assert [p.name for p in out.iterdir()] == ["my_service-0.1.0-py3-none-any.whl"]
    assert not (tmp_path / "dist").exists()


def test_cruft_update_brings_the_template_change(tmp_path, tool_env):
    """Bake at commit A, edit the project, move the template to B, `cruft update`."""
    template = template_repo.snapshot(tmp_path / "template")
    url = template.as_uri()
    project = template_repo.bake_project(f"git+{url}", tmp_path / "out", tool_env)
    template_repo.git(project, "init", "-q")
    template_repo.commit_all(project, "baked")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's own note.\n")
    template_repo.commit_all(project, "local edit")

    dockerfile = template / "{{cookiecutter.project_slug}}" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# A comment from template commit B.\n")
    (template / "{{cookiecutter.project_slug}}" / "CHANGELOG.md").write_text("# Changes\n")
    commit_b = template_repo.commit_all(template, "B: a Dockerfile comment and a new file")

    cruft = [sys.executable, "-m", "cruft"]
    before = subprocess.run([*cruft, "check"], cwd=project, env=tool_env, capture_output=True)
    update = run([*cruft, "update", "-y"], project, tool_env)
    print(update)
    after = subprocess.run([*cruft, "check"], cwd=project, env=tool_env, capture_output=True)

    assert before.returncode != 0
    assert after.returncode == 0, after.stdout
    assert (project / "Dockerfile").read_text().endswith("# A comment from template commit B.\n")
    assert (project / "CHANGELOG.md").read_text() == "# Changes\n"
    assert readme.read_text().endswith("\nOur team's own note.\n")
    assert wheelhouse_hook(project)["dependencies"] == [
        GIT_REFERENCE.format(url=url, commit=commit_b)
    ]
    assert json.loads((project / ".cruft.json").read_text())["commit"] == commit_b
    # cruft rewrote .cruft.json after patching it: the two agree to the byte.
    rewrite = template_repo.git(project, "diff", "--", ".cruft.json")
    assert rewrite == "", rewrite

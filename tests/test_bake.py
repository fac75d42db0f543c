"""Baking the template: every supported combination, and every rejected one."""

import json
import py_compile
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, combo_id, supported_combinations

COMBOS = supported_combinations()
UNRENDERED = ("{{ cookiecutter", "{{cookiecutter", "{%", "%}")


def files_of(project):
    return sorted(p for p in project.rglob("*") if p.is_file())


def test_defaults(cookies):
    result = cookies.bake()
    assert result.exit_code == 0, result.exception
    project = result.project_path
    assert project.name == "my-service"
    names = {str(p.relative_to(project)) for p in files_of(project)}
    expected = {
        ".cookiecutter.json",
        ".dockerignore",
        ".gitignore",
        "Dockerfile",
        "scripts/check_image.py",
        ".github/workflows/ci.yml",
        "LICENSE",
        "README.md",
        "gunicorn.conf.py",
        "noxfile.py",
        "pyproject.toml",
        "src/my_service/__init__.py",
        "src/my_service/app.py",
        "src/my_service/settings.py",
        "src/my_service/wsgi.py",
    }
    assert expected <= names
    recorded = json.loads((project / ".cookiecutter.json").read_text())
    assert recorded["base"] == "debian"
    assert recorded["python_version"] == "3.13"
    assert recorded["debian_release"] == "trixie"
    assert recorded["worker_class"] == "gthread"


@pytest.mark.parametrize("answers", COMBOS, ids=[combo_id(a) for a in COMBOS])
def test_supported_combination(cookies, answers):
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    project = result.project_path
    for path in files_of(project):
        text = path.read_text(encoding="utf-8")
        for marker in UNRENDERED:
            assert marker not in text, f"{path.relative_to(project)} holds {marker!r}"
        if path.suffix == ".py":
            py_compile.compile(str(path), doraise=True)
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run([*ruff, "check", "--no-cache", "."], cwd=project, capture_output=True)
    assert check.returncode == 0, check.stdout.decode()
    fmt = subprocess.run([*ruff, "format", "--check", "--no-cache", "."], cwd=project)
    assert fmt.returncode == 0
    hadolint = subprocess.run(
        [shutil.which("hadolint") or "hadolint", "Dockerfile"], cwd=project, capture_output=True
    )
    assert hadolint.returncode == 0, hadolint.stdout.decode()
    assert (project / ".github").exists() == (answers["ci"] == "github")
    assert (project / "LICENSE").exists() == (answers["license"] != "Proprietary")
    pyproject = (project / "pyproject.toml").read_text()
    assert ('"gunicorn[gevent]' in pyproject) == (answers["worker_class"] == "gevent")


def test_workflow_keeps_github_expressions(cookies):
    result = cookies.bake()
    workflow = (result.project_path / ".github/workflows/ci.yml").read_text()
    assert "python-version: ${{ matrix.python }}" in workflow
    assert "tests-${{ matrix.python }}" in workflow


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"project_slug": "1bad"}, "project_slug"),
        ({"package_name": "class"}, "package_name"),
        ({"author_email": "nobody"}, "author_email"),
        ({"base": "debian", "python_version": "3.14"}, "python_version"),
        ({"base": "debian", "debian_release": "bookworm"}, "python_version"),
        ({"base": "source", "python_version": "3.11"}, "python_version"),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else v,
)
def test_rejected_on_the_command_line(tmp_path, answers, field):
    """What a user sees: a non-zero exit, one line naming the field, no project."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "cookiecutter", "--no-input", str(ROOT), "-o", str(out)]
    command += [f"{k}={v}" for k, v in answers.items()]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode != 0
    reasons = [line for line in result.stderr.splitlines() if line.startswith("slipway: ")]
    assert len(reasons) == 1, result.stderr
    assert reasons[0].startswith(f"slipway: {field} ")
    assert not out.exists() or list(out.iterdir()) == []

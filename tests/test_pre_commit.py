"""The generated .pre-commit-config.yaml, run as a developer's commit runs it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import template_repo
from images import nox

LINT = re.compile(r"^ruff check and format .*(Passed|Failed)$", re.M)
LOCK = re.compile(r"^pylock\.toml matches pyproject\.toml .*(Passed|Failed)$", re.M)


def pre_commit(project: Path, env: dict) -> tuple[int, str]:
    command = [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color=never"]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def test_hooks_pass_a_fresh_project_and_name_what_fails(cookies, tool_env, tmp_path):
    project = cookies.bake().project_path
    # The hooks run nox from the PATH, as from a developer's shell; pre-commit's
    # own state stays out of the home directory.
    path = os.pathsep.join([str(Path(sys.executable).parent), tool_env["PATH"]])
    env = {**tool_env, "PATH": path, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}
    template_repo.git(project, "init", "-q")
    nox(project, env, "-s", "lock")
    template_repo.git(project, "add", "-A")
    code, output = pre_commit(project, env)
    assert code == 0, output
    assert LINT.search(output)[1] == "Passed" and LOCK.search(output)[1] == "Passed"

    unused = project / "src/my_service/helpers.py"
    unused.write_text("import os\n")
    template_repo.git(project, "add", "-A")
    code, output = pre_commit(project, env)
    assert code != 0
    assert LINT.search(output)[1] == "Failed" and LOCK.search(output)[1] == "Passed"
    assert "F401" in output and "src/my_service/helpers.py:1:8" in output, output

    unused.unlink()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"flask>=3.1",', '"flask>=3.1", "rich",'))
    template_repo.git(project, "add", "-A")
    code, output = pre_commit(project, env)
    assert code != 0
    assert LINT.search(output)[1] == "Passed" and LOCK.search(output)[1] == "Failed"
    assert "pylock.toml is stale: run `nox -s lock`" in output, output

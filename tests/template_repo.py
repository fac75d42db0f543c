"""The template as a user fetches it: a git repository at a commit, baked by the CLI."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIT = ["git", "-c", "user.name=slipway", "-c", "user.email=ci@slipway.invalid"]


def git(repo: Path, *args: str) -> str:
    result = subprocess.run([*GIT, *args], cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    """Commit everything in `repo`; the new commit's hash."""
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def snapshot(dest: Path) -> Path:
    """A git repository holding this checkout's files as they are now, committed
    or not, so the tests bake what is being changed."""
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a deleted file is still listed until committed
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git(dest, "init", "-q")
    commit_all(dest, "template snapshot")
    return dest


def bake(template: str, out: Path, env: dict, *answers: str) -> subprocess.CompletedProcess:
    """`cookiecutter --no-input TEMPLATE` with `key=value` answers, into `out`.

    cookiecutter keeps its clones of git templates under a folder of its own
    configuration: give it one inside `out`, not the user's home.
    """
    out.mkdir(parents=True, exist_ok=True)
    config = out / "cookiecutter-config.yaml"
    config.write_text(f"cookiecutters_dir: {out / 'clones'}\nreplay_dir: {out / 'replay'}\n")
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", str(config)]
    command += [template, "-o", str(out), *answers]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def bake_project(template: str, out: Path, env: dict, *answers: str) -> Path:
    """Bake, check it succeeded, and return the one project it made."""
    result = bake(template, out, env, *answers)
    assert result.returncode == 0, result.stdout + result.stderr
    (project,) = (p for p in out.iterdir() if (p / "pyproject.toml").exists())
    return project

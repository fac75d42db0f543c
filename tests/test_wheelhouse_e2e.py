"""From a baked project to an offline, hash-checked install of the service."""

import contextlib
import os
import stat
import subprocess
import sys
import time

import pytest


def run(command, cwd, env, **kwargs):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


# The wheelhouse targets the image's Python; aim it at this host's so a venv
# here can install it. Bookworm's glibc (2.36) is this machine's.
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
ANSWERS = {"base": "official", "debian_release": "bookworm", "python_version": HOST_PYTHON}
HATCH_BUILD = [sys.executable, "-m", "hatch", "build", "-t", "wheel"]


@pytest.fixture(scope="module")
def baked(cookies_session, tool_env):
    project = cookies_session.bake(extra_context=ANSWERS).project_path
    run([sys.executable, "-m", "nox", "-s", "lock"], project, tool_env)
    return project


def test_hatch_build_then_offline_install(baked, tool_env, tmp_path):
    cache = tmp_path / "cache"
    env = {**tool_env, "XDG_CACHE_HOME": str(cache)}
    hatch = HATCH_BUILD

    started = time.monotonic()
    cold = run(hatch, baked, env)
    cold_seconds = time.monotonic() - started
    house = baked / "dist" / "wheelhouse"
    requirements = (house / "requirements.txt").read_text()
    assert "my-service==0.1.0 --hash=sha256:" in requirements
    assert "flask==" in requirements and "markupsafe==" in requirements
    assert "fetched flask-" in cold.stdout + cold.stderr
    # Readable by a builder that runs as another user (the umask's mode, not 0700).
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(house.stat().st_mode) == 0o777 & ~umask

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "--require-hashes"]
    run([*pip, "--find-links", str(house), "-r", str(house / "requirements.txt")], tmp_path, env)
    probe = "from my_service.wsgi import app; print(app.name)"
    assert run([str(venv / "bin" / "python"), "-c", probe], tmp_path, env).stdout.strip()

    # Second build with the network cut: every request goes to a closed port.
    offline = {
        **env,
        "https_proxy": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
        "UV_OFFLINE": "1",
    }
    started = time.monotonic()
    warm = run(hatch, baked, offline)
    warm_seconds = time.monotonic() - started
    output = warm.stdout + warm.stderr
    assert "fetched" not in output
    locked = len(requirements.splitlines()) - 1  # all but the project's own wheel
    assert f"{locked} files" in output and f"{locked} from cache" in output
    assert (house / "requirements.txt").read_text() == requirements
    print(f"hatch build: cold {cold_seconds:.1f}s, warm (offline) {warm_seconds:.1f}s")


@contextlib.contextmanager
def edited_pyproject(project, old: str, new: str):
    """pyproject.toml with one edit, put back afterwards."""
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text()
    pyproject.write_text(original.replace(old, new))
    try:
        yield
    finally:
        pyproject.write_text(original)


def attempt(command, cwd, env) -> subprocess.CompletedProcess:
    """Run a command expected to fail, for its exit status and output."""
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)


def test_stale_lock_fails_the_build(baked, tool_env):
    with edited_pyproject(baked, '"flask>=3.1",', '"flask>=3.1",\n    "six>=1.16",'):
        result = attempt(HATCH_BUILD, baked, tool_env)
        check = attempt(
            [sys.executable, "-m", "nox", "-s", "lock", "--", "--check"], baked, tool_env
        )
    assert result.returncode != 0
    assert "six>=1.16 (not in the lock); run `nox -s lock` to update it" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert check.returncode != 0
    assert "pylock.toml is stale" in check.stdout + check.stderr


def test_os_errors_stop_the_build_in_one_line(baked, tool_env):
    """A cache-dir that is a file: one line naming it, not a traceback."""
    hook = 'lock-file = "pylock.toml"'
    with edited_pyproject(baked, hook, f'{hook}\ncache-dir = "README.md"'):
        result = attempt(HATCH_BUILD, baked, tool_env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    [line] = [line for line in output.splitlines() if "hatch-wheelhouse:" in line]
    assert "README.md" in line and "Not a directory" in line

"""From a baked project to an offline, hash-checked install of the service."""

import contextlib
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import time

import pytest
from tooling import run, wheelhouse

# The wheelhouse targets the image's Python; aim it at this host's so a venv
# here can install it. Bookworm's glibc (2.36) is this machine's.
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
ANSWERS = {"base": "official", "debian_release": "bookworm", "python_version": HOST_PYTHON}
HATCH_BUILD = [sys.executable, "-m", "hatch", "build", "-t", "wheel"]


# Every request goes to a closed port.
OFFLINE = {
    "https_proxy": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "UV_OFFLINE": "1",
}


def offline_install(house, tmp_path, env):
    """The wheelhouse's documented install, in a new venv: the dependencies
    (building any sdist from build/), then the project."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "--require-hashes"]
    deps, build = house / "dependencies", house / "build"
    run([*pip, "-f", deps, "-f", build, "-r", deps / "requirements.txt"], tmp_path, env | OFFLINE)
    project = house / "project"
    run([*pip, "--no-deps", "-f", project, "-r", project / "requirements.txt"], tmp_path, env)
    return venv


@pytest.fixture(scope="module")
def baked(cookies_session, tool_env):
    project = cookies_session.bake(extra_context=ANSWERS).project_path
    run([sys.executable, "-m", "nox", "-s", "lock"], project, tool_env)
    return project


def test_the_longest_slug_builds(cookies_session, tool_env):
    """The answers allow 100 characters; every file name built from them fits."""
    slug = "a" + "-long-service" * 7 + "-" + "x" * 7
    assert len(slug) == 100
    answers = {**ANSWERS, "project_slug": slug, "deploy": "none", "ci": "none"}
    project = cookies_session.bake(extra_context=answers).project_path
    run(NOX_LOCK, project, tool_env)
    run(HATCH_BUILD, project, tool_env)
    package = slug.replace("-", "_")
    assert (wheelhouse(project) / "project" / f"{package}-0.1.0-py3-none-any.whl").is_file()


def test_a_project_named_like_its_dependency_is_refused(cookies_session, tool_env):
    """A service called flask bakes and locks; its wheelhouse would replace Flask."""
    answers = {**ANSWERS, "project_slug": "flask", "deploy": "none", "ci": "none"}
    project = cookies_session.bake(extra_context=answers).project_path
    run(NOX_LOCK, project, tool_env)
    result = attempt(HATCH_BUILD, project, tool_env)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    [line] = [line for line in output.splitlines() if "hatch-wheelhouse:" in line]
    assert "the project is named 'flask', and pylock.toml locks flask " in line
    assert not (project / "dist" / "wheelhouse").exists()


def test_hatch_build_then_offline_install(baked, tool_env, tmp_path):
    cache = tmp_path / "cache"
    env = {**tool_env, "XDG_CACHE_HOME": str(cache)}
    hatch = HATCH_BUILD

    started = time.monotonic()
    cold = run(hatch, baked, env)
    cold_seconds = time.monotonic() - started
    house = wheelhouse(baked)
    requirements = (house / "dependencies" / "requirements.txt").read_text()
    assert "flask==" in requirements and "markupsafe==" in requirements
    project = (house / "project" / "requirements.txt").read_text()
    assert project.startswith("my-service==0.1.0 --hash=sha256:")
    assert "fetched flask-" in cold
    # Readable by a builder that runs as another user (the umask's mode, not 0700).
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(house.stat().st_mode) == 0o777 & ~umask

    venv = offline_install(house, tmp_path, env)
    probe = "from my_service.wsgi import app; print(app.name)"
    assert run([str(venv / "bin" / "python"), "-c", probe], tmp_path, env).strip()

    # Second build with the network cut.
    started = time.monotonic()
    output = run(hatch, baked, OFFLINE | env)
    warm_seconds = time.monotonic() - started
    assert not re.search(r"^fetched ", output, flags=re.M)
    locked = len(requirements.splitlines())
    assert f"{locked} files" in output and f"0 fetched, {locked} from cache" in output
    assert (house / "dependencies" / "requirements.txt").read_text() == requirements
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


@pytest.fixture
def project(baked, tmp_path):
    """A copy of the baked, locked project, for a test to change."""
    copy = tmp_path / "project"
    shutil.copytree(baked, copy, ignore=shutil.ignore_patterns("dist", ".nox"))
    return copy


def edit(project, old: str, new: str) -> None:
    path = project / "pyproject.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


NOX_LOCK = [sys.executable, "-m", "nox", "-s", "lock"]
HOOK = 'lock-file = "pylock.toml"'


def dependencies(project) -> str:
    return (wheelhouse(project) / "dependencies" / "requirements.txt").read_text()


def test_a_dependency_removed_without_relocking_is_not_shipped(project, tool_env):
    edit(project, '    "gunicorn', '    # "gunicorn')
    result = attempt(HATCH_BUILD, project, tool_env)
    assert result.returncode != 0
    assert re.search(r"gunicorn \S+ \(nothing requires it\)", result.stderr), result.stderr
    assert "run `nox -s lock` to update it" in result.stderr
    # The lock check says the same.
    assert attempt([*NOX_LOCK, "--", "--check"], project, tool_env).returncode != 0


def test_an_extra_of_a_dependency_needs_its_packages_locked(project, tool_env):
    edit(project, '"flask>=3.1"', '"flask[async]>=3.1"')
    result = attempt(HATCH_BUILD, project, tool_env)
    assert result.returncode != 0
    assert re.search(r"asgiref\S* .*\(required by flask; not in the lock\)", result.stderr)
    run(NOX_LOCK, project, tool_env)
    run(HATCH_BUILD, project, tool_env)
    assert "asgiref==" in dependencies(project)


def test_the_extras_option_and_nox_lock_agree(project, tool_env):
    edit(
        project,
        "[dependency-groups]",
        ('[project.optional-dependencies]\ncompat = ["six>=1.16"]\n\n[dependency-groups]'),
    )
    edit(project, HOOK, f'{HOOK}\nextras = ["compat"]')
    run(NOX_LOCK, project, tool_env)
    run([*NOX_LOCK, "--", "--check"], project, tool_env)
    run(HATCH_BUILD, project, tool_env)
    assert "six==" in dependencies(project)
    # Dropped from `extras`, still locked: both the build and the check refuse.
    edit(project, 'extras = ["compat"]', "")
    result = attempt(HATCH_BUILD, project, tool_env)
    assert re.search(r"six \S+ \(nothing requires it\)", result.stderr)
    check = attempt([*NOX_LOCK, "--", "--check"], project, tool_env)
    assert "pylock.toml is stale" in check.stdout + check.stderr


def test_a_dependency_without_an_arm64_wheel_stops_in_one_line(project, tool_env):
    """A real package with wheels for x86_64 (and Windows) only: the lock takes
    it, and the build stops at the arm64 wheelhouse, naming both."""
    edit(project, '"flask>=3.1",', '"flask>=3.1",\n    "nvidia-cuda-runtime-cu12==12.1.105",')
    run(NOX_LOCK, project, tool_env)
    result = attempt(HATCH_BUILD, project, tool_env)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    [line] = [line for line in output.splitlines() if "hatch-wheelhouse:" in line]
    platform = f"CPython {HOST_PYTHON} manylinux_2_36_aarch64"
    assert f"pylock.toml cannot be installed on {platform}" in line
    assert "'nvidia-cuda-runtime-cu12'" in line
    assert "leave manylinux_2_36_aarch64 out of" in line and ".platforms" in line
    assert not (project / "dist" / "wheelhouse").exists()


def with_docopt(project, policy: str) -> None:
    """docopt 0.6.2: on PyPI as an sdist only, built with setuptools."""
    edit(project, '"flask>=3.1",', '"flask>=3.1",\n    "docopt==0.6.2",')
    group = 'sdist-build = ["setuptools>=40.8", "wheel"]'
    edit(project, "[dependency-groups]", f"[dependency-groups]\n{group}")
    edit(project, HOOK, f'{HOOK}\nsdists = "{policy}"')


def test_a_pure_sdist_builds_on_the_host_offline_and_reproducibly(project, tool_env, tmp_path):
    with_docopt(project, "build")
    run(NOX_LOCK, project, tool_env)
    assert "setuptools" in (project / "pylock.build.toml").read_text()
    env = {**tool_env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = run(HATCH_BUILD, project, env)
    assert "built docopt-0.6.2-py2.py3-none-any.whl from docopt-0.6.2.tar.gz" in first
    wheel = wheelhouse(project) / "dependencies" / "docopt-0.6.2-py2.py3-none-any.whl"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f"docopt==0.6.2 --hash=sha256:{digest}" in dependencies(project)

    time.sleep(1.1)  # a build that stamped the time would now differ
    # Nor may the wheel depend on the umask of whoever builds it.
    second = run(HATCH_BUILD, project, env | OFFLINE, preexec_fn=lambda: os.umask(0o077))
    assert not re.search(r"^fetched ", second, flags=re.M)
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == digest
    venv = offline_install(wheelhouse(project), tmp_path, env)
    run([str(venv / "bin" / "python"), "-c", "import docopt"], tmp_path, env)


# Real sdists from PyPI, one per build backend, locked without their wheels:
# name, version, the built wheel's file name.
MODERN_SDISTS = [
    ("zope-event", "6.2", "zope_event-6.2-py3-none-any.whl"),  # setuptools 78+, PAX mtimes
    ("blinker", "1.9.0", "blinker-1.9.0-py3-none-any.whl"),  # flit_core
    ("iniconfig", "2.3.1", "iniconfig-2.3.1-py3-none-any.whl"),  # hatchling and hatch-vcs
]


def test_modern_sdists_build_on_the_host_offline_and_reproducibly(project, tool_env, tmp_path):
    """zope.event and blinker are in the service's closure (gevent, Flask)."""
    edit(project, '"flask>=3.1",', '"flask>=3.1",\n    "iniconfig==2.3.1",')
    tools = '["setuptools>=78.1.1,<82", "wheel", "flit_core<4", "hatchling", "hatch-vcs"]'
    edit(project, "[dependency-groups]", f"[dependency-groups]\nsdist-build = {tools}")
    edit(project, HOOK, f'{HOOK}\nsdists = "build"')
    no_binary = [f"--no-binary={name}" for name, _, _ in MODERN_SDISTS]
    run([*NOX_LOCK, "--", *no_binary], project, tool_env)
    env = {**tool_env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = run(HATCH_BUILD, project, env)
    digests = {}
    for name, version, wheel in MODERN_SDISTS:
        assert re.search(rf"^built {re.escape(wheel)} from \S+-{version}\.tar\.gz", first, re.M)
        for arch in ("x86_64", "aarch64"):
            built = wheelhouse(project, arch) / "dependencies" / wheel
            digests[built] = hashlib.sha256(built.read_bytes()).hexdigest()
            assert f"{name}=={version} --hash=sha256:{digests[built]}" in dependencies_of(built)

    time.sleep(1.1)  # a build that stamped the time would now differ
    second = run(HATCH_BUILD, project, env | OFFLINE)
    assert not re.search(r"^fetched ", second, flags=re.M)
    for built, digest in digests.items():
        assert hashlib.sha256(built.read_bytes()).hexdigest() == digest, built.name


def dependencies_of(wheel) -> str:
    return (wheel.parent / "requirements.txt").read_text()


def test_an_included_sdist_installs_offline_from_the_wheelhouse(project, tool_env, tmp_path):
    with_docopt(project, "include")
    run(NOX_LOCK, project, tool_env)
    run(HATCH_BUILD, project, tool_env)
    house = wheelhouse(project)
    assert (house / "dependencies" / "docopt-0.6.2.tar.gz").is_file()
    assert re.search(
        r"^setuptools==\S+ --hash=sha256:",
        (house / "build" / "requirements.txt").read_text(),
        flags=re.M,
    )
    venv = offline_install(house, tmp_path, tool_env)
    run([str(venv / "bin" / "python"), "-c", "import docopt"], tmp_path, tool_env)
    # pip does not hash-check build/: the Dockerfile's first step does.
    check = [sys.executable, "docker/check_wheelhouse.py", "my-service", "dist/wheelhouse"]
    check += ["amd64", str(tmp_path / "checked")]
    run(check, project, tool_env)
    assert (tmp_path / "checked" / "build" / "requirements.txt").is_file()
    shutil.rmtree(tmp_path / "checked")
    [tool] = (house / "build").glob("setuptools-*.whl")
    tool.write_bytes(tool.read_bytes() + b"\0")
    result = attempt(check, project, tool_env)
    assert result.returncode != 0
    shown = f"dist/wheelhouse/{house.name}/build/{tool.name}"
    assert f"{shown} does not match manifest.json" in result.stderr
    assert not (tmp_path / "checked").exists()
    # docopt's sdist does not declare its requirements (metadata 1.1): its
    # backend is asked, so a stale lock is still caught.
    edit(project, '    "gunicorn', '    # "gunicorn')
    result = attempt(HATCH_BUILD, project, tool_env)
    assert re.search(r"gunicorn \S+ \(nothing requires it\)", result.stderr), result.stderr

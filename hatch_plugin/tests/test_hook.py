"""The hook class as hatchling drives it: editable builds skipped, a standard build
committing dist/wheelhouse, errors reported through app.abort, clean, a failed
finalize discarding its staging folder, and real `hatchling build`s, two at once."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from distributions import sdist_bytes
from hatchling.metadata.core import ProjectMetadata

from hatch_wheelhouse.build_hook import WheelhouseBuildHook
from hatch_wheelhouse.fetch import sha256_of

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
OVERRIDES = ("HATCH_WHEELHOUSE_PYTHON_VERSION", "HATCH_WHEELHOUSE_PLATFORMS")
PROJECT = {"name": "my-service", "version": "0.1.0", "dependencies": ["flask"]}


class Aborted(Exception):
    pass


class FakeApp:
    """Stands in for hatchling's Application: records what the hook says."""

    def __init__(self):
        self.info, self.success, self.aborts = [], [], []

    def display_info(self, message):
        self.info.append(message)

    def display_success(self, message):
        self.success.append(message)

    def abort(self, message="", code=1, **kwargs):
        self.aborts.append(message)
        raise Aborted(message)


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch):
    # A developer's environment must not retarget the wheelhouse under test.
    for variable in OVERRIDES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def project(lock_builder):
    """tmp_path as a project depending on flask, locked with flask and blinker."""
    lock_builder.package("blinker", "1.9.0", ["blinker-1.9.0-py3-none-any.whl"])
    lock_builder.package(
        "flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"], requires=["blinker>=1.9"]
    )
    lock_builder.write()
    return lock_builder.root


def make_hook(root: Path, **options):
    app = FakeApp()
    metadata = ProjectMetadata(str(root), None, {"project": dict(PROJECT)})
    config = {"cache-dir": "cache", **options}
    hook = WheelhouseBuildHook(
        str(root), config, SimpleNamespace(), metadata, str(root / "dist"), "wheel", app
    )
    return hook, app


def project_wheel(root: Path) -> Path:
    wheel = root / "my_service-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel: the hook only copies and hashes it")
    return wheel


def staging_folders(root: Path) -> list[Path]:
    return list((root / "dist").glob(".wheelhouse-*"))


def test_editable_build_does_nothing(project):
    hook, app = make_hook(project)
    build_data = {}
    hook.initialize("editable", build_data)
    hook.finalize("editable", build_data, str(project_wheel(project)))
    assert not (project / "dist").exists()
    assert build_data == {}
    assert app.info == app.success == app.aborts == []


def test_standard_build_commits_the_wheelhouse(project):
    hook, app = make_hook(project)
    wheel = project_wheel(project)
    hook.initialize("standard", {})
    assert len(staging_folders(project)) == 1  # fetched, not yet committed
    hook.finalize("standard", {}, str(wheel))
    house = project / "dist" / "wheelhouse"
    assert json.loads((house / "manifest.json").read_text())["project"] == "my-service"
    assert (house / "project" / wheel.name).read_bytes() == wheel.read_bytes()
    assert (house / "project" / "requirements.txt").read_text() == (
        f"my-service==0.1.0 --hash=sha256:{sha256_of(wheel)}\n"
    )
    locked = (house / "dependencies" / "requirements.txt").read_text().splitlines()
    assert [line.split(" ")[0] for line in locked] == ["blinker==1.9.0", "flask==3.1.3"]
    assert staging_folders(project) == []
    assert app.success == [f"wheelhouse written to {house}"]
    assert app.aborts == []


def remove_lock(root):
    (root / "pylock.toml").unlink()


def cache_file(root):
    (root / "cache-file").touch()


# A config error lists every problem, one per line under a heading (config.py);
# any other error is a single line.
@pytest.mark.parametrize(
    ("options", "setup", "expected", "lines"),
    [
        ({"sdists": "maybe"}, None, "wheelhouse.sdists: expected one of error, build", 2),
        ({}, remove_lock, "pylock.toml not found", 1),
        ({"cache-dir": "cache-file"}, cache_file, "Not a directory", 1),
    ],
    ids=["bad-option", "missing-lock", "cache-dir-is-a-file"],
)
def test_errors_go_through_abort(project, options, setup, expected, lines):
    if setup:
        setup(project)
    hook, app = make_hook(project, **options)
    with pytest.raises(Aborted):
        hook.initialize("standard", {})
    [message] = app.aborts
    assert message.startswith("hatch-wheelhouse: ")
    assert expected in message
    assert len(message.splitlines()) == lines
    assert staging_folders(project) == []
    assert not (project / "dist" / "wheelhouse").exists()


def nul_in_a_file_name(root, lock_builder):
    lock = root / "pylock.toml"
    flask = 'path = "files/flask-3.1.3-py3-none-any.whl"'
    lock.write_text(
        lock.read_text().replace(flask, 'name = "flask-3.1.3-1\\u0000-py3-none-any.whl", ' + flask)
    )


def sdist_with(lock_builder, **members):
    """The project's lock with blinker as an sdist made of `members`."""
    sdist = "blinker-1.9.0.tar.gz"
    lock_builder.package("blinker", "1.9.0", sdist=sdist, sdist_data=sdist_bytes(sdist, **members))
    lock_builder.package(
        "flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"], requires=["blinker>=1.9"]
    )
    lock_builder.write()


def latin1_pkg_info(root, lock_builder):
    text = "Metadata-Version: 2.4\nName: blinker\nVersion: 1.9.0\nAuthor: Jos\xe9\n"
    sdist_with(lock_builder, pkg_info=text.encode("latin-1"))


def bad_pyproject(root, lock_builder):
    sdist_with(lock_builder, pyproject="[build-system\n")


def fifo_in_the_cache(root, lock_builder):
    hook, _ = make_hook(root)
    hook.initialize("standard", {})
    hook.finalize("standard", {}, str(project_wheel(root)))
    cached = root / "cache" / sha256_of(root / "files" / "flask-3.1.3-py3-none-any.whl")[:2]
    [entry] = cached.iterdir()
    entry.unlink()
    os.mkfifo(entry)


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (
            nul_in_a_file_name,
            "the file name 'flask-3.1.3-1\\x00-py3-none-any.whl' is not a plain name",
        ),
        (latin1_pkg_info, "blinker-1.9.0.tar.gz: blinker-1.9.0/PKG-INFO is not UTF-8"),
        (bad_pyproject, "blinker-1.9.0.tar.gz: its pyproject.toml is not TOML"),
        (fifo_in_the_cache, "cached flask-3.1.3-py3-none-any.whl at "),
    ],
    ids=["nul-in-a-file-name", "latin1-pkg-info", "bad-pyproject", "fifo-in-the-cache"],
)
def test_hostile_input_is_one_line_naming_the_file(
    project, lock_builder, deadline, setup, expected
):
    setup(project, lock_builder)
    hook, app = make_hook(project, sdists="include")
    with pytest.raises(Aborted):
        hook.initialize("standard", {})
    [message] = app.aborts
    assert expected in message
    assert len(message.splitlines()) == 1 and message.isprintable()
    assert staging_folders(project) == []


def test_clean_removes_wheelhouse_and_leftovers(project):
    hook, _ = make_hook(project)
    hook.initialize("standard", {})
    hook.finalize("standard", {}, str(project_wheel(project)))
    (project / "dist" / ".wheelhouse-killed").mkdir()  # as a killed build leaves it
    hook.clean(["standard"])
    assert not (project / "dist" / "wheelhouse").exists()
    assert staging_folders(project) == []


def test_clean_leaves_a_running_builds_staging_alone(project):
    hook, app = make_hook(project)
    hook.initialize("standard", {})
    make_hook(project)[0].clean(["standard"])  # hatch clean, run meanwhile
    hook.finalize("standard", {}, str(project_wheel(project)))
    assert app.success and (project / "dist" / "wheelhouse" / "manifest.json").is_file()


def test_failed_finalize_discards_staging(project):
    hook, app = make_hook(project)
    hook.initialize("standard", {})
    with pytest.raises(Aborted):
        hook.finalize("standard", {}, str(project / "missing.whl"))
    [message] = app.aborts
    assert message.startswith("hatch-wheelhouse: [Errno 2] No such file or directory: ")
    assert "missing.whl" in message and "\n" not in message
    assert staging_folders(project) == []
    assert not (project / "dist" / "wheelhouse").exists()
    assert app.success == []


def as_real_project(project):
    """A pyproject.toml and a package, for `hatchling build`."""
    (project / "my_service").mkdir()
    (project / "my_service" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text(
        f"""\
[build-system]
requires = ["hatchling", "hatch-wheelhouse @ {PLUGIN_ROOT.as_uri()}"]
build-backend = "hatchling.build"

[project]
name = "my-service"
version = "0.1.0"
dependencies = ["flask"]

[tool.hatch.build.targets.wheel.hooks.wheelhouse]
cache-dir = "cache"
"""
    )


def hatchling_build(project) -> subprocess.Popen:
    # The plugin is installed in this interpreter, so hatchling finds the hook
    # by its entry point without a network or an isolated build environment.
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    return subprocess.Popen(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def succeeds(build: subprocess.Popen) -> None:
    output, _ = build.communicate(timeout=120)
    assert build.returncode == 0, output


def test_real_hatchling_build(project):
    as_real_project(project)
    succeeds(hatchling_build(project))
    house = project / "dist" / "wheelhouse"
    [wheel] = (project / "dist").glob("my_service-0.1.0-*.whl")
    assert (house / "project" / wheel.name).read_bytes() == wheel.read_bytes()
    flask = project / "files" / "flask-3.1.3-py3-none-any.whl"
    locked = (house / "dependencies" / "requirements.txt").read_text()
    assert f"flask==3.1.3 --hash=sha256:{sha256_of(flask)}\n" in locked


def test_another_build_leaves_a_running_builds_staging_alone(project):
    """A build between this one's initialize and finalize removed its staging
    folder with the leftovers of killed builds."""
    as_real_project(project)
    hook, app = make_hook(project)
    hook.initialize("standard", {})
    (project / "dist" / ".wheelhouse-killed").mkdir()  # a killed build's
    succeeds(hatchling_build(project))
    assert not (project / "dist" / ".wheelhouse-killed").exists()
    wheel = project_wheel(project)
    hook.finalize("standard", {}, str(wheel))
    assert app.aborts == []
    assert (project / "dist" / "wheelhouse" / "project" / wheel.name).read_bytes() == (
        wheel.read_bytes()
    )
    assert staging_folders(project) == []


def test_two_builds_at_once_both_succeed(project):
    as_real_project(project)
    for _ in range(5):  # the old clean-up failed one build in most runs of 3
        builds = [hatchling_build(project), hatchling_build(project)]
        for build in builds:
            succeeds(build)
    house = project / "dist" / "wheelhouse"
    [wheel] = (project / "dist").glob("my_service-0.1.0-*.whl")
    assert (house / "project" / wheel.name).read_bytes() == wheel.read_bytes()
    assert staging_folders(project) == []

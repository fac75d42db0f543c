import json
import os
import shutil

import pytest

from hatch_wheelhouse import lock as lockfile
from hatch_wheelhouse.config import SECTION, Config
from hatch_wheelhouse.errors import WheelhouseError
from hatch_wheelhouse.fetch import sha256_of
from hatch_wheelhouse.wheelhouse import prepare

DEPS = ["flask>=3", "markupsafe"]


def build(lock_path, tmp_path, deps=DEPS, optional=None, **options):
    config = Config(lock_file=lock_path, cache_dir=tmp_path / "cache", **options)
    messages = []
    staged = prepare(config, deps, optional or {}, tmp_path / "dist", messages.append)
    return staged, messages


def wheelhouse_path(tmp_path, *parts):
    return tmp_path.joinpath("dist", "wheelhouse", *parts)


def requirements(tmp_path, part="dependencies"):
    return wheelhouse_path(tmp_path, part, "requirements.txt").read_text()


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_selects_the_target_wheel_per_package(web_lock, tmp_path):
    lock, _ = lockfile.read(web_lock)
    x86 = lockfile.select(lock, web_lock, "3.13", "manylinux_2_36_x86_64", ())
    arm = lockfile.select(lock, web_lock, "3.13", "manylinux_2_28_aarch64", ())
    pick = {f.name: f.filename for f in x86}
    assert set(pick) == {"blinker", "flask", "markupsafe"}  # colorama is Windows-only
    assert "cp313-cp313-manylinux2014_x86_64" in pick["markupsafe"]
    assert "aarch64" in {f.name: f.filename for f in arm}["markupsafe"]


def test_a_platform_without_a_wheel_is_named_with_the_way_out(web_lock):
    lock, _ = lockfile.read(web_lock)
    with pytest.raises(WheelhouseError) as caught:
        lockfile.select(lock, web_lock, "3.13", "manylinux_2_36_ppc64le", ())
    message = str(caught.value)
    assert "cannot be installed on CPython 3.13 manylinux_2_36_ppc64le" in message
    assert "'markupsafe'" in message
    assert message.endswith("leave manylinux_2_36_ppc64le out of " + SECTION + ".platforms")


def test_a_project_named_like_a_locked_package_is_refused(web_lock, tmp_path):
    """A project called Flask would replace Flask in the image's venv."""
    config = Config(lock_file=web_lock, cache_dir=tmp_path / "cache")
    with pytest.raises(WheelhouseError) as caught:
        prepare(config, DEPS, {}, tmp_path / "dist", print, project="Flask")
    assert str(caught.value).startswith("the project is named 'Flask', and pylock.toml locks")
    assert "flask 3.1.3" in str(caught.value) and "rename the project" in str(caught.value)
    assert not (tmp_path / "cache").exists()  # refused before any download


def test_defaults_come_from_the_lock(web_lock):
    lock, _ = lockfile.read(web_lock)
    assert lockfile.default_python(lock, web_lock) == "3.13"
    assert lockfile.default_platform(lock) == "manylinux_2_28_x86_64"


@pytest.mark.parametrize("requires_python", [">=3", ">=3.1a1"])
def test_a_lower_bound_that_is_no_python_version_asks_for_one(lock_builder, requires_python):
    path = lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"]).write(
        requires_python
    )
    lock, _ = lockfile.read(path)
    with pytest.raises(WheelhouseError, match=r"no requires-python lower bound such as >=3\.13"):
        lockfile.default_python(lock, path)


def test_wheelhouse_contents(web_lock, tmp_path):
    staged, messages = build(web_lock, tmp_path)
    project_wheel = tmp_path / "my_service-0.1.0-py3-none-any.whl"
    project_wheel.write_bytes(b"project")
    staged.add_project_wheel(project_wheel, "my-service", "0.1.0")
    staged.commit()
    deps = wheelhouse_path(tmp_path, "dependencies")
    assert len([n for n in names(deps) if n.endswith(".whl")]) == 3
    lines = requirements(tmp_path).splitlines()
    assert [line.split("==")[0] for line in lines] == ["blinker", "flask", "markupsafe"]
    for line in lines:
        _, digest = line.split(" --hash=sha256:")
        matches = [p for p in deps.glob("*.whl") if sha256_of(p) == digest]
        assert len(matches) == 1, line
    # The project's wheel apart, so a change to it leaves the rest byte-identical.
    assert names(wheelhouse_path(tmp_path, "project")) == [project_wheel.name, "requirements.txt"]
    assert requirements(tmp_path, "project") == (
        f"my-service==0.1.0 --hash=sha256:{sha256_of(project_wheel)}\n"
    )
    assert requirements(tmp_path, "build") == ""  # no sdist to build
    manifest = json.loads(wheelhouse_path(tmp_path, "manifest.json").read_text())
    assert manifest["project"] == "my-service"
    assert manifest["lock"]["sha256"] == sha256_of(web_lock)
    assert manifest["python"] == "3.13"
    assert manifest["platform"] == "manylinux_2_28_x86_64"
    assert manifest["best_tag"] == "cp313-cp313-manylinux_2_28_x86_64"
    assert [(f["name"], f["folder"]) for f in manifest["files"]][-1] == ("my-service", "project")
    assert messages[-1].startswith("wheelhouse for CPython 3.13 manylinux_2_28_x86_64: 3 files")
    assert not list((tmp_path / "dist").glob(".wheelhouse-*"))  # staging renamed away


def test_second_build_uses_only_the_cache(web_lock, tmp_path):
    build(web_lock, tmp_path)[0].commit()
    shutil.rmtree(tmp_path / "files")  # the sources are gone: only the cache can serve
    staged, messages = build(web_lock, tmp_path)
    staged.commit()
    assert messages == [
        "wheelhouse for CPython 3.13 manylinux_2_28_x86_64: 3 files, 0.0 MB; "
        "0 fetched, 3 from cache"
    ]


def test_tampered_cache_is_an_error_and_writes_nothing(web_lock, tmp_path):
    build(web_lock, tmp_path)[0].discard()
    cached = next(p for p in (tmp_path / "cache").rglob("*") if p.is_file())
    cached.write_bytes(b"evil")
    with pytest.raises(WheelhouseError, match="is corrupt or tampered with"):
        build(web_lock, tmp_path)
    assert not (tmp_path / "dist" / "wheelhouse").exists()
    assert names(tmp_path / "dist") == [".wheelhouse.lock"]


def fifo(path):
    path.unlink()
    os.mkfifo(path)


def folder(path):
    path.unlink()
    path.mkdir()


def link_to_dev_zero(path):
    path.unlink()
    path.symlink_to("/dev/zero")


def link_to_its_bytes(path):
    path.rename(path.with_name("elsewhere"))
    path.symlink_to(path.with_name("elsewhere"))


@pytest.mark.parametrize("replace", [fifo, folder, link_to_dev_zero, link_to_its_bytes])
def test_a_cache_entry_that_is_not_a_regular_file_is_refused(web_lock, tmp_path, deadline, replace):
    """Opened, a FIFO would hang the build and /dev/zero fill the disk."""
    build(web_lock, tmp_path)[0].discard()
    digest = sha256_of(tmp_path / "files" / "flask-3.1.3-py3-none-any.whl")
    cached = tmp_path / "cache" / digest[:2] / digest
    replace(cached)
    with pytest.raises(WheelhouseError) as info:
        build(web_lock, tmp_path)
    assert str(info.value) == (
        f"cached flask-3.1.3-py3-none-any.whl at {cached} is not a regular file; "
        "delete it to fetch it again"
    )
    assert names(tmp_path / "dist") == [".wheelhouse.lock"]


def test_file_not_matching_the_lock_is_refused(web_lock, tmp_path):
    flask = tmp_path / "files" / "flask-3.1.3-py3-none-any.whl"
    flask.write_bytes(flask.read_bytes()[:-1] + b"X")  # same size, other bytes
    with pytest.raises(WheelhouseError, match=r"flask-3\.1\.3-py3-none-any\.whl from .*: sha256"):
        build(web_lock, tmp_path)


def test_stale_lock_names_the_requirements(web_lock, tmp_path):
    with pytest.raises(WheelhouseError) as info:
        deps = ["flask>=4", "gunicorn", "pywin32; sys_platform=='win32'"]
        build(web_lock, tmp_path, deps=deps, lock_command="nox -s lock")
    assert str(info.value) == (
        "pylock.toml is stale for CPython 3.13 manylinux_2_28_x86_64: flask>=4 (locked: 3.1.3); "
        "gunicorn (not in the lock); run `nox -s lock` to update it"
    )


def test_lock_for_another_python_is_refused(lock_builder, tmp_path):
    path = lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"]).write(">=3.13")
    with pytest.raises(
        WheelhouseError, match=r"is for Python >=3\.13, the target is CPython 3\.12"
    ):
        build(path, tmp_path, deps=["flask"], python_version="3.12")


def test_missing_lock_says_how_to_make_it(tmp_path):
    with pytest.raises(WheelhouseError, match=r"pylock.toml not found: run `uv lock` to write"):
        build(tmp_path / "pylock.toml", tmp_path, lock_command="uv lock")
    # A generic plugin: with no command configured, the hint names none.
    with pytest.raises(WheelhouseError, match=r"not found: write it with the project's locker$"):
        build(tmp_path / "pylock.toml", tmp_path)


def test_a_target_below_the_locks_python_is_not_called_stale(lock_builder, tmp_path):
    new = "python_full_version >= '3.13'"
    lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"], marker=new)
    path = lock_builder.write(requires_python=">=3.13")
    with pytest.raises(WheelhouseError) as info:
        build(path, tmp_path, deps=["flask"], python_version="3.12")
    assert str(info.value).startswith(
        "pylock.toml is for Python >=3.13, the target is CPython 3.12: build for a Python"
    )


def test_a_package_locked_from_a_directory_says_so(lock_builder, tmp_path):
    lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"])
    lock_builder.packages.append('[[packages]]\nname = "mylib"\ndirectory = { path = "../mylib" }')
    with pytest.raises(WheelhouseError, match=r"^mylib is locked from a local directory, which"):
        build(lock_builder.write(), tmp_path, deps=["flask", "mylib @ file:///src/mylib"])


def test_several_platforms_get_a_folder_each(web_lock, tmp_path):
    platforms = ("manylinux_2_36_x86_64", "manylinux_2_28_aarch64")
    staged, _ = build(web_lock, tmp_path, platforms=platforms)
    staged.commit()
    assert names(wheelhouse_path(tmp_path)) == sorted(platforms)
    arm = wheelhouse_path(tmp_path, "manylinux_2_28_aarch64")
    assert any("aarch64" in n for n in names(arm / "dependencies"))
    assert (arm / "manifest.json").is_file() and (arm / "project").is_dir()


@pytest.fixture
def sdist_only_lock(lock_builder):
    lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"])
    lock_builder.package(
        "markupsafe",
        "3.0.4",
        ["markupsafe-3.0.4-cp313-cp313-win_amd64.whl"],
        sdist="markupsafe-3.0.4.tar.gz",
    )
    return lock_builder.write()


def test_sdist_policy_error(sdist_only_lock, tmp_path):
    with pytest.raises(WheelhouseError) as info:
        build(sdist_only_lock, tmp_path)
    message = str(info.value)
    assert message.startswith("markupsafe 3.0.4: no locked wheel runs on CPython 3.13")
    assert "best tag cp313-cp313-manylinux_2_17_x86_64" in message
    assert "sdists = 'build'" in message and "'include'" in message


TOOLS = ["setuptools-80.9.0", "wheel-0.45.1"]


def test_sdist_policy_include_ships_the_sdist_and_its_build_requirements(
    sdist_only_lock, lock_builder, tmp_path
):
    lock_builder.package("setuptools", "80.9.0", ["setuptools-80.9.0-py3-none-any.whl"])
    lock_builder.package("wheel", "0.45.1", ["wheel-0.45.1-py3-none-any.whl"])
    lock_builder.write(name="pylock.build.toml")
    staged, messages = build(sdist_only_lock, tmp_path, sdists="include")
    staged.commit()
    sdist = wheelhouse_path(tmp_path, "dependencies", "markupsafe-3.0.4.tar.gz")
    assert f"markupsafe==3.0.4 --hash=sha256:{sha256_of(sdist)}" in requirements(tmp_path)
    # What the image's builder needs to build it offline: the locked build tools.
    tools = [wheelhouse_path(tmp_path, "build", f"{name}-py3-none-any.whl") for name in TOOLS]
    assert requirements(tmp_path, "build") == "".join(
        f"{name.replace('-', '==')} --hash=sha256:{sha256_of(tool)}\n"
        for name, tool in zip(TOOLS, tools, strict=True)
    )
    assert "markupsafe-3.0.4.tar.gz ships as an sdist: the image build builds it" in messages


def test_an_sdist_to_build_needs_its_build_requirements_locked(
    sdist_only_lock, lock_builder, tmp_path
):
    with pytest.raises(WheelhouseError) as info:
        build(sdist_only_lock, tmp_path, sdists="include", lock_command="nox -s lock")
    assert str(info.value) == (
        "building from an sdist needs the build requirements locked (markupsafe 3.0.4: "
        "setuptools>=40.8.0, wheel): pylock.build.toml not found: run `nox -s lock` to write it"
    )
    # A build lock without what the sdist's build needs (PEP 518's default here).
    lock_builder.package("wheel", "0.45.1", ["wheel-0.45.1-py3-none-any.whl"])
    lock_builder.write(">=3.11", name="pylock.build.toml")
    with pytest.raises(WheelhouseError) as info:
        build(sdist_only_lock, tmp_path, sdists="build", lock_command="nox -s lock")
    assert str(info.value) == (
        "markupsafe-3.0.4.tar.gz needs setuptools>=40.8.0 (not in the lock) to build: lock it "
        "in pylock.build.toml (run `nox -s lock` to update it)"
    )


def test_a_dependency_removed_from_the_project_is_not_shipped(lock_builder, tmp_path):
    lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"])
    lock_builder.package("gunicorn", "25.3.0", ["gunicorn-25.3.0-py3-none-any.whl"])
    path = lock_builder.write()
    build(path, tmp_path, deps=["flask", "gunicorn"])[0].commit()
    with pytest.raises(WheelhouseError) as info:
        build(path, tmp_path, deps=["flask"])
    assert str(info.value) == (
        "pylock.toml is stale for CPython 3.13 manylinux_2_17_x86_64: "
        "gunicorn 25.3.0 (nothing requires it); update it with the project's locker"
    )
    # Nothing half-written, and no older wheelhouse left for an image to ship.
    assert names(tmp_path / "dist") == [".wheelhouse.lock"]


ASYNC = "asgiref>=3.2; extra == 'async'"


def test_an_extra_of_a_dependency_must_be_locked(lock_builder, tmp_path):
    wheel = ["flask-3.1.3-py3-none-any.whl"]
    lock_builder.package("flask", "3.1.3", wheel, requires=[ASYNC])
    path = lock_builder.write()
    build(path, tmp_path, deps=["flask"])[0].discard()  # the extra is not asked for
    with pytest.raises(
        WheelhouseError,
        match=r"asgiref>=3\.2; extra == \"async\" \(required by "
        r"flask; not in the lock\)",
    ):
        build(path, tmp_path, deps=["flask[async]"])
    lock_builder.package("flask", "3.1.3", wheel, requires=[ASYNC])
    lock_builder.package("asgiref", "3.9.1", ["asgiref-3.9.1-py3-none-any.whl"])
    staged, _ = build(lock_builder.write(), tmp_path, deps=["flask[async]"])
    staged.commit()
    assert "asgiref==3.9.1" in requirements(tmp_path)


def test_the_extras_option_decides_what_ships(lock_builder, tmp_path):
    optional = {"metrics": ["prometheus-client>=0.20"]}
    lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"])
    with pytest.raises(WheelhouseError, match=r"prometheus-client>=0\.20 \(not in the lock\)"):
        build(lock_builder.write(), tmp_path, ["flask"], optional, extras=("metrics",))
    lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"])
    lock_builder.package(
        "prometheus-client", "0.22.1", ["prometheus_client-0.22.1-py3-none-any.whl"]
    )
    path = lock_builder.write()
    build(path, tmp_path, ["flask"], optional, extras=("metrics",))[0].discard()
    # Extras compare by normalized name (PEP 685), as pip and uv compare them.
    build(path, tmp_path, ["flask"], {"Metrics": optional["metrics"]}, extras=("metrics",))
    # Dropped from `extras` but still locked: the lock no longer matches.
    with pytest.raises(
        WheelhouseError, match=r"prometheus-client 0\.22\.1 \(nothing requires it\)"
    ):
        build(path, tmp_path, ["flask"], optional)


def test_a_lock_that_declares_its_extras_selects_by_them(lock_builder, tmp_path):
    """A lock with `extras` (as `uv export` writes) marks the extra's packages;
    the option selects them, and their absence from it leaves them out."""
    optional = {"metrics": ["prometheus-client>=0.20"]}
    lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"])
    lock_builder.package(
        "prometheus-client",
        "0.22.1",
        ["prometheus_client-0.22.1-py3-none-any.whl"],
        marker="'metrics' in extras",
    )
    path = lock_builder.write(extras=["metrics"])
    staged, _ = build(path, tmp_path, ["flask"], optional, extras=("metrics",))
    staged.commit()
    assert "prometheus-client==0.22.1" in requirements(tmp_path)
    staged, _ = build(path, tmp_path / "without", ["flask"], optional)
    staged.commit()
    assert "prometheus-client" not in requirements(tmp_path / "without")


def test_universal_lock_counts_only_entries_for_the_target(lock_builder, tmp_path):
    lock_builder.package("flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"])
    old = "python_full_version < '3.12'"
    new = "python_full_version >= '3.12'"
    lock_builder.package("numpy", "2.2.0", ["numpy-2.2.0-py3-none-any.whl"], marker=old)
    lock_builder.package("numpy", "2.4.0", ["numpy-2.4.0-py3-none-any.whl"], marker=new)
    path = lock_builder.write(requires_python=">=3.11")
    staged, _ = build(path, tmp_path, deps=["flask", "numpy>=2.4"], python_version="3.13")
    staged.commit()
    assert "numpy==2.4.0" in requirements(tmp_path)
    with pytest.raises(WheelhouseError, match=r"numpy>=2\.4 \(locked: 2\.2\.0\)"):
        build(path, tmp_path, deps=["flask", "numpy>=2.4"], python_version="3.11")

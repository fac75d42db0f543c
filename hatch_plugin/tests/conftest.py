"""Fixture locks made of local files, so selection and caching run offline."""

import hashlib
import signal
from pathlib import Path

import pytest
from distributions import sdist_bytes, wheel_bytes

MARKUPSAFE_WHEELS = [
    "markupsafe-3.0.4-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
    "markupsafe-3.0.4-cp313-cp313-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl",
    "markupsafe-3.0.4-cp313-cp313-musllinux_1_2_x86_64.whl",
    "markupsafe-3.0.4-cp313-cp313-macosx_11_0_arm64.whl",
    "markupsafe-3.0.4-cp313-cp313-win_amd64.whl",
    "markupsafe-3.0.4-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
]


class LockBuilder:
    """Writes distribution files and a pylock.toml naming them by path."""

    def __init__(self, root: Path):
        self.root = root
        self.files = root / "files"
        self.files.mkdir(exist_ok=True)
        self.packages: list[str] = []

    def file(self, filename: str, requires=(), data: bytes | None = None) -> str:
        if data is None:
            make = wheel_bytes if filename.endswith(".whl") else sdist_bytes
            data = make(filename, requires)
        (self.files / filename).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        hashes = f'{{ sha256 = "{digest}" }}'
        return f'{{ path = "files/{filename}", size = {len(data)}, hashes = {hashes} }}'

    def package(
        self, name, version, wheels=(), sdist=None, marker=None, requires=(), sdist_data=None
    ):
        """`sdist_data`: the sdist's bytes, when not the ones sdist_bytes makes."""
        lines = ["[[packages]]", f'name = "{name}"', f'version = "{version}"']
        if marker:
            lines.append(f"marker = {marker!r}")
        if sdist:
            lines.append(f"sdist = {self.file(sdist, requires, sdist_data)}")
        if wheels:
            files = ", ".join(self.file(w, requires) for w in wheels)
            lines.append(f"wheels = [{files}]")
        self.packages.append("\n".join(lines))
        return self

    def write(self, requires_python=">=3.13", name="pylock.toml", extras=()) -> Path:
        """Write the lock of the packages added so far, and start a new one;
        `extras`: those it declares (packages then select with `... in extras`)."""
        head = (
            f'lock-version = "1.0"\ncreated-by = "tests"\nrequires-python = "{requires_python}"\n'
        )
        if extras:
            head += f"extras = {list(extras)!r}\n"
        path = self.root / name
        path.write_text(head + "\n" + "\n\n".join(self.packages) + "\n")
        self.packages = []
        return path


@pytest.fixture
def lock_builder(tmp_path):
    return LockBuilder(tmp_path)


@pytest.fixture
def web_lock(lock_builder):
    """flask-like: pure wheels, markupsafe per platform, a Windows-only package."""
    lock_builder.package("blinker", "1.9.0", ["blinker-1.9.0-py3-none-any.whl"])
    flask_requires = ["blinker>=1.9", "markupsafe>=2.1", "colorama; sys_platform == 'win32'"]
    lock_builder.package(
        "flask", "3.1.3", ["flask-3.1.3-py3-none-any.whl"], requires=flask_requires
    )
    lock_builder.package("markupsafe", "3.0.4", MARKUPSAFE_WHEELS)
    lock_builder.package(
        "colorama",
        "0.4.6",
        ["colorama-0.4.6-py2.py3-none-any.whl"],
        marker="sys_platform == 'win32'",
    )
    return lock_builder.write()


class Hung(BaseException):
    """Not an Exception: no `except` in the code under test takes it for its own."""


@pytest.fixture
def deadline():
    """Fails a test that hangs (reading a FIFO, say) instead of waiting forever."""

    def expire(signum, frame):
        raise Hung("still running after 5 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)

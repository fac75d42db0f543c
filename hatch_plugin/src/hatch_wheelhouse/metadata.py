"""What a distribution file says about itself: what it requires, and for an
sdist, what building it requires.

The files come from outside: whatever a damaged or hostile one makes its
reader raise becomes one line naming it.
"""

import lzma
import tarfile
import time
import tomllib
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from . import names
from .errors import WheelhouseError

# What pip assumes for an sdist with no [build-system] table: setuptools, and
# before pip 24.1 (bookworm's) wheel too, so both must be locked.
LEGACY_BUILD_REQUIRES = ("setuptools>=40.8.0", "wheel")
# Far above any real METADATA, PKG-INFO or pyproject.toml (tens of kB), far
# below what a compressed member crafted to explode would take to read.
MAX_MEMBER_BYTES = 4 * 1024 * 1024
# What zipfile and tarfile raise, or let their decompressors raise, on an
# archive they cannot read (ValueError: a zip name that is not UTF-8, say).
ARCHIVE_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    zlib.error,
    lzma.LZMAError,
    tarfile.TarError,
    zipfile.BadZipFile,
)


def requires(path: Path, is_wheel: bool) -> list[Requirement] | None:
    """The file's Requires-Dist, or None when an sdist cannot say for sure:
    before metadata 2.2, or with Requires-Dist marked dynamic, only its build
    backend tells (sdists.requires_of)."""
    if is_wheel:
        headers = _parse(_wheel_member(path, "METADATA"), path)
    else:
        headers = _parse(_sdist_member(path, "PKG-INFO"), path)
        try:
            version = Version(headers.get("Metadata-Version", "1.0"))
        except InvalidVersion:
            return None
        dynamic = {field.lower() for field in headers.get_all("Dynamic") or ()}
        if version < Version("2.2") or "requires-dist" in dynamic:
            return None
    return requirements(headers.get_all("Requires-Dist") or (), path)


def build_requires(sdist: Path) -> list[Requirement]:
    """The sdist's [build-system] requires (PEP 518)."""
    text = _sdist_member(sdist, "pyproject.toml", required=False)
    try:
        table = tomllib.loads(text).get("build-system", {}) if text else {}
    except (tomllib.TOMLDecodeError, RecursionError) as exc:  # deep nesting: RecursionError
        raise WheelhouseError(f"{sdist.name}: its pyproject.toml is not TOML: {exc}") from None
    lines = table.get("requires", LEGACY_BUILD_REQUIRES) if isinstance(table, dict) else None
    if not isinstance(lines, list | tuple) or not all(isinstance(x, str) for x in lines):
        raise WheelhouseError(
            f"{sdist.name}: its pyproject.toml's build-system.requires is not a list of strings"
        )
    return requirements(lines, sdist)


def source_date_epoch(sdist: Path) -> int:
    """The newest modification time in the sdist: a build from the same bytes
    gets the same timestamps, hence the same wheel."""
    with _reading(sdist):
        if sdist.suffix == ".zip":
            with zipfile.ZipFile(sdist) as archive:
                times = [time.mktime((*i.date_time, 0, 0, -1)) for i in archive.infolist()]
                return int(max(times, default=0))
        with tarfile.open(sdist) as tar:
            # PAX headers give times as fractions; SOURCE_DATE_EPOCH must be whole seconds.
            return int(max((member.mtime for member in tar.getmembers()), default=0))


def requirements(lines: Iterable[str], path: Path) -> list[Requirement]:
    """Requirements that `path` states, each of them safe to show in a message."""
    found = []
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0]  # packaging adds the line and a caret below
            raise WheelhouseError(
                f"{path.name}: invalid requirement {line!a:.100} in its metadata: {reason}"
            ) from None
        # Quoted marker values and URLs may hold any character.
        names.printable(str(requirement), f"{path.name}: the requirement")
        found.append(requirement)
    return found


def _parse(text: str | None, path: Path) -> Message:
    if text is None:
        raise WheelhouseError(f"{path.name} has no metadata")
    return HeaderParser().parsestr(text)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    try:
        yield
    except ARCHIVE_ERRORS as exc:
        reason = names.shown(str(exc))  # it may quote a member's name
        raise WheelhouseError(f"{path.name} is not a readable archive: {reason}") from None


def _wheel_member(path: Path, name: str) -> str | None:
    with _reading(path), zipfile.ZipFile(path) as wheel:
        for member in wheel.namelist():
            folder, _, base = member.partition("/")
            if folder.endswith(".dist-info") and base == name:
                with wheel.open(member) as data:
                    return _text(_bounded(data, path, member), path, member)
    return None


def _sdist_member(path: Path, name: str, required: bool = True) -> str | None:
    """A file at the top of the sdist's one folder."""
    wanted = lambda member: member.count("/") == 1 and member.endswith("/" + name)  # noqa: E731
    found, data = None, b""
    with _reading(path):
        if path.suffix == ".zip":  # sdists from before tar.gz was the rule
            with zipfile.ZipFile(path) as archive:
                found = next(filter(wanted, archive.namelist()), None)
                if found:
                    with archive.open(found) as stream:
                        data = _bounded(stream, path, found)
        else:
            with tarfile.open(path) as tar:
                member = next((m for m in tar.getmembers() if m.isfile() and wanted(m.name)), None)
                if member:
                    found, data = member.name, _bounded(tar.extractfile(member), path, member.name)
    if found is None:
        if required:
            raise WheelhouseError(f"{path.name} has no {name}")
        return None
    return _text(data, path, found)


def _bounded(data, path: Path, member: str) -> bytes:
    """A member's bytes, refusing one larger than any real metadata file
    before it is all decompressed."""
    content = data.read(MAX_MEMBER_BYTES + 1)
    if len(content) > MAX_MEMBER_BYTES:
        raise WheelhouseError(
            f"{path.name}: {names.shown(member)} is over {MAX_MEMBER_BYTES // (1024 * 1024)} MiB: "
            "not a real metadata file"
        )
    return content


def _text(data: bytes, path: Path, member: str) -> str:
    """Core metadata and pyproject.toml are UTF-8: pip too refuses a wheel whose
    METADATA is not."""
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise WheelhouseError(
            f"{path.name}: {names.shown(member)} is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None

"""What a distribution file says about itself: what it requires, and for an
sdist, what building it requires."""

import tarfile
import time
import tomllib
import zipfile
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from .errors import WheelhouseError

# What pip assumes for an sdist with no [build-system] table: setuptools, and
# before pip 24.1 (bookworm's) wheel too, so both must be locked.
LEGACY_BUILD_REQUIRES = ("setuptools>=40.8.0", "wheel")
# Far above any real METADATA, PKG-INFO or pyproject.toml (tens of kB), far
# below what a compressed member crafted to explode would take to read.
MAX_MEMBER_BYTES = 4 * 1024 * 1024


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
    return _requirements(headers.get_all("Requires-Dist") or (), path)


def build_requires(sdist: Path) -> list[Requirement]:
    """The sdist's [build-system] requires (PEP 518)."""
    text = _sdist_member(sdist, "pyproject.toml", required=False)
    table = tomllib.loads(text).get("build-system", {}) if text else {}
    return _requirements(table.get("requires", LEGACY_BUILD_REQUIRES), sdist)


def source_date_epoch(sdist: Path) -> int:
    """The newest modification time in the sdist: a build from the same bytes
    gets the same timestamps, hence the same wheel."""
    if sdist.suffix == ".zip":
        with _open_zip(sdist) as archive:
            times = [time.mktime((*i.date_time, 0, 0, -1)) for i in archive.infolist()]
            return int(max(times, default=0))
    with _open_tar(sdist) as tar:
        # PAX headers give times as fractions; SOURCE_DATE_EPOCH must be whole seconds.
        return int(max((member.mtime for member in tar.getmembers()), default=0))


def _requirements(lines, path: Path) -> list[Requirement]:
    try:
        return [Requirement(line) for line in lines]
    except InvalidRequirement as exc:
        raise WheelhouseError(f"{path.name}: invalid requirement in its metadata: {exc}") from None


def _parse(text: str, path: Path) -> Message:
    if text is None:
        raise WheelhouseError(f"{path.name} has no metadata")
    return HeaderParser().parsestr(text)


def _wheel_member(path: Path, name: str) -> str | None:
    with _open_zip(path) as wheel:
        for member in wheel.namelist():
            folder, _, base = member.partition("/")
            if folder.endswith(".dist-info") and base == name:
                with wheel.open(member) as data:
                    return _bounded(data, path, member).decode(errors="replace")
    return None


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise WheelhouseError(f"{path.name} is not a readable archive: {exc}") from None


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path)
    except tarfile.TarError as exc:
        raise WheelhouseError(f"{path.name} is not a readable archive: {exc}") from None


def _sdist_member(path: Path, name: str, required: bool = True) -> str | None:
    """A file at the top of the sdist's one folder."""
    wanted = lambda member: member.count("/") == 1 and member.endswith("/" + name)  # noqa: E731
    if path.suffix == ".zip":  # sdists from before tar.gz was the rule
        with _open_zip(path) as archive:
            found = next(filter(wanted, archive.namelist()), None)
            if found:
                with archive.open(found) as data:
                    text = _bounded(data, path, found).decode()
            else:
                text = None
    else:
        with _open_tar(path) as tar:
            found = next((m for m in tar.getmembers() if m.isfile() and wanted(m.name)), None)
            text = _bounded(tar.extractfile(found), path, found.name).decode() if found else None
    if text is None and required:
        raise WheelhouseError(f"{path.name} has no {name}")
    return text


def _bounded(data, path: Path, member: str) -> bytes:
    """A member's bytes, refusing one larger than any real metadata file
    before it is all decompressed."""
    content = data.read(MAX_MEMBER_BYTES + 1)
    if len(content) > MAX_MEMBER_BYTES:
        raise WheelhouseError(
            f"{path.name}: {member} is over {MAX_MEMBER_BYTES // (1024 * 1024)} MiB: "
            "not a real metadata file"
        )
    return content

"""Reading a PEP 751 lock: freshness against the project, and the files a target needs."""

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.pylock import (
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockSelectError,
)
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from . import names, target
from .config import PYTHON_VERSION, SECTION
from .errors import WheelhouseError

SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class LockedFile:
    """One distribution file the lock names for a package."""

    name: str
    version: str
    filename: str
    sha256: str
    size: int | None
    url: str | None
    path: Path | None  # a local file named by the lock, relative paths resolved
    is_wheel: bool


def relock(command: str | None, verb: str) -> str:
    """How to fix the lock: the project's command when the config names one."""
    return f"run `{command}` to {verb} it" if command else f"{verb} it with the project's locker"


def read(path: Path, command: str | None = None) -> tuple[Pylock, str]:
    """The parsed lock and the sha256 of its bytes."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WheelhouseError(f"{path.name} not found: {relock(command, 'write')}") from None
    try:
        lock = Pylock.from_dict(tomllib.loads(data.decode()))
    except Exception as exc:  # tomllib and packaging each raise their own types
        raise WheelhouseError(f"{path.name} is not a valid PEP 751 lock: {exc}") from exc
    check_names(lock, path)
    return lock, hashlib.sha256(data).hexdigest()


def check_names(lock: Pylock, path: Path) -> None:
    """What the lock says that becomes a path or part of a message, checked
    before any of it is used: packaging lets a file name hold a `/`, a NUL or
    a right-to-left override (in a build tag, say)."""
    for i, package in enumerate(lock.packages):
        where = f"{path.name}: packages[{i}]"
        names.plain(str(package.name), f"{where}: the name")
        if package.version is not None:
            names.plain(str(package.version), f"{where}: the version")
        for dist in [*(package.wheels or ()), *([package.sdist] if package.sdist else ())]:
            filename = names.plain(dist.filename, f"{where}: the file name")
            if dist.url:
                names.url(dist.url, f"{where}: the url of {filename}")
            if dist.path:
                names.printable(dist.path, f"{where}: the path of {filename}")


def default_python(lock: Pylock, path: Path) -> str:
    """The lowest Python the lock admits: uv writes '>=X.Y' for --python-version."""
    for spec in lock.requires_python or SpecifierSet():
        version = ".".join(spec.version.split(".")[:2])
        if spec.operator == ">=" and PYTHON_VERSION.fullmatch(version):
            return version
    raise WheelhouseError(
        f"{path.name} has no requires-python lower bound such as >=3.13; "
        "set python-version in the hook config"
    )


def default_platform(lock: Pylock) -> str:
    """The newest manylinux x86_64 platform among the lock's wheels (2.17 if all are pure)."""
    newest = 17
    for package in lock.packages:
        for wheel in package.wheels or ():
            for tag in parse_wheel_filename(wheel.filename)[-1]:
                try:
                    glibc, arch = target.parse_platform(tag.platform)
                except ValueError:
                    continue
                if arch == "x86_64":
                    newest = max(newest, glibc)
    return f"manylinux_2_{newest}_x86_64"


def check_python(lock: Pylock, path: Path, python: str) -> None:
    """Relocking cannot help a target the lock's requires-python excludes."""
    if lock.requires_python and not lock.requires_python.contains(python + ".0"):
        raise WheelhouseError(
            f"{path.name} is for Python {lock.requires_python}, the target is CPython {python}: "
            "build for a Python the lock admits (python-version, or "
            "HATCH_WHEELHOUSE_PYTHON_VERSION), or lock for that Python too"
        )


def select(
    lock: Pylock, lock_path: Path, python_version: str, platform: str, extras: tuple[str, ...]
) -> list[LockedFile]:
    """The file to install for each package on the target: a wheel, or the sdist."""
    return select_for(
        lock,
        lock_path,
        target.marker_environment(python_version, platform),
        target.wheel_tags(python_version, platform),
        extras,
        f"CPython {python_version} {platform}",
        f"; lock a version with a wheel for it, or leave {platform} out of {SECTION}.platforms",
    )


def select_for(
    lock: Pylock,
    lock_path: Path,
    environment: dict[str, str] | None,
    tags: list[Tag] | None,
    extras: tuple[str, ...],
    described: str,
    advice: str = "",
) -> list[LockedFile]:
    """Like select(); environment and tags None mean the running interpreter's."""
    # A lock made with the extras applied (`uv pip compile --extra`) holds their
    # packages unconditionally and declares none: only the declared ones select
    # anything, and packaging 26.4 and later refuse the others. The closure check
    # still finds an extra whose requirements the lock lacks.
    declared = {canonicalize_name(extra) for extra in lock.extras or ()}
    extras = tuple(extra for extra in extras if canonicalize_name(extra) in declared)
    try:
        chosen = list(lock.select(environment=environment, tags=tags, extras=extras))
    except PylockSelectError as exc:
        raise WheelhouseError(
            f"{lock_path.name} cannot be installed on {described}: {exc}{advice}"
        ) from exc
    files = []
    for package, dist in chosen:
        if isinstance(dist, PackageDirectory | PackageVcs | PackageArchive):
            # Relocking cannot help: say what is wrong instead.
            source = "a local directory" if package.directory else "a VCS or an archive"
            raise WheelhouseError(
                f"{package.name} is locked from {source}, which a wheelhouse cannot hold: "
                "depend on a released version, or build its wheel and lock that file"
            )
        files.append(
            LockedFile(
                name=str(package.name),
                version=str(package.version or _file_version(dist)),
                filename=dist.filename,  # a plain name (check_names)
                sha256=_sha256(package.name, dist),
                size=dist.size,
                url=dist.url,
                path=lock_path.parent / dist.path if dist.path else None,
                is_wheel=isinstance(dist, PackageWheel),
            )
        )
    return files


def _file_version(dist: PackageWheel | PackageSdist) -> str:
    """The version a file name gives, for a package the lock gives none (PEP 751 allows it)."""
    if isinstance(dist, PackageWheel):
        return str(parse_wheel_filename(dist.filename)[1])
    return str(parse_sdist_filename(dist.filename)[1])


# The sha256 names the cached file: a lock is data from outside, so it is
# checked before it becomes part of a path.
def _sha256(name: str, dist: PackageWheel | PackageSdist) -> str:
    value = dist.hashes.get("sha256")
    if value is None:
        raise WheelhouseError(f"{name}: the lock gives no sha256 for {dist.filename}")
    if not isinstance(value, str) or not SHA256.fullmatch(value):
        raise WheelhouseError(
            f"{name}: the sha256 of {dist.filename} is not 64 hexadecimal digits: {value!r:.80}"
        )
    return value.lower()

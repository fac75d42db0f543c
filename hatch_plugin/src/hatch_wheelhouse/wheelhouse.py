"""Assembling dist/wheelhouse: the files, requirements.txt and manifest.json.

Everything is staged in a temporary folder beside the target and renamed into
place only when the project's own wheel has been added, so a failed build never
leaves a half-written wheelhouse behind.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from . import lock as lockfile
from . import target
from .config import SECTION, Config
from .credentials import redact
from .errors import WheelhouseError
from .fetch import Cache, default_cache_dir, remove_abandoned, sha256_of
from .sdists import build_wheel

Log = Callable[[str], None]


@dataclass(frozen=True)
class Entry:
    name: str
    version: str
    filename: str
    sha256: str
    origin: str


def requirements_text(entries: list[Entry]) -> str:
    lines = sorted(f"{e.name}=={e.version} --hash=sha256:{e.sha256}" for e in entries)
    return "\n".join(lines) + "\n"


class Staged:
    """A wheelhouse being assembled: one folder per target platform."""

    def __init__(self, final: Path, staging: Path, lock_info: dict, python: str):
        self.final = final
        self.staging = staging
        self.lock_info = lock_info
        self.python = python
        self.folders: dict[str, Path] = {}
        self.entries: dict[str, list[Entry]] = {}

    def add(self, platform: str, source: Path, entry: Entry) -> None:
        """A file made by this build (not fetched): the project's or a built wheel."""
        shutil.copyfile(source, self.folders[platform] / entry.filename)
        self.entries[platform].append(entry)

    def add_project_wheel(self, wheel: Path, name: str, version: str) -> None:
        entry = Entry(name, version, wheel.name, sha256_of(wheel), "this project")
        for platform in self.folders:
            self.add(platform, wheel, entry)

    def commit(self) -> None:
        for platform, folder in self.folders.items():
            entries = sorted(self.entries[platform], key=lambda e: e.name)
            (folder / "requirements.txt").write_text(requirements_text(entries))
            manifest = {
                "lock": self.lock_info,
                "python": self.python,
                "implementation": "cp",
                "platform": platform,
                "best_tag": str(target.wheel_tags(self.python, platform)[0]),
                "files": [asdict(e) for e in entries],
            }
            (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        old = self.final.with_name(f".{self.final.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        if self.final.exists():
            self.final.rename(old)
        self.staging.rename(self.final)
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def prepare(
    config: Config,
    dependencies: list[str],
    optional_dependencies: dict[str, list[str]],
    build_dir: Path,
    log: Log,
) -> Staged:
    """Fetch and verify what the lock names for each target into a staging folder."""
    lock, lock_sha = lockfile.read(config.lock_file, config.lock_command)
    python = config.python_version or lockfile.default_python(lock, config.lock_file)
    lockfile.check_python(lock, config.lock_file, python)
    platforms = config.platforms or (lockfile.default_platform(lock),)

    requirements = list(dependencies)
    for i, extra in enumerate(config.extras):
        if extra not in optional_dependencies:
            raise WheelhouseError(f"{SECTION}.extras[{i}]: the project has no extra {extra!r}")
        requirements += optional_dependencies[extra]
    for platform in platforms:
        env = {**target.marker_environment(python, platform), "extra": ""}
        stale = lockfile.stale_requirements(lock, requirements, env)
        if stale:
            raise WheelhouseError(
                f"{config.lock_file.name} is stale for CPython {python} {platform}: "
                + "; ".join(stale)
                + "; "
                + lockfile.relock(config.lock_command, "update")
            )

    build_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(build_dir)
    staging = Path(tempfile.mkdtemp(dir=build_dir, prefix=".wheelhouse-"))
    # mkdtemp's 0700 would lock out a builder that runs as another user.
    staging.chmod(0o777 & ~current_umask())
    lock_info = {"file": config.lock_file.name, "sha256": lock_sha}
    staged = Staged(build_dir / "wheelhouse", staging, lock_info, python)
    cache = Cache(config.cache_dir or default_cache_dir(), config.find_links)
    try:
        for platform in platforms:
            folder = staged.staging if len(platforms) == 1 else staged.staging / platform
            folder.mkdir(exist_ok=True)
            staged.folders[platform] = folder
            staged.entries[platform] = []
            _collect(staged, cache, config, lock, platform, python, log)
    except BaseException:
        staged.discard()
        raise
    return staged


def _collect(staged, cache, config, lock, platform, python, log) -> None:
    files = lockfile.select(lock, config.lock_file, python, platform, config.extras)
    accepted = target.wheel_tags(python, platform)
    from_cache = 0
    folder = staged.folders[platform]
    for file in files:
        source = redact(file.url) if file.url else str(file.path)
        if file.is_wheel or config.sdists == "include":
            origin = cache.copy(file, folder / file.filename, log)
            entry = Entry(file.name, file.version, file.filename, file.sha256, source)
            staged.entries[platform].append(entry)
        elif config.sdists == "build":
            with tempfile.TemporaryDirectory() as tmp:
                # Under its real name: pip reads the name and version from it.
                sdist = Path(tmp, file.filename)
                origin = cache.copy(file, sdist, log)
                built = build_wheel(sdist, accepted, Path(tmp, "out"))
                built_from = f"built from {file.filename} sha256:{file.sha256}"
                entry = Entry(file.name, file.version, built.name, sha256_of(built), built_from)
                staged.add(platform, built, entry)
            log(f"built {built.name} from {file.filename}")
        else:
            raise WheelhouseError(
                f"{file.name} {file.version}: no locked wheel runs on CPython {python} "
                f"{platform} (best tag {accepted[0]}). Lock a version that has such a "
                "wheel, or set sdists = 'build' (build it on this host) or 'include' "
                f"(build it in the image) in [{SECTION}]"
            )
        from_cache += origin == "cache"
    size = sum((folder / e.filename).stat().st_size for e in staged.entries[platform])
    log(
        f"wheelhouse for CPython {python} {platform}: {len(files)} files, "
        f"{size / 1e6:.1f} MB, {from_cache} from cache"
    )


def remove_leftovers(build_dir: Path) -> None:
    """Staging folders of builds that failed or were killed (this project's own)."""
    remove_abandoned(build_dir, ".wheelhouse-*", older_than=0)


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

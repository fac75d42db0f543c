"""Assembling dist/wheelhouse: the files, their requirements.txt and manifest.json.

For each target platform the wheelhouse has three folders, each with its own
hashed requirements.txt, so an image build can install them as separate,
separately cached steps:

    dependencies/  every locked file the project's requirements reach
    build/         build requirements of the sdists in dependencies/ (often none)
    project/       this project's wheel

Everything is staged in a temporary folder beside the target and renamed into
place only when the project's own wheel has been added, so a failed build never
leaves a half-written wheelhouse behind. Builds of one project may run at once:
each holds a lock on its own staging folder, which no other build removes, and
they take turns (a lock on dist/.wheelhouse.lock) to rename theirs into place.
"""

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from . import lock as lockfile
from . import metadata, target
from .closure import Locked, closure
from .config import SECTION, Config
from .credentials import redact
from .errors import WheelhouseError
from .fetch import Cache, default_cache_dir, sha256_of
from .lock import LockedFile
from .sdists import build_wheel, requires_of

Log = Callable[[str], None]
PARTS = ("dependencies", "build", "project")


@dataclass(frozen=True)
class Entry:
    name: str
    version: str
    filename: str
    sha256: str
    origin: str
    folder: str  # one of PARTS


def requirements_text(entries: list[Entry]) -> str:
    lines = sorted(f"{e.name}=={e.version} --hash=sha256:{e.sha256}" for e in entries)
    return "".join(line + "\n" for line in lines)


class Staged:
    """A wheelhouse being assembled: one folder per target platform."""

    def __init__(self, final: Path, staging: Path, claim: int, lock_info: dict, python: str):
        self.final = final
        self.staging = staging
        self.claim: int | None = claim  # the descriptor holding the staging folder's lock
        self.lock_info = lock_info
        self.python = python
        self.project: str | None = None
        self.folders: dict[str, Path] = {}
        self.entries: dict[str, list[Entry]] = {}

    def open(self, platform: str, alone: bool) -> Path:
        folder = self.staging if alone else self.staging / platform
        for part in PARTS:
            (folder / part).mkdir(parents=True)
        self.folders[platform] = folder
        self.entries[platform] = []
        return folder

    def add(self, platform: str, source: Path, entry: Entry) -> None:
        """A file made by this build (not fetched): the project's or a built wheel."""
        shutil.copyfile(source, self.folders[platform] / entry.folder / entry.filename)
        self.entries[platform].append(entry)

    def add_project_wheel(self, wheel: Path, name: str, version: str) -> None:
        self.project = name
        entry = Entry(name, version, wheel.name, sha256_of(wheel), "this project", "project")
        for platform in self.folders:
            self.add(platform, wheel, entry)

    def commit(self) -> None:
        for platform, folder in self.folders.items():
            entries = sorted(self.entries[platform], key=lambda e: (e.folder, e.name))
            for part in PARTS:
                text = requirements_text([e for e in entries if e.folder == part])
                (folder / part / "requirements.txt").write_text(text)
            manifest = {
                "project": self.project,
                "lock": self.lock_info,
                "python": self.python,
                "implementation": "cp",
                "platform": platform,
                "best_tag": str(target.wheel_tags(self.python, platform)[0]),
                "files": [asdict(e) for e in entries],
            }
            (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        with locked(self.final.parent):
            old = self.final.with_name(f".{self.final.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            if self.final.exists():
                self.final.rename(old)
            self.staging.rename(self.final)
            shutil.rmtree(old, ignore_errors=True)
        self.release()

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self.claim is not None:
            os.close(self.claim)
            self.claim = None


def prepare(
    config: Config,
    dependencies: list[str],
    optional_dependencies: dict[str, list[str]],
    build_dir: Path,
    log: Log,
    project: str | None = None,
) -> Staged:
    """Fetch and verify what the lock names for each target into a staging folder.

    `project`, the project's name, must not be locked: its wheel would take
    the place of the dependency of that name."""
    # A wheelhouse that no longer matches the project must not outlive a failed
    # build beside a new wheel: an image built from it would ship the old set.
    if build_dir.is_dir():
        with locked(build_dir):  # not while another build moves its own into place
            shutil.rmtree(build_dir / "wheelhouse", ignore_errors=True)
    lock, lock_sha = lockfile.read(config.lock_file, config.lock_command)
    python = config.python_version or lockfile.default_python(lock, config.lock_file)
    lockfile.check_python(lock, config.lock_file, python)
    platforms = config.platforms or (lockfile.default_platform(lock),)
    roots = project_requirements(config, dependencies, optional_dependencies)

    # What the project asks for must be locked, checked before any download.
    selected = {}
    for platform in platforms:
        files = lockfile.select(lock, config.lock_file, python, platform, config.extras)
        env = target.marker_environment(python, platform)
        found = closure(roots, {f.name: Locked(f.version, None) for f in files}, env)
        if found.problems:
            raise stale(config, python, platform, found.problems)
        named = canonicalize_name(project or "")
        if same := [f for f in files if canonicalize_name(f.name) == named]:
            raise WheelhouseError(
                f"the project is named {project!r}, and {config.lock_file.name} locks "
                f"{same[0].name} {same[0].version} too (a dependency, or one of theirs): "
                "installing one would replace the other; rename the project"
            )
        selected[platform] = files

    build_dir.mkdir(parents=True, exist_ok=True)
    staging, claim = new_staging(build_dir)
    lock_info = {"file": config.lock_file.name, "sha256": lock_sha}
    staged = Staged(build_dir / "wheelhouse", staging, claim, lock_info, python)
    cache = Cache(config.cache_dir or default_cache_dir(), config)
    try:
        for platform, files in selected.items():
            staged.open(platform, alone=len(platforms) == 1)
            Collector(staged, cache, config, platform, log).collect(files, roots)
    except BaseException:
        staged.discard()
        raise
    return staged


def project_requirements(
    config: Config, dependencies: list[str], optional_dependencies: dict[str, list[str]]
) -> list[Requirement]:
    lines = list(dependencies)
    # Extras compare by their normalized names (PEP 685).
    declared = {canonicalize_name(name): deps for name, deps in optional_dependencies.items()}
    missing = []
    for i, extra in enumerate(config.extras):
        if canonicalize_name(extra) in declared:
            lines += declared[canonicalize_name(extra)]
        else:
            missing.append(f"{SECTION}.extras[{i}]: the project has no extra {extra!r}")
    if missing:
        raise WheelhouseError("; ".join(missing))
    return [Requirement(line) for line in lines]


def stale(config: Config, python: str, platform: str, problems: list[str]) -> WheelhouseError:
    return WheelhouseError(
        f"{config.lock_file.name} is stale for CPython {python} {platform}: "
        + "; ".join(problems)
        + "; "
        + lockfile.relock(config.lock_command, "update")
    )


class Collector:
    """Fills one platform's folders and checks that they hold exactly the
    closure of the project's requirements."""

    def __init__(self, staged: Staged, cache: Cache, config: Config, platform: str, log: Log):
        self.staged, self.cache, self.config, self.log = staged, cache, config, log
        self.platform = platform
        self.python = staged.python
        self.folder = staged.folders[platform]
        self.accepted = target.wheel_tags(self.python, platform)
        self.fetched = self.from_cache = 0

    def collect(self, files: list[LockedFile], roots: list[Requirement]) -> None:
        requires: dict[str, list[Requirement] | None] = {}
        included: list[tuple[LockedFile, Path]] = []
        to_build: list[LockedFile] = []
        for file in files:
            if file.is_wheel or self.config.sdists == "include":
                path = self.place(file, "dependencies")
                requires[file.name] = metadata.requires(path, file.is_wheel)
                if not file.is_wheel:
                    included.append((file, path))
                    self.log(f"{file.filename} ships as an sdist: the image build builds it")
            elif self.config.sdists == "build":
                to_build.append(file)
            else:
                raise WheelhouseError(
                    f"{file.name} {file.version}: no locked wheel runs on CPython {self.python} "
                    f"{self.platform} (best tag {self.accepted[0]}). Lock a version that has "
                    "such a wheel, or set sdists = 'build' (build it on this host) or "
                    f"'include' (build it in the image) in [{SECTION}], and lock its build "
                    f"requirements in {self.config.build_lock.name}"
                )
        if included:
            for tool in self.build_tools(included, on_host=False):
                self.place(tool, "build")
            for file, sdist in included:
                if requires[file.name] is None:  # an old sdist: ask its backend
                    requires[file.name] = requires_of(sdist, self.folder / "build")
        if to_build:
            with tempfile.TemporaryDirectory() as tmp:
                # Under their real names: pip reads the name and version from them.
                sdists = [(file, self.copy(file, Path(tmp))) for file in to_build]
                tools = Path(tmp, "tools")
                tools.mkdir()
                for tool in self.build_tools(sdists, on_host=True):
                    self.copy(tool, tools)
                for file, sdist in sdists:
                    built = self.build(file, sdist, tools, Path(tmp, f"out-{file.name}"))
                    requires[file.name] = metadata.requires(built, is_wheel=True)
        self.check_closure(files, requires, roots)
        self.report(len(files))

    def copy(self, file: LockedFile, folder: Path) -> Path:
        """A verified copy of a locked file."""
        path = folder / file.filename
        if self.cache.copy(file, path, self.log) == "cache":
            self.from_cache += 1
        else:
            self.fetched += 1
        return path

    def place(self, file: LockedFile, part: str) -> Path:
        """A locked file into one of the wheelhouse's folders."""
        path = self.copy(file, self.folder / part)
        source = redact(file.url) if file.url else str(file.path)
        entry = Entry(file.name, file.version, file.filename, file.sha256, source, part)
        self.staged.entries[self.platform].append(entry)
        return path

    def build_tools(self, sdists: list[tuple[LockedFile, Path]], on_host: bool) -> list[LockedFile]:
        """The build lock's files for where the sdists are built, once checked
        to satisfy each sdist's [build-system] requires."""
        config = self.config
        needs = {file: metadata.build_requires(sdist) for file, sdist in sdists}
        try:
            tools_lock, _ = lockfile.read(config.build_lock, config.lock_command)
        except WheelhouseError as exc:
            wanted = "; ".join(
                f"{f.name} {f.version}: {', '.join(map(str, r))}" for f, r in needs.items()
            )
            raise WheelhouseError(
                f"building from an sdist needs the build requirements locked ({wanted}): {exc}"
            ) from None
        if on_host:
            env, tags, where = None, None, "this host"
        else:
            env = target.marker_environment(self.python, self.platform)
            tags, where = self.accepted, f"CPython {self.python} {self.platform}"
        tools = lockfile.select_for(tools_lock, config.build_lock, env, tags, (), where)
        locked = {t.name: Locked(t.version, None) for t in tools}
        for file, requirements in needs.items():
            found = closure(requirements, locked, env or default_environment())
            if found.problems:
                raise WheelhouseError(
                    f"{file.filename} needs {', '.join(found.problems)} to build: lock it in "
                    f"{config.build_lock.name} ({lockfile.relock(config.lock_command, 'update')})"
                )
        return tools

    def build(self, file: LockedFile, sdist: Path, tools: Path, out: Path) -> Path:
        built = build_wheel(sdist, tools, self.accepted, out)
        origin = f"built from {file.filename} sha256:{file.sha256}"
        entry = Entry(file.name, file.version, built.name, sha256_of(built), origin, "dependencies")
        self.staged.add(self.platform, built, entry)
        self.log(f"built {built.name} from {file.filename}")
        return built

    def check_closure(self, files, requires, roots) -> None:
        """The lock must hold what the requirements reach, and nothing else."""
        locked = {f.name: Locked(f.version, requires[f.name]) for f in files}
        env = target.marker_environment(self.python, self.platform)
        found = closure(roots, locked, env)
        problems = list(found.problems)
        for name in sorted(set(locked) - set(found.reached)):
            problems.append(f"{name} {locked[name].version} (nothing requires it)")
        if problems:
            raise stale(self.config, self.python, self.platform, problems)

    def report(self, count: int) -> None:
        folder = self.folder / "dependencies"
        size = sum(p.stat().st_size for p in folder.iterdir())
        self.log(
            f"wheelhouse for CPython {self.python} {self.platform}: {count} files, "
            f"{size / 1e6:.1f} MB; {self.fetched} fetched, {self.from_cache} from cache"
        )


@contextmanager
def locked(build_dir: Path) -> Iterator[None]:
    """One build at a time in what builds of the project share in dist/: making
    a staging folder, removing others' leftovers, renaming one into place."""
    fd = os.open(build_dir / ".wheelhouse.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # which releases the lock


def new_staging(build_dir: Path) -> tuple[Path, int]:
    """A staging folder of this build's own, and a descriptor holding a shared
    lock on it: until this build ends, remove_leftovers leaves it alone."""
    with locked(build_dir):
        remove_leftovers(build_dir)
        staging = Path(tempfile.mkdtemp(dir=build_dir, prefix=".wheelhouse-"))
        # mkdtemp's 0700 would lock out a builder that runs as another user.
        staging.chmod(0o777 & ~current_umask())
        claim = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
        # A file system without locks: remove_leftovers cannot lock it either.
        with suppress(OSError):
            fcntl.flock(claim, fcntl.LOCK_SH)
        return staging, claim


def remove_leftovers(build_dir: Path) -> None:
    """Staging folders of builds that failed or were killed: the ones no
    running build holds a lock on. Call it under `locked`."""
    for folder in build_dir.glob(".wheelhouse-*"):
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:  # gone meanwhile, or not a folder
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # locked: its build is still running
            pass
        finally:
            os.close(fd)


def clean(build_dir: Path) -> None:
    """The wheelhouse, and the staging folders of builds that ended (hatch clean)."""
    if build_dir.is_dir():
        with locked(build_dir):
            shutil.rmtree(build_dir / "wheelhouse", ignore_errors=True)
            remove_leftovers(build_dir)


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

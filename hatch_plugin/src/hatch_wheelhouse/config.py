"""The hook's configuration, validated as a whole.

Every problem is collected and reported at once, each prefixed with its TOML
path, so a user fixes them in one pass.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .target import parse_platform

SECTION = "tool.hatch.build.targets.wheel.hooks.wheelhouse"
SDIST_POLICIES = ("error", "build", "include")
# Used with fullmatch: `$` would let a final newline through, `\d` other scripts' digits.
PYTHON_VERSION = re.compile(r"3\.[0-9]{1,2}")
# manylinux_<glibc major>_<minor>_<arch>, or a legacy alias (manylinux2014_x86_64).
PLATFORM = re.compile(
    r"(manylinux_2_[0-9]+|manylinux2014|manylinux2010|manylinux1)"
    r"_(x86_64|i686|aarch64|armv7l|ppc64le|s390x|riscv64)"
)
# The cap on a file whose size the lock does not give: above the largest wheels
# published (CUDA builds of torch pass 2 GB), far below a disk filled by an endless body.
MAX_DOWNLOAD_BYTES = 4 << 30
# One file's whole download: a 1 GB wheel over a 10 Mbit/s link takes 14 minutes.
DOWNLOAD_TIMEOUT = 900.0
# Options hatchling itself reads from every hook's table.
HATCH_KEYS = {
    "dependencies",
    "require-runtime-dependencies",
    "require-runtime-features",
    "enable-by-default",
    "priority",
}


class ConfigError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid wheelhouse configuration:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Config:
    lock_file: Path
    python_version: str | None = None  # None: the lock's requires-python lower bound
    platforms: tuple[str, ...] = ()  # empty: the newest manylinux x86_64 the lock has
    extras: tuple[str, ...] = ()
    sdists: str = "error"
    find_links: tuple[Path, ...] = ()
    cache_dir: Path | None = None  # None: the user cache directory
    lock_command: str | None = None  # how the project relocks, for the hints
    build_lock_file: Path | None = None  # None: pylock.build.toml beside the lock
    project_dir: Path | None = None  # None: the lock's folder; a lock's paths stay inside it
    max_download_bytes: int = MAX_DOWNLOAD_BYTES  # when the lock gives no size
    download_timeout: float = DOWNLOAD_TIMEOUT  # seconds per file
    allow_file_urls: bool = False

    @property
    def build_lock(self) -> Path:
        """The lock of the build requirements of the sdists that need building."""
        return self.build_lock_file or self.lock_file.with_name("pylock.build.toml")


class OptionNamer:
    """Names an option in a message: its TOML path, or the environment variable
    that set it for this build."""

    def __init__(self, variables: Mapping[str, str]):
        self.variables = variables  # option -> variable

    def __call__(self, key: str, index: int | None = None) -> str:
        if key in self.variables:
            item = "" if index is None else f" (item {index + 1})"
            return self.variables[key] + item
        return f"{SECTION}.{key}" + ("" if index is None else f"[{index}]")


def _string(problems, where, key, value, index=None) -> str | None:
    if not isinstance(value, str) or not value:
        problems.append(f"{where(key, index)}: expected a non-empty string, got {value!r}")
    elif not value.isprintable():
        # A NUL, a newline or a right-to-left override has no place in a path
        # or a command, and would garble every message that shows it.
        problems.append(f"{where(key, index)}: {value!r} holds a control or formatting character")
    else:
        return value
    return None


def _string_list(problems, where, key, value) -> list[tuple[int, str]]:
    """The good items, each with its index in the list (for the messages)."""
    if not isinstance(value, list):
        problems.append(f"{where(key)}: expected a list of strings, got {value!r}")
        return []
    items = [(i, _string(problems, where, key, item, i)) for i, item in enumerate(value)]
    return [(i, item) for i, item in items if item is not None]


# Environment variables that override the TOML for one build, e.g. an image
# built for another Python: `HATCH_WHEELHOUSE_PYTHON_VERSION=3.12 hatch build`.
ENV_OVERRIDES = {
    "HATCH_WHEELHOUSE_PYTHON_VERSION": "python-version",
    "HATCH_WHEELHOUSE_PLATFORMS": "platforms",  # comma-separated
}


def with_overrides(raw: dict, environ: Mapping[str, str]) -> tuple[dict, dict[str, str]]:
    """The TOML table with any environment overrides applied, and which option
    each variable set."""
    merged, variables = dict(raw), {}
    for variable, key in ENV_OVERRIDES.items():
        if value := environ.get(variable, "").strip():
            merged[key] = value.split(",") if key == "platforms" else value
            variables[key] = variable
    return merged, variables


def parse(raw: dict, root: Path, variables: Mapping[str, str] | None = None) -> Config:
    """Build a Config from the hook's TOML table, or raise ConfigError.
    `variables` names the environment variables that set options (with_overrides)."""
    problems: list[str] = []
    where = OptionNamer(variables or {})
    known = {
        "lock-file",
        "build-lock-file",
        "python-version",
        "platforms",
        "extras",
        "sdists",
        "find-links",
        "cache-dir",
        "lock-command",
        "max-download-bytes",
        "download-timeout",
        "allow-file-urls",
    }
    for key in sorted(set(raw) - known - HATCH_KEYS):
        problems.append(f"{SECTION}.{key}: unknown option (known: {', '.join(sorted(known))})")

    lock_file = root / "pylock.toml"
    if "lock-file" in raw and (value := _string(problems, where, "lock-file", raw["lock-file"])):
        lock_file = root / value

    build_lock_file = None
    if "build-lock-file" in raw:
        value = _string(problems, where, "build-lock-file", raw["build-lock-file"])
        build_lock_file = root / value if value else None

    python_version = None
    if "python-version" in raw:
        value = raw["python-version"]
        if isinstance(value, str) and PYTHON_VERSION.fullmatch(value):
            python_version = value
        else:
            problems.append(
                f"{where('python-version')}: expected 'X.Y' such as '3.13', got {value!r}"
            )

    platforms = []
    seen: dict[tuple[int, str], int] = {}  # (glibc, arch) -> index: aliases are one platform
    if "platforms" in raw:
        for i, tag in _string_list(problems, where, "platforms", raw["platforms"]):
            if not PLATFORM.fullmatch(tag):
                problems.append(
                    f"{where('platforms', i)}: {tag!r} is not a manylinux "
                    "platform tag such as 'manylinux_2_36_x86_64'"
                )
            elif (first := seen.setdefault(parse_platform(tag), i)) != i:
                problems.append(
                    f"{where('platforms', i)}: {tag!r} is the same platform as "
                    f"{where('platforms', first)} ({raw['platforms'][first]!r}): list it once"
                )
            else:
                platforms.append(tag)
        if isinstance(raw["platforms"], list) and not raw["platforms"]:
            problems.append(f"{where('platforms')}: name at least one platform")

    extras = [item for _, item in _string_list(problems, where, "extras", raw.get("extras", []))]

    sdists = raw.get("sdists", "error")
    if sdists not in SDIST_POLICIES:
        problems.append(
            f"{where('sdists')}: expected one of {', '.join(SDIST_POLICIES)}, got {sdists!r}"
        )

    find_links = []
    if "find-links" in raw:
        for i, item in _string_list(problems, where, "find-links", raw["find-links"]):
            path = root / item
            if path.is_dir():
                find_links.append(path)
            else:
                problems.append(f"{where('find-links', i)}: {item!r} is not a directory")

    cache_dir = None
    if "cache-dir" in raw and (value := _string(problems, where, "cache-dir", raw["cache-dir"])):
        cache_dir = (root / Path(value).expanduser()).resolve()

    lock_command = None
    if "lock-command" in raw:
        lock_command = _string(problems, where, "lock-command", raw["lock-command"])

    max_download_bytes = raw.get("max-download-bytes", MAX_DOWNLOAD_BYTES)
    if type(max_download_bytes) is not int or max_download_bytes <= 0:  # bool is no int here
        problems.append(
            f"{where('max-download-bytes')}: expected a positive integer (bytes), "
            f"got {max_download_bytes!r}"
        )

    download_timeout = raw.get("download-timeout", DOWNLOAD_TIMEOUT)
    if type(download_timeout) not in (int, float) or not 0 < download_timeout < math.inf:
        problems.append(
            f"{where('download-timeout')}: expected a positive number of seconds, "
            f"got {download_timeout!r}"
        )

    allow_file_urls = raw.get("allow-file-urls", False)
    if not isinstance(allow_file_urls, bool):
        problems.append(
            f"{where('allow-file-urls')}: expected true or false, got {allow_file_urls!r}"
        )

    if problems:
        raise ConfigError(problems)
    return Config(
        lock_file=lock_file,
        python_version=python_version,
        platforms=tuple(platforms),
        extras=tuple(extras),
        sdists=sdists,
        find_links=tuple(find_links),
        cache_dir=cache_dir,
        lock_command=lock_command,
        build_lock_file=build_lock_file,
        project_dir=root,
        max_download_bytes=max_download_bytes,
        download_timeout=float(download_timeout),
        allow_file_urls=allow_file_urls,
    )

"""What a target interpreter accepts: wheel tags and marker values.

The hook never asks the running interpreter: the image's Python and platform
are usually not the host's.
"""

import re

from packaging.tags import Tag, compatible_tags, cpython_tags

# fullmatch: `$` would let a final newline through, \d and \w other scripts' characters.
MANYLINUX = re.compile(r"manylinux_2_([0-9]+)_([a-z0-9_]+)")
# Legacy names PEP 600 maps to glibc versions.
LEGACY = {"manylinux2014": 17, "manylinux2010": 12, "manylinux1": 5}
OLDEST_GLIBC = {"x86_64": 5, "i686": 5}  # other architectures start at 2.17


def parse_platform(tag: str) -> tuple[int, str]:
    """('manylinux_2_36_x86_64') -> (36, 'x86_64'); legacy aliases included."""
    if match := MANYLINUX.fullmatch(tag):
        return int(match[1]), match[2]
    legacy, _, arch = tag.partition("_")
    if legacy in LEGACY and arch:
        return LEGACY[legacy], arch
    raise ValueError(f"not a manylinux platform tag: {tag!r}")


def platform_tags(tag: str) -> list[str]:
    """Every platform tag a glibc of that version runs, best first."""
    glibc, arch = parse_platform(tag)
    tags = []
    for minor in range(glibc, OLDEST_GLIBC.get(arch, 17) - 1, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        tags += [f"{legacy}_{arch}" for legacy, m in LEGACY.items() if m == minor]
    return tags


def wheel_tags(python_version: str, platform: str) -> list[Tag]:
    """Tags a CPython of that version accepts on that platform, best first."""
    version = tuple(int(part) for part in python_version.split("."))
    platforms = platform_tags(platform)
    return [
        *cpython_tags(version, platforms=platforms),
        *compatible_tags(version, f"cp{version[0]}{version[1]}", platforms=platforms),
    ]


def marker_environment(python_version: str, platform: str) -> dict[str, str]:
    """PEP 508 marker values for CPython on Linux at that version."""
    _, arch = parse_platform(platform)
    full = f"{python_version}.0"
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": arch,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full,
        "python_version": python_version,
        "sys_platform": "linux",
    }

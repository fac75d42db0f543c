"""Run by the Dockerfile's `dependencies` stage, after pip: remove from the
venv what a service never runs, and rewrite each distribution's RECORD to
match, so that pip and image scanners see what is there.

    python3 prune_venv.py VENV

Removed: the test suites packages ship (packages and modules named `tests`,
unless code left in imports them, and the helper packages only those suites
import), C, C++ and Cython sources and headers (kept in the few packages
that compile at run time, such as torch and triton), gevent's c-ares
resolver (its aarch64 wheels lack it: every platform's image then holds the
same modules), and the modules that cannot import while a module they need
is not installed (gevent's cffi event loops without cffi, its default loop
being compiled with Cython; its dnspython resolver without dnspython).
Extension modules lose their symbol tables and debugging sections (`strip
--strip-unneeded`, as Debian strips its own libraries): what the dynamic
loader needs stays; a file strip cannot read (another architecture's) or
would make unloadable is kept as it was. A RECORD path that leads outside
the venv is left alone. Prints what it removed.
"""

import argparse
import ast
import base64
import csv
import hashlib
import importlib.machinery
import io
import posixpath
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

# Module paths without their suffixes. Test helpers importable only by the suites removed
# with them, and benchmarks: protobuf's import unittest (left out of the minimal runtime)
# or modules it does not ship.
TEST_HELPERS = {
    "gevent/testing",
    "google/protobuf/internal/json_format_benchmark",
    "google/protobuf/internal/message_benchmark",
    "google/protobuf/internal/testing_refleaks",
}
# Built only on some platforms: gevent's c-ares resolver and the modules that load it.
SOME_PLATFORMS = {
    "gevent/ares",
    "gevent/resolver/ares",
    "gevent/resolver/cares",
    "gevent/resolver_ares",
}
# What cannot import while the module named is not installed: gevent's cffi event loops,
# their build scripts and the helpers only they use (gevent._ffi); its dnspython resolver.
NEEDS = {
    "_cffi_backend": {
        "gevent/_ffi",
        "gevent/libuv",
        "gevent/libev/_corecffi",
        "gevent/libev/_corecffi_build",
        "gevent/libev/corecffi",
        "gevent/libev/watcher",
    },
    "dns": {"gevent/resolver/dnspython"},
}
SOURCES = {".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".pyx", ".pxd", ".pxi"}
# Packages that compile at run time from the sources and headers they ship: torch's
# inductor, triton's drivers, cupy's kernels, deepspeed's operators.
COMPILE_AT_RUN_TIME = {"torch", "triton", "cupy", "deepspeed"}


def fail(message: str) -> None:
    sys.exit(f"prune_venv.py: {message}")


def suites(path: PurePosixPath) -> list[str]:
    """The test suites a RECORD path is part of, as module names: the packages and
    modules named `tests` below a package (a top-level one would be a distribution's
    own name)."""
    parts = path.parts[:-1] + (("tests",) if path.name == "tests.py" else ())
    return [".".join(parts[: i + 1]) for i in range(1, len(parts)) if parts[i] == "tests"]


def never_run(site: Path) -> set[str]:
    """The module paths removed from this venv whatever imports them."""
    never = TEST_HELPERS | SOME_PLATFORMS
    for module, paths in NEEDS.items():
        # Found as import finds it: a directory of data, or dns.txt, is not dnspython.
        spec = importlib.machinery.PathFinder.find_spec(module, [str(site)])
        if spec is None or spec.origin is None:
            never |= paths
    return never


def normalised(name: str) -> PurePosixPath:
    """A RECORD path without `..` inside it (`a/tests/../b.py` is `b.py`)."""
    return PurePosixPath(posixpath.normpath(name))


def removed(path: PurePosixPath, never: set[str], imported: set[str]) -> bool:
    """A RECORD path, relative to site-packages, that is never run."""
    if not path.name:  # "." or "": no file
        return False
    if path.suffix in SOURCES and path.parts[0] not in COMPILE_AT_RUN_TIME:
        return True
    # A suite that code left in imports stays (astropy's __init__ imports astropy.tests).
    if any(suite not in imported for suite in suites(path)):
        return True
    module = path.with_name(path.name.split(".")[0] or path.name)  # a .keep file has no stem
    return any(module.is_relative_to(prefix) for prefix in never)


def imports(site: Path, paths: list[PurePosixPath]) -> set[str]:
    """The modules these files import, at the top or in a function, and the
    packages above them; only names with `tests` in them matter here."""
    names = set()
    for path in paths:
        source = (site / path).read_bytes() if (site / path).is_file() else b""
        if b"tests" not in source:  # parsing every file would take much longer
            continue
        try:
            tree = ast.parse(source)
        # Not Python 3, or nested deeper than the parser goes: nothing imports it.
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        package = path.parent.parts
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[: len(package) + 1 - node.level] if node.level else ())
                module = ".".join(filter(None, [base, node.module]))
                found = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for parts in (name.split(".") for name in found):
                names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return names


def is_extension(path: PurePosixPath) -> bool:
    return path.suffix == ".so" or ".so." in path.name


def loadable(path: Path) -> bool:
    """Whether each segment's file offset agrees with its address, as the dynamic
    loader requires: Debian 12's strip breaks that in libraries patchelf rewrote
    (those auditwheel vendors)."""
    headers = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout
    for fields in map(str.split, headers.splitlines()):
        if fields[:1] == ["LOAD"]:
            offset, address, align = (int(fields[i], 16) for i in (1, 2, -1))
            if (offset - address) % max(align, 1):
                return False
    return True


def stripped(path: Path) -> bytes:
    """The extension module stripped, or as it was if strip cannot read it, would
    break it, or makes it no smaller. Returns its contents."""
    original = path.read_bytes()
    done = subprocess.run(["strip", "--strip-unneeded", path], capture_output=True)
    data = path.read_bytes()
    if done.returncode or len(data) >= len(original) or not loadable(path):
        path.write_bytes(original)
        return original
    return data


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def read(record: Path) -> list[list[str]]:
    with record.open(newline="") as file:
        return list(csv.reader(file))


def prune(site: Path, record: Path, never: set[str], imported: set[str]) -> tuple[list[Path], int]:
    """One distribution: its removed files, its stripped extensions, its new
    RECORD. Returns the files removed and the bytes saved."""
    kept, gone, saved = [], [], 0
    venv = site.parents[2].resolve()  # site is VENV/lib/python3.X/site-packages
    for row in read(record):
        relative = normalised(row[0])
        path = site / relative
        if not path.resolve().is_relative_to(venv):
            kept.append(row)  # outside the venv, or linked there: not this script's to change
            continue
        if removed(relative, never, imported):
            if path.is_file():
                saved += path.stat().st_size
                gone.append(path)
                path.unlink()
            continue  # the row goes too when listed twice or shared with another distribution
        if is_extension(relative) and path.is_file():
            before = path.stat().st_size
            data = stripped(path)
            saved += before - len(data)
            row = [row[0], record_hash(data), str(len(data))]
        kept.append(row)
    out = io.StringIO()
    # RECORD's own dialect: CSV with \n line ends (the wheel spec).
    csv.writer(out, lineterminator="\n").writerows(kept)
    record.write_text(out.getvalue())
    return gone, saved


def remove_emptied_directories(files: list[Path], venv: Path) -> None:
    """The directories that held only removed files, up to the venv."""
    parents = {parent for file in files for parent in file.resolve().parents}
    top = venv.resolve()
    for directory in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        if directory.is_relative_to(top) and directory != top and not any(directory.iterdir()):
            directory.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("venv", type=Path)
    venv = parser.parse_args().venv
    if shutil.which("strip") is None:
        fail("strip (binutils) is not installed in this stage")
    sites = sorted(venv.glob("lib/python3.*/site-packages"))
    if len(sites) != 1:
        fail(f"expected one site-packages under {venv}, found {len(sites)}")
    site = sites[0]
    never = never_run(site)
    records = sorted(site.glob("*.dist-info/RECORD"))
    # The Python files that stay whatever else goes; pytest's conftest.py only runs suites.
    code = [
        path
        for path in (normalised(row[0]) for record in records for row in read(record))
        if path.suffix == ".py" and path.name != "conftest.py" and not removed(path, never, set())
    ]
    imported = imports(site, code)
    gone, saved = [], 0
    for record in records:
        files, size = prune(site, record, never, imported)
        gone, saved = gone + files, saved + size
    remove_emptied_directories(gone, venv)
    print(f"venv pruned: {len(gone)} files removed, {saved / 1e6:.1f} MB saved")


if __name__ == "__main__":
    main()

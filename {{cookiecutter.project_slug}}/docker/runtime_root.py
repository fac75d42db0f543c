"""Run by the Dockerfile's `root` stage: assemble the minimal runtime's root
filesystem in ROOT, which the runtime copies onto an empty image.

    python3 runtime_root.py ROOT --uid UID --packages PKG... --trees DIR... --scan DIR...
        --status-only PKG...

ROOT receives the files of the named Debian packages (documentation left
out), the --trees copied whole (a Python built from source), and the shared
libraries the interpreter, its extension modules or the --scan directories
(the venv, copied by its own layer) link to, as `ldd` finds them, with the
copyright notices of the packages that have them. A library no package
installed stops the build, naming it. Parts of the standard library that a
service never imports are left out (STDLIB_LEFT_OUT). Each package copied
from gets a dpkg status entry in var/lib/dpkg/status.d/, as distroless images
have, so image scanners see its version, and the checksums of the files
copied; so do the --status-only packages, of which one file is copied
(ca-certificates: the bundle it built, not the certificates and the shell
script it builds with).
Then: the CA bundle, the C.UTF-8 locale, passwd and group entries for root and
UID, /tmp with mode 1777, and the standard library compiled to bytecode (the
root is read-only at run time).
"""

import argparse
import compileall
import grp
import os
import pwd
import re
import shutil
import ssl
import subprocess
import sys
import sysconfig
from pathlib import Path

# Not needed to run a service: documentation (the copyright notices stay, as
# in Debian's slim images), debugger and binfmt helpers, and glibc's iconv
# modules, which Python never loads (its codecs are its own).
SKIPPED = re.compile(
    r"^/usr/share/(doc/[^/]+/(?!copyright$)|man/|info/|lintian/|locale/|gdb/|gcc/|binfmts/)"
    r"|/gconv/"
)
# Standard-library modules a service never imports, and nothing left in needs; left out
# with their bytecode.
STDLIB_LEFT_OUT = {
    # CPython's own test suite and the C-API test and example modules.
    "test", "_ctypes_test", "_testbuffer", "_testcapi", "_testclinic", "_testclinic_limited",
    "_testexternalinspection", "_testimportmultiple", "_testinternalcapi", "_testlimitedcapi",
    "_testmultiphase", "_testsinglephase", "_xxtestfuzz", "xxlimited", "xxlimited_35",
    "xxsubtype",
    # help() and its texts, with the pager it uses (3.13's REPL) and the modules that
    # import it: the XML-RPC server, and cgitb before 3.13. A service has no terminal.
    "pydoc", "pydoc_data", "_pyrepl", "xmlrpc.server", "cgitb",
    # Tk's binding (no base here has Tk: it cannot import) and what needs it, and
    # webbrowser: a service opens no windows. ensurepip, which bundles pip, and venv:
    # no installer in the runtime.
    "tkinter", "turtle", "idlelib", "turtledemo", "webbrowser", "antigravity",
    "ensurepip", "venv",
    # Pure-Python copies of decimal and datetime, imported only when their C modules
    # are missing, and of io, imported only by CPython's tests.
    "_pydecimal", "_pydatetime", "_pyio",
    # The Berkeley DB format and its library; dbm and shelve use dbm.sqlite3 or dbm.dumb.
    "dbm.ndbm", "_dbm",
    # Line editing and curses, with ncurses' libraries; what uses readline carries on
    # without it.
    "readline", "curses", "_curses", "_curses_panel",
    # Test frameworks: tests run in the dev stage, not in the runtime.
    "unittest", "doctest",
}  # fmt: skip
STDLIB = sysconfig.get_path("stdlib")
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
NSSWITCH = "passwd: files\ngroup: files\nhosts: files dns\n"
ARCH = subprocess.run(
    ["dpkg", "--print-architecture"], capture_output=True, text=True
).stdout.strip()
DEBIAN_FILES = ("/etc/os-release", "/etc/debian_version")
# The locale LANG names, from libc-bin (whose programs stay out): without it
# locale.setlocale(LC_ALL, "") fails. glibc's version is libc6's status entry.
LOCALE = "/usr/lib/locale/C.utf8"


def fail(message: str) -> None:
    sys.exit(f"runtime_root.py: {message}")


def query(*args: str) -> str:
    return subprocess.run(["dpkg-query", *args], capture_output=True, text=True, check=True).stdout


def owner(path: str) -> str | None:
    """The package that installed `path`, by its name or, with merged /usr,
    by the name the package lists (/lib/x.so is /usr/lib/x.so)."""
    names = {path, os.path.realpath(path)}
    names |= {name.removeprefix("/usr") for name in list(names)}
    names |= {"/usr" + name for name in list(names) if not name.startswith("/usr/")}
    for name in sorted(names):
        found = subprocess.run(["dpkg-query", "--search", name], capture_output=True, text=True)
        if found.returncode == 0:
            # "libssl3t64:amd64: /usr/lib/...": a diversion line has no package.
            for line in found.stdout.splitlines():
                if not line.startswith("diversion "):
                    return line.split(": ", 1)[0].split(", ")[0]
    return None


def is_elf(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as file:
        return file.read(4) == b"\x7fELF"


def linked_libraries(path: Path) -> tuple[set[str], set[str]]:
    """The shared libraries an ELF file loads (all of them, as ldd follows
    dependencies), and the names it found nowhere."""
    result = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
    if result.returncode != 0:  # a static executable, or a non-loadable object
        return set(), set()
    found, missing = set(), set()
    for line in result.stdout.splitlines():
        if "=> not found" in line:
            missing.add(line.split()[0])
        elif match := re.search(r"(/\S+) \(0x", line):
            found.add(match[1])
    return found, missing


def left_out(path: str) -> bool:
    """A file of a module in STDLIB_LEFT_OUT (its source, its bytecode, its
    extension in lib-dynload), or a directory of a package there."""
    relative = Path(os.path.realpath(path))
    if not relative.is_relative_to(STDLIB):
        return False
    skipped = ("__pycache__", "lib-dynload")
    parts = [p for p in relative.relative_to(STDLIB).parts if p not in skipped]
    if not parts:
        return False
    # "dbm/ndbm.py", "_dbm.cpython-313-x86_64-linux-gnu.so", "turtle.cpython-313.pyc"
    names = [*parts[:-1], parts[-1].split(".")[0]]
    return any(".".join(names[: i + 1]) in STDLIB_LEFT_OUT for i in range(len(names)))


def package_files(package: str) -> list[str]:
    return [
        line
        for line in query("--listfiles", package).splitlines()
        if line.startswith("/")
        and not SKIPPED.search(line)
        and os.path.lexists(line)
        and not left_out(line)
    ]


def library_files(files: list[str], libraries: set[str]) -> list[str]:
    """Of a package's files, the libraries among `libraries` and the links to
    them (libz.so.1 -> libz.so.1.3.1), and its copyright notice."""
    wanted = {os.path.realpath(library) for library in libraries}
    return [
        path
        for path in files
        if path.endswith("/copyright")
        or (not os.path.isdir(path) and os.path.realpath(path) in wanted)
    ]


def copy_entry(path: str, root: Path) -> None:
    """One file, directory or symlink, at the same place under root; its parent
    directories are resolved first, so merged-/usr paths land once."""
    source = Path(path)
    parent = Path(os.path.realpath(source.parent))
    target = root / parent.relative_to("/") / source.name
    if target.exists() or target.is_symlink():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        target.symlink_to(os.readlink(source))
    elif source.is_dir():
        target.mkdir(mode=source.stat().st_mode & 0o7777)
    else:
        shutil.copy2(source, target)


def copy_with_links(path: str, root: Path) -> None:
    """A path and every symlink on the way to the file it names
    (/usr/bin/python3 -> python3.13)."""
    while True:
        copy_entry(path, root)
        if not os.path.islink(path):
            return
        path = os.path.join(os.path.dirname(path), os.readlink(path))


def links_out(directories: list[str]) -> list[str]:
    """Absolute symlinks in `directories` to elsewhere: a venv's python."""
    return [
        os.readlink(path)
        for directory in directories
        for path in Path(directory).rglob("*")
        if path.is_symlink()
        and os.readlink(path).startswith("/")
        and not os.readlink(path).startswith(tuple(directories))
    ]


def elf_files(paths: list[str], walk: bool = True) -> list[Path]:
    """The ELF files among `paths` and, if `walk`, in the directories among them
    (a package lists its directories too, "/usr" among them: those are not walked)."""
    found = []
    for path in map(Path, paths):
        if walk and path.is_dir() and not path.is_symlink():
            found += [p for p in path.rglob("*") if is_elf(p)]
        elif is_elf(path):
            found.append(path)
    return found


def packages_for(
    named: list[str], trees: list[str], scan: list[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """Every package to copy from with the files to copy: the named ones whole,
    and of those whose libraries anything copied or scanned links to, those
    libraries (a package's other libraries are never loaded)."""
    packages: dict[str, list[str]] = {}
    linked: dict[str, set[str]] = {}  # package: the libraries of it that are loaded
    missing: list[str] = []
    unscanned = elf_files([os.path.realpath(sys.executable), *trees, *scan])
    unscanned = [elf for elf in unscanned if not left_out(str(elf))]
    for package in named:
        packages[package] = package_files(package)
        unscanned += elf_files(packages[package], walk=False)
    inside = tuple(str(Path(d).resolve()) + "/" for d in (*trees, *scan))
    seen: set[str] = set()
    while unscanned:
        elf = unscanned.pop()
        libraries, not_found = linked_libraries(elf)
        missing += [f"{name} (needed by {elf})" for name in sorted(not_found)]
        for library in libraries:
            if os.path.realpath(library).startswith(inside) or library in seen:
                continue  # shipped with a wheel or the tree itself, or looked up already
            seen.add(library)
            package = owner(library)
            if package is None:
                missing.append(f"{library} (needed by {elf}): no Debian package has it")
            else:
                linked.setdefault(package, set()).add(library)
    for package, libraries in linked.items():
        if package not in named:
            packages[package] = library_files(package_files(package), libraries)
    return packages, missing


def checksummed(line: str) -> str:
    """The path of an md5sums line ("<md5>  usr/lib/...")."""
    return line.rstrip("\n").split("  ", 1)[1]


def status_entries(packages: list[str], status_only: list[str], root: Path) -> None:
    """var/lib/dpkg/status.d/<package>: the package's status stanza and, for
    those copied whole, its file checksums, where scanners (syft, Trivy,
    Grype) look in distroless images."""
    status = root / "var/lib/dpkg/status.d"
    status.mkdir(parents=True)
    for package in sorted([*packages, *status_only]):
        name = package.split(":")[0]
        (status / name).write_text(query("--status", package))
        if package in status_only:
            continue
        # dpkg names the file with the architecture if the package has one.
        for info in Path("/var/lib/dpkg/info").glob(f"{name}*.md5sums"):
            if info.name in (f"{name}.md5sums", f"{name}:{ARCH}.md5sums"):
                # Only the files copied: a scanner checking them finds none missing.
                lines = info.read_text().splitlines(keepends=True)
                copied = [line for line in lines if os.path.lexists(root / checksummed(line))]
                (status / f"{name}.md5sums").write_text("".join(copied))


def ignored(directory: str, names: list[str]) -> set[str]:
    """For copytree: the entries of `directory` in STDLIB_LEFT_OUT."""
    return {name for name in names if left_out(os.path.join(directory, name))}


def accounts(uid: int, root: Path) -> None:
    """passwd and group with root and the app user, no shell for either."""
    user = pwd.getpwuid(uid)
    group = grp.getgrgid(user.pw_gid).gr_name
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"{user.pw_name}:x:{uid}:{user.pw_gid}::/nonexistent:/usr/sbin/nologin\n"
    )
    (root / "etc/group").write_text(f"root:x:0:\n{group}:x:{user.pw_gid}:\n")
    # Without it glibc asks DNS before /etc/hosts.
    (root / "etc/nsswitch.conf").write_text(NSSWITCH)


def compile_stdlib(root: Path) -> None:
    stdlib = sysconfig.get_path("stdlib")
    ok = compileall.compile_dir(
        root / stdlib.lstrip("/"),
        quiet=1,
        stripdir=str(root),
        prependdir="/",
        invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        fail(f"the standard library in {stdlib} did not compile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--uid", type=int, required=True)
    parser.add_argument("--packages", nargs="*", default=[], help="Debian packages to copy")
    parser.add_argument("--trees", nargs="*", default=[], help="directories to copy whole")
    parser.add_argument("--scan", nargs="*", default=[], help="directories to find libraries for")
    parser.add_argument(
        "--status-only", nargs="*", default=[], help="packages recorded, not copied"
    )
    options = parser.parse_args()
    root = options.root

    packages, missing = packages_for(options.packages, options.trees, options.scan)
    if missing:
        fail(
            "shared libraries that no installed package provides; install the "
            "Debian packages that have them in the base stage:\n  " + "\n  ".join(missing)
        )
    root.mkdir()
    # Merged /usr: /lib, /bin... are links into /usr, as in the base.
    for top in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(top):
            copy_entry(top, root)
    for package in sorted(packages):
        for path in packages[package]:
            copy_entry(path, root)
    status_entries(list(packages), options.status_only, root)
    for tree in options.trees:
        shutil.copytree(tree, root / tree.lstrip("/"), symlinks=True, ignore=ignored)
    cafile = ssl.get_default_verify_paths().openssl_cafile
    for path in (*links_out(options.scan), BUNDLE, cafile, *DEBIAN_FILES):
        copy_with_links(path, root)
    shutil.copytree(LOCALE, root / LOCALE.lstrip("/"))
    accounts(options.uid, root)
    (root / "tmp").mkdir(mode=0o1777)
    (root / "tmp").chmod(0o1777)  # mkdir's mode is filtered by the umask
    compile_stdlib(root)
    count = sum(1 for _ in root.rglob("*"))
    print(f"runtime root: {len(packages)} packages, {count} files: {' '.join(sorted(packages))}")


if __name__ == "__main__":
    main()

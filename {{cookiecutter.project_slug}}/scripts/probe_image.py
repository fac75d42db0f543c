"""Run inside the image by check_image.py, as the image's user, with the
image's own Python reading this file from stdin (the image may have no shell).
Prints one JSON object: what the checks found.
"""

import datetime
import importlib
import importlib.util
import json
import locale
import mimetypes
import os
import pkgutil
import shutil
import ssl
import sys
import sysconfig
import warnings
import zoneinfo

VENV = "/opt/app/venv"
BUILD_TOOLS = ["gcc", "cc", "make", "pip", "pip3"]
# What a minimal image leaves out: any shell, and Debian's package tools.
SHELLS_AND_INSTALLERS = ["sh", "bash", "dash", "apt", "apt-get", "dpkg"]
SYSTEM_BIN = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Not imported: modules run for their effect (a browser, a poem, a program),
# the test suite, and the REPL (python -i), which a service never starts.
LEFT_OUT = {"antigravity", "this", "idlelib", "turtledemo", "test", "_pyrepl"}
# Modules for other platforms, by name or by their message; and Debian's
# message for a module it packages apart (tkinter for turtle, _gdbm for dbm.gnu).
ELSEWHERE = {"_ios_support", "encodings.mbcs", "encodings.oem"}
ELSEWHERE_MESSAGES = ("win32 only", "please install the python3-")


def stdlib_modules() -> list[str]:
    """Every module of the standard library as installed in this image."""
    paths = [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")]
    paths.append(os.path.join(paths[0], "lib-dynload"))
    names = set(sys.builtin_module_names)
    for module in pkgutil.walk_packages(paths, onerror=lambda name: None):
        top = module.name.split(".")[0]
        if module.name.endswith("__main__"):  # runs a program (venv, ensurepip)
            continue
        if top not in LEFT_OUT and module.name not in ELSEWHERE:
            names.add(module.name)
    return sorted(names)


def installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # its parent package is missing
        return False


def import_failures() -> list[str]:
    """Modules that are installed but do not import: a missing shared library
    shows here. Not counted: modules for other platforms, and those that need
    a module Debian packages apart (tkinter for turtle, _gdbm for dbm.gnu,
    distutils.sysconfig for Debian's hook into it)."""
    failures = []
    warnings.simplefilter("ignore")  # deprecated modules still import
    for name in stdlib_modules():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name and installed(error.name):
                failures.append(f"{name}: {error}")
        except ImportError as error:
            if not any(message in str(error) for message in ELSEWHERE_MESSAGES):
                failures.append(f"{name}: {error}")
        except Exception as error:  # any failure is a finding
            failures.append(f"{name}: {type(error).__name__}: {error}")
    return failures


def trusted_authorities() -> int:
    """CAs a default TLS context trusts: zero means no bundle is found."""
    context = ssl.create_default_context()
    return len(context.get_ca_certs())


def libraries() -> dict[str, str]:
    """SQLite and ctypes (libffi) at work; a failure is reported, not raised,
    so that the import walk can name what is missing."""
    try:
        import ctypes
        import sqlite3

        libc = ctypes.CDLL("libc.so.6")
        database = sqlite3.connect(":memory:")
        return {
            "sqlite": database.execute("select sqlite_version()").fetchone()[0],
            "ctypes": f"getpid {libc.getpid() == os.getpid()}",
            "ssl": ssl.OPENSSL_VERSION,
        }
    except (ImportError, OSError) as error:
        return {"error": str(error)}


def extension_failures() -> list[str]:
    """The venv's compiled files that the dynamic loader cannot load: a
    dependency's extension linking a library the image lacks shows here.
    Loaded with ctypes, which runs none of their code."""
    import ctypes

    failures = []
    for directory, _, files in os.walk(VENV):
        for name in files:
            if name.endswith(".so") or ".so." in name:
                path = os.path.join(directory, name)
                try:
                    ctypes.CDLL(path)
                except OSError as error:  # names the library, not the file that needs it
                    failures.append(f"{os.path.relpath(path, VENV)}: {error}")
    return failures


def locale_from_environment() -> str:
    """The locale LANG names (C.UTF-8), or why it cannot be set."""
    try:
        return locale.setlocale(locale.LC_ALL, "")
    except locale.Error as error:
        return f"error: {error}"


def main() -> None:
    path = f"{os.environ.get('PATH', '')}:{SYSTEM_BIN}"
    found = [t for t in BUILD_TOOLS if shutil.which(t, path=path)]
    found += [n for n in os.listdir(f"{VENV}/bin") if n.startswith("pip")]
    writable = [r for r, _, _ in os.walk(VENV) if os.access(r, os.W_OK)]
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    status = "/var/lib/dpkg/status.d"
    report = {
        "uid": os.getuid(),
        "found": found,
        "writable": writable[:3],
        "shells": [t for t in SHELLS_AND_INSTALLERS if shutil.which(t, path=path)],
        "python": sys.version.split()[0],
        "modules": len(stdlib_modules()),
        "import_failures": import_failures(),
        "extension_failures": extension_failures(),
        "authorities": trusted_authorities(),
        "paris_summer": str(paris.utcoffset(datetime.datetime(2026, 7, 1))),
        "libraries": libraries(),
        # Not in Python's own table: read from /etc/mime.types.
        "woff2_type": mimetypes.guess_type("font.woff2")[0],
        "locale": locale_from_environment(),
        "status_entries": sorted(os.listdir(status)) if os.path.isdir(status) else [],
    }
    print(json.dumps(report))


main()

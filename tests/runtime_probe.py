"""Run inside a generated image by its own Python, from stdin: is the runtime
root the template assembled complete? Prints one JSON object. Arguments: the
modules the minimal runtime leaves out (runtime_root.py's STDLIB_LEFT_OUT),
which must be absent and needed by nothing left in.

Guards the template's construction (runtime_root.py's package list), which a
team's own change rarely touches, so it lives here and not in the project's
check_image.py.
"""

import datetime
import importlib
import importlib.util
import json
import locale
import mimetypes
import os
import pkgutil
import sys
import sysconfig
import warnings
import zoneinfo

# Not imported: modules run for their effect (a browser, a poem, a program),
# the test suite, and the REPL (python -i), which a service never starts.
LEFT_OUT = {"antigravity", "this", "idlelib", "turtledemo", "test", "_pyrepl"}
# Modules for other platforms, by name or by their message; and Debian's
# message for a module it packages apart (tkinter for turtle, _gdbm for dbm.gnu).
ELSEWHERE = {"_ios_support", "encodings.mbcs", "encodings.oem"}
ELSEWHERE_MESSAGES = ("win32 only", "please install the python3-")
STDLIB_LEFT_OUT = set(sys.argv[1:])


def stdlib_modules() -> list[str]:
    paths = [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")]
    paths.append(os.path.join(paths[0], "lib-dynload"))
    names = set(sys.builtin_module_names)
    for module in pkgutil.walk_packages(paths, onerror=lambda name: None):
        if module.name.endswith("__main__"):  # runs a program (venv, ensurepip)
            continue
        if module.name.split(".")[0] not in LEFT_OUT and module.name not in ELSEWHERE:
            names.add(module.name)
    return sorted(names)


def installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # its parent package is missing
        return False


def left_out(name: str) -> bool:
    """A module of STDLIB_LEFT_OUT, or of a package there."""
    parts = name.split(".")
    return any(".".join(parts[: i + 1]) in STDLIB_LEFT_OUT for i in range(len(parts)))


def import_failures(modules: list[str]) -> list[str]:
    """Installed modules that do not import: a missing shared library shows
    here, and so does a module that needs one the runtime left out. A module
    another one needs but Debian packages apart is no failure."""
    failures = []
    warnings.simplefilter("ignore")  # deprecated modules still import
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name and (installed(error.name) or left_out(error.name)):
                failures.append(f"{name}: {error}")
        except ImportError as error:
            if not any(message in str(error) for message in ELSEWHERE_MESSAGES):
                failures.append(f"{name}: {error}")
        except Exception as error:  # any failure is a finding
            failures.append(f"{name}: {type(error).__name__}: {error}")
    return failures


def left_out_present() -> list[str]:
    """Modules of STDLIB_LEFT_OUT the image has. Not counted: those built into the
    interpreter (xxsubtype in 3.11), and namespace packages, such as /opt/app/venv
    seen from the working directory as `venv`."""
    present = []
    for name in sorted(STDLIB_LEFT_OUT - set(sys.builtin_module_names)):
        try:
            spec = importlib.util.find_spec(name)
        except ImportError:  # its parent package is missing
            continue
        if spec is not None and spec.origin is not None:
            present.append(name)
    return present


def sqlite_version() -> str:
    try:
        import sqlite3

        return sqlite3.connect(":memory:").execute("select sqlite_version()").fetchone()[0]
    except ImportError as error:  # the import walk names the library
        return f"error: {error}"


def main() -> None:
    modules = stdlib_modules()
    try:
        set_locale = locale.setlocale(locale.LC_ALL, "")
    except locale.Error as error:
        set_locale = f"error: {error}"
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    report = {
        "modules": len(modules),
        "import_failures": import_failures(modules),
        "left_out_present": left_out_present(),
        "locale": set_locale,
        # Not in Python's own table: read from /etc/mime.types.
        "woff2_type": mimetypes.guess_type("font.woff2")[0],
        "paris_summer": str(paris.utcoffset(datetime.datetime(2026, 7, 1))),
        "sqlite": sqlite_version(),
    }
    print(json.dumps(report))


main()

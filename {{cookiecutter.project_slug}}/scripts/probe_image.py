"""Run inside the image by check_image.py, as the image's user, with the
image's own Python reading this file from stdin (the image may have no shell).
Prints one JSON object: what the checks found. `--minimal`: the image's
standard library is the minimal runtime's, without STDLIB_LEFT_OUT.
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
import subprocess
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
# Left out of the minimal runtime's standard library: the names (and reasons) of
# STDLIB_LEFT_OUT in scripts/runtime_root.py. Absent there, and needed by nothing left in.
STDLIB_LEFT_OUT = {
    "test", "_ctypes_test", "_testbuffer", "_testcapi", "_testclinic", "_testclinic_limited",
    "_testexternalinspection", "_testimportmultiple", "_testinternalcapi", "_testlimitedcapi",
    "_testmultiphase", "_testsinglephase", "_xxtestfuzz", "xxlimited", "xxlimited_35",
    "xxsubtype", "pydoc_data", "tkinter", "turtle", "idlelib", "turtledemo", "ensurepip",
    "_pydecimal", "_pydatetime", "_pyio", "dbm.ndbm", "_dbm",
}  # fmt: skip
MINIMAL = "--minimal" in sys.argv
# Every module of the venv imported, in a process of its own (imports may patch or start
# things). A missing module from outside the venv is an optional dependency (tornado).
VENV_IMPORTS = """
import importlib, json, pkgutil, re, sys, warnings
warnings.simplefilter("ignore")
site = next(p for p in sys.path if p.endswith("site-packages"))
tops = {m.name for m in pkgutil.iter_modules([site])}

def optional(error):
    while error is not None:
        if isinstance(error, ModuleNotFoundError) and error.name:
            return error.name.split(".")[0] not in tops
        error = error.__cause__ or error.__context__
    return False

failures, count = [], 0
report, sys.stdout = sys.stdout, sys.stderr  # what modules print is not the report
for module in pkgutil.walk_packages([site], onerror=lambda name: None):
    # Programs, and modules for Windows (click._winconsole, gevent.win32util).
    if module.name.endswith("__main__") or re.match(r"_?win", module.name.rsplit(".")[-1]):
        continue
    count += 1
    try:
        importlib.import_module(module.name)
    except Exception as error:
        if not optional(error):
            failures.append(f"{module.name}: {type(error).__name__}: {error}")
print(json.dumps({"modules": count, "failures": failures}), file=report)
"""


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
    distutils.sysconfig for Debian's hook into it). In the minimal runtime, a
    module that needs one of STDLIB_LEFT_OUT is counted."""
    failures = []
    warnings.simplefilter("ignore")  # deprecated modules still import
    for name in stdlib_modules():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name and (installed(error.name) or (MINIMAL and left_out(error.name))):
                failures.append(f"{name}: {error}")
        except ImportError as error:
            if not any(message in str(error) for message in ELSEWHERE_MESSAGES):
                failures.append(f"{name}: {error}")
        except Exception as error:  # any failure is a finding
            failures.append(f"{name}: {type(error).__name__}: {error}")
    return failures


def left_out(name: str) -> bool:
    """A module of STDLIB_LEFT_OUT, or of a package there."""
    parts = name.split(".")
    return any(".".join(parts[: i + 1]) in STDLIB_LEFT_OUT for i in range(len(parts)))


def present_but_left_out() -> list[str]:
    """Modules of STDLIB_LEFT_OUT that the minimal runtime still has (those
    built into the interpreter, as xxsubtype in 3.11, cannot be left out)."""
    builtin = set(sys.builtin_module_names)
    return sorted(name for name in STDLIB_LEFT_OUT - builtin if installed(name))


def venv_imports() -> dict:
    """The venv's modules, each imported: how many, and which fail."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", VENV_IMPORTS], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return {"modules": 0, "failures": ["the import walk did not end within 120 s"]}
    if result.returncode != 0:
        return {"modules": 0, "failures": [f"the import walk failed: {result.stderr.strip()}"]}
    return json.loads(result.stdout.splitlines()[-1])


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
        "left_out_present": present_but_left_out() if MINIMAL else [],
        "venv_imports": venv_imports(),
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

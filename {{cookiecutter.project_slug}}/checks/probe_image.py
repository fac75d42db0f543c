"""Run inside the image by check_image.py, as the image's user, with the
image's own Python reading this file from stdin (the image may have no shell).
Prints one JSON object: what the checks found.
"""

import ctypes
import json
import os
import shutil
import ssl
import subprocess
import sys

VENV = "/opt/app/venv"
BUILD_TOOLS = ["gcc", "cc", "make", "pip", "pip3"]
# What a minimal image leaves out: any shell, and Debian's package tools.
SHELLS_AND_INSTALLERS = ["sh", "bash", "dash", "apt", "apt-get", "dpkg"]
SYSTEM_BIN = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STATUS = "/var/lib/dpkg/status.d"
# Every module of the venv imported, in a process of its own: an import may patch
# or print. A module missing from the venv and the standard library is an optional
# dependency (tornado, or a namespace package's part that is not installed), as is
# one of another system's standard library (winreg); one of this one's may be left out
# of the minimal runtime (STDLIB_LEFT_OUT in docker/runtime_root.py).
VENV_IMPORTS = """
import importlib, json, os, pkgutil, re, sys, warnings
warnings.simplefilter("ignore")
site = next(p for p in sys.path if p.endswith("site-packages"))

def folders(path, prefix=""):
    # pkgutil lists neither namespace packages (directories without __init__.py:
    # zope, google, opentelemetry) nor what they hold.
    yield path, prefix
    for entry in sorted(os.scandir(path), key=lambda entry: entry.name):
        init = os.path.join(entry.path, "__init__.py")
        if entry.is_dir() and entry.name.isidentifier() and not os.path.exists(init):
            if entry.name != "__pycache__":
                yield from folders(entry.path, f"{prefix}{entry.name}.")

folders = list(folders(site))
tops = {prefix + m.name for path, prefix in folders for m in pkgutil.iter_modules([path])}
# Windows' and macOS's own modules: what imports them runs only there (dateutil.tzwin).
windows = {"msvcrt", "nt", "winreg", "winsound", "_msi", "_overlapped", "_winapi", "_wmi"}
tops |= sys.stdlib_module_names - windows - {"_scproxy"}

def optional(error):
    while error is not None:
        if isinstance(error, ModuleNotFoundError) and error.name:
            return not any(error.name == t or error.name.startswith(f"{t}.") for t in tops)
        error = error.__cause__ or error.__context__
    return False

failures, count = [], 0
report, sys.stdout = sys.stdout, sys.stderr
for path, prefix in folders:
    for module in pkgutil.walk_packages([path], prefix, onerror=lambda name: None):
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


def extension_failures() -> list[str]:
    """The venv's compiled files that the dynamic loader cannot load: a
    dependency's extension linking a library the image lacks shows here.
    Loaded with ctypes, which runs none of their code."""
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


def main() -> None:
    path = f"{os.environ.get('PATH', '')}:{SYSTEM_BIN}"
    found = [t for t in BUILD_TOOLS if shutil.which(t, path=path)]
    found += [n for n in os.listdir(f"{VENV}/bin") if n.startswith("pip")]
    report = {
        "uid": os.getuid(),
        "found": found,
        "writable": [r for r, _, _ in os.walk(VENV) if os.access(r, os.W_OK)][:3],
        "shells": [t for t in SHELLS_AND_INSTALLERS if shutil.which(t, path=path)],
        "python": sys.version.split()[0],
        "extension_failures": extension_failures(),
        "venv_imports": venv_imports(),
        # Zero when no CA bundle is found.
        "authorities": len(ssl.create_default_context().get_ca_certs()),
        "status_entries": sorted(os.listdir(STATUS)) if os.path.isdir(STATUS) else [],
    }
    print(json.dumps(report))


main()

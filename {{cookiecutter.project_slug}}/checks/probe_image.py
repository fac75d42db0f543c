"""Run inside the image by check_image.py, as the image's user, with the
image's own Python reading this file from stdin (the image may have no shell).
Prints one JSON object: what the checks found.
"""

import ctypes
import json
import os
import shutil
import ssl
import sys

VENV = "/opt/app/venv"
BUILD_TOOLS = ["gcc", "cc", "make", "pip", "pip3"]
# What a minimal image leaves out: any shell, and Debian's package tools.
SHELLS_AND_INSTALLERS = ["sh", "bash", "dash", "apt", "apt-get", "dpkg"]
SYSTEM_BIN = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STATUS = "/var/lib/dpkg/status.d"


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
        # Zero when no CA bundle is found.
        "authorities": len(ssl.create_default_context().get_ca_certs()),
        "status_entries": sorted(os.listdir(STATUS)) if os.path.isdir(STATUS) else [],
    }
    print(json.dumps(report))


main()

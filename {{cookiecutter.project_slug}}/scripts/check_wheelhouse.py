"""Run by the Dockerfile before anything is installed: stop at once, saying
what to do, when dist/wheelhouse is missing, another project's, built for
another Python than the image's, or holds a file that its manifest.json
(written by hatch-wheelhouse) does not list with that sha256. pip checks the
hashes of what it installs, but not of the build requirements in build/.

    python3 check_wheelhouse.py PROJECT WHEELHOUSE
"""

import hashlib
import json
import sys
from pathlib import Path

FIX = "run 'nox -s image' (or hatch build)"


def problem(project: str, house: Path) -> str | None:
    try:
        manifest = json.loads((house / "manifest.json").read_text())
    except FileNotFoundError:
        return f"no wheelhouse for {project} in dist/: {FIX}"
    if manifest.get("project") != project:
        return f"dist/wheelhouse is {manifest.get('project')}'s, not {project}'s: {FIX}"
    built_for, here = manifest.get("python"), "{}.{}".format(*sys.version_info[:2])
    if built_for != here:
        return f"dist/wheelhouse is for Python {built_for}, the image has {here}: {FIX}"
    listed = {f"{f['folder']}/{f['filename']}": f["sha256"] for f in manifest["files"]}
    present = {
        str(path.relative_to(house)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in house.glob("*/*")
        if path.name != "requirements.txt"
    }
    for name in sorted(listed.keys() | present.keys()):
        if listed.get(name) != present.get(name):
            return f"dist/wheelhouse/{name} does not match manifest.json: {FIX}"
    return None


if __name__ == "__main__":
    sys.exit(problem(sys.argv[1], Path(sys.argv[2])))

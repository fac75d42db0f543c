"""Run by the Dockerfile before anything is installed: stop at once, saying
what to do, when dist/wheelhouse is missing, another project's, or built for
another Python than the image's (hatch-wheelhouse's manifest.json says which).

    python3 check_wheelhouse.py PROJECT WHEELHOUSE
"""

import json
import sys
from pathlib import Path

FIX = "run 'nox -s image'"


def problem(project: str, house: Path) -> str | None:
    try:
        manifest = json.loads((house / "manifest.json").read_text())
    except FileNotFoundError:
        return f"no wheelhouse for {project} in dist/: {FIX}"
    if manifest.get("project") != project:
        return f"dist/wheelhouse is {manifest.get('project')}'s, not {project}'s: {FIX}"
    here = "{}.{}".format(*sys.version_info[:2])
    if manifest["python"] != here:
        return f"dist/wheelhouse is for Python {manifest['python']}, the image has {here}: {FIX}"
    return None


if __name__ == "__main__":
    sys.exit(problem(sys.argv[1], Path(sys.argv[2])))

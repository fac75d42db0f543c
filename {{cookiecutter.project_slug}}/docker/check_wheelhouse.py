"""Run by the Dockerfile before anything is installed: take the wheelhouse
for the platform being built (TARGETARCH) out of dist/wheelhouse, and stop
at once, saying what to do, when there is none, it is another project's,
built for another Python than the image's, or holds a file that its
manifest.json (written by hatch-wheelhouse) does not list with that sha256.
pip checks the hashes of what it installs, but not of the build
requirements in build/.

    python3 check_wheelhouse.py PROJECT WHEELHOUSE TARGETARCH DESTINATION
"""

import hashlib
import json
import shutil
import sys
from pathlib import Path

FIX = "run 'nox -s image' (or hatch build)"
# Docker's architecture names, as the manylinux tags in manifest.json spell them.
ARCHES = {"amd64": "x86_64", "arm64": "aarch64", "386": "i686"}


def platform_of(folder: Path) -> str:
    return json.loads((folder / "manifest.json").read_text())["platform"]


def platform_folder(project: str, wheelhouse: Path, arch: str) -> tuple[Path | None, str | None]:
    """The wheelhouse folder for `arch`, or why there is none. With one
    platform the wheelhouse is flat; with several, a folder per platform."""
    flat = (wheelhouse / "manifest.json").is_file()
    folders = [wheelhouse] if flat else sorted(wheelhouse.glob("*/"))
    folders = [folder for folder in folders if (folder / "manifest.json").is_file()]
    if not folders:
        return None, f"no wheelhouse for {project} in dist/: {FIX}"
    wanted = ARCHES.get(arch, arch)
    for folder in folders:
        if platform_of(folder).endswith(f"_{wanted}"):
            return folder, None
    found = ", ".join(platform_of(folder) for folder in folders)
    return None, (
        f"dist/wheelhouse has nothing for linux/{arch} (only {found}): add a {wanted} "
        f"platform to the wheelhouse hook's platforms in pyproject.toml and {FIX}"
    )


def mismatch(project: str, wheelhouse: Path, folder: Path) -> str | None:
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest.get("project") != project:
        return f"dist/wheelhouse is {manifest.get('project')}'s, not {project}'s: {FIX}"
    built_for, here = manifest.get("python"), "{}.{}".format(*sys.version_info[:2])
    if built_for != here:
        return f"dist/wheelhouse is for Python {built_for}, the image has {here}: {FIX}"
    listed = {f"{f['folder']}/{f['filename']}": f["sha256"] for f in manifest["files"]}
    present = {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.glob("*/*")
        if path.name != "requirements.txt"
    }
    for name in sorted(listed.keys() | present.keys()):
        if listed.get(name) != present.get(name):
            shown = Path("dist/wheelhouse", folder.relative_to(wheelhouse), name)
            return f"{shown} does not match manifest.json: {FIX}"
    return None


def main(project: str, wheelhouse: Path, arch: str, destination: Path) -> str | None:
    folder, why = platform_folder(project, wheelhouse, arch)
    why = why or mismatch(project, wheelhouse, folder)
    if why is None:
        shutil.copytree(folder, destination)
    return why


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])))

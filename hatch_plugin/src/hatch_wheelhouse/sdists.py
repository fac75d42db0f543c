"""pip on a locked sdist: building its wheel on this host (`sdists = "build"`),
or asking its build backend for the metadata an old sdist does not declare.

pip works offline in an isolated environment that it fills from `tools`: the
build requirements' files, checked against their lock. For the same bytes
from the same sdist, the timestamps come from the sdist and the file modes
from a fixed umask. Either way the sdist's own code runs here, so it sees
none of this machine's environment but what running needs (`backend_env`).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

from . import names
from .errors import WheelhouseError
from .metadata import requirements, source_date_epoch


def build_wheel(sdist: Path, tools: Path, accepted: list[Tag], out_dir: Path) -> Path:
    """Build `sdist` (named as the lock names it) into `out_dir`; the wheel must
    suit the target's tags."""
    filename = sdist.name
    epoch = {"SOURCE_DATE_EPOCH": str(source_date_epoch(sdist))}
    options = ["--wheel-dir", str(out_dir), str(sdist)]
    pip("wheel", options, tools, epoch, f"building {filename}")
    wheel = next(out_dir.glob("*.whl"), None)
    if wheel is None:
        raise WheelhouseError(f"building {filename} gave no wheel")
    # A build may name its wheel as it likes, and the name becomes a path.
    names.plain(wheel.name, f"the wheel built from {filename}")
    tags = parse_wheel_filename(wheel.name)[-1]
    if not tags & set(accepted):
        raise WheelhouseError(
            f"the wheel built from {filename} ({wheel.name}) does not run on the target "
            f"(best tag {accepted[0]}): this host cannot build for it; set sdists = 'include' "
            "to build it in the image's builder stage"
        )
    return wheel


def requires_of(sdist: Path, tools: Path) -> list[Requirement]:
    """The requirements the sdist's build backend reports (PEP 517 metadata),
    without building it: no compiler is needed."""
    options = ["--dry-run", "--ignore-installed", "--report", "-", str(sdist)]
    report = json.loads(pip("install", options, tools, {}, f"reading {sdist.name}"))
    [item] = report["install"]
    return requirements(item["metadata"].get("requires_dist", ()), sdist)


# What an sdist's build sees of this machine's environment: enough to find
# programs and decode text, and none of its tokens, credentials or settings.
KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")


def backend_env(home: str, extra: dict[str, str]) -> dict[str, str]:
    kept = {name: os.environ[name] for name in KEPT if name in os.environ}
    return {**kept, "HOME": home, **extra}


def pip(verb: str, options: list[str], tools: Path, extra: dict[str, str], doing: str) -> str:
    """pip `verb` on one sdist, offline, its build requirements from `tools`,
    in `backend_env` with `extra` and an empty home folder."""
    # --isolated: no pip configuration or PIP_* variable of this machine applies.
    command = [sys.executable, "-m", "pip", "--isolated", verb, "--no-deps", "--no-index"]
    command += ["--no-cache-dir", "--find-links", str(tools), "--quiet", *options]
    # Files get the modes a 022 umask gives, whatever this user's umask.
    mask = os.umask(0o022)
    try:
        with tempfile.TemporaryDirectory(prefix="hatch-wheelhouse-home-") as home:
            env = backend_env(home, extra)
            result = subprocess.run(command, capture_output=True, text=True, env=env)
    finally:
        os.umask(mask)
    if result.returncode != 0:
        raise WheelhouseError(f"{doing} failed:\n{result.stderr[-2000:]}")
    return result.stdout

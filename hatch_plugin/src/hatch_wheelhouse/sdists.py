"""Building a wheel on this host from a locked sdist (the `sdists = "build"` policy).

pip builds it in an isolated environment that it fills offline from `tools`:
the build requirements' files, checked against their lock. The timestamps
come from the sdist, so the same sdist gives the same wheel, byte for byte.
"""

import os
import subprocess
import sys
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

from .errors import WheelhouseError
from .metadata import source_date_epoch


def build_wheel(sdist: Path, tools: Path, accepted: list[Tag], out_dir: Path) -> Path:
    """Build `sdist` (named as the lock names it) into `out_dir`; the wheel must
    suit the target's tags."""
    filename = sdist.name
    # --isolated: no pip configuration or PIP_* variable of this machine applies.
    command = [sys.executable, "-m", "pip", "--isolated", "wheel", "--no-deps", "--no-index"]
    command += ["--no-cache-dir", "--find-links", str(tools), "--quiet"]
    command += ["--wheel-dir", str(out_dir), str(sdist)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch(sdist))}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise WheelhouseError(f"building a wheel from {filename} failed:\n{result.stderr[-2000:]}")
    wheel = next(out_dir.glob("*.whl"))
    tags = parse_wheel_filename(wheel.name)[-1]
    if not tags & set(accepted):
        raise WheelhouseError(
            f"the wheel built from {filename} ({wheel.name}) does not run on the target "
            f"(best tag {accepted[0]}): this host cannot build for it; set sdists = 'include' "
            "to build it in the image's builder stage"
        )
    return wheel

"""Building a wheel on the host from a locked sdist (the `sdists = "build"` policy)."""

import subprocess
import sys
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

from .errors import WheelhouseError


def build_wheel(sdist: Path, accepted: list[Tag], out_dir: Path) -> Path:
    """Build `sdist` (named as the lock names it) into `out_dir`; the wheel must
    suit the target's tags."""
    filename = sdist.name
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out_dir), sdist],
        capture_output=True,
        text=True,
    )
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

"""Building a wheel on the host from a locked sdist (the `sdists = "build"` policy)."""

import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

from .errors import WheelhouseError


def build_wheel(sdist: Path, filename: str, accepted: list[Tag], out_dir: Path) -> Path:
    """Build `sdist` into `out_dir`; the wheel must suit the target's tags."""
    with tempfile.TemporaryDirectory() as tmp:
        # A copy under its real name: pip reads the name and version from it.
        named = Path(tmp) / filename
        named.write_bytes(sdist.read_bytes())
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out_dir), named],
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

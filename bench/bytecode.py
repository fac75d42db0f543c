"""Start-up cost of each bytecode invalidation mode on the default image.

The Dockerfile compiles the venv with `unchecked-hash` pycs, so that two
builds give the same bytes. This builds the same project three times, changing
only that mode (`timestamp` is what pip writes by default), and measures in
alternating rounds, with one CPU: the time to import the app inside the
container, and the time from `docker run` (hardened) to `/healthz` answering.
"""

import statistics
from pathlib import Path

from images import DOCKER, HARDENED, container
from measures import CPUS
from projects import DEFAULT, Variant, bake, build, image_tag, log, sh
from report import machine

MODES = ("unchecked-hash", "checked-hash", "timestamp")
COMPILE = "--invalidation-mode unchecked-hash"
HEADING = "## Bytecode and start time"


def build_modes(workdir: Path) -> tuple[dict[str, str], str]:
    """One image per mode from one baked project; the tags and the app's package."""
    variant = Variant(DEFAULT)
    project = bake(variant, workdir / "bytecode")
    package = next(project.glob("src/*/app.py")).parent.name
    dockerfile = project / "Dockerfile"
    original = dockerfile.read_text()
    assert original.count(COMPILE) == 2, "the Dockerfile no longer compiles as expected"
    tags = {}
    for mode in MODES:
        dockerfile.write_text(original.replace(COMPILE, f"--invalidation-mode {mode}"))
        tags[mode] = image_tag(f"bytecode {mode}")
        log(f"bytecode: building with {mode} pycs")
        build(variant, project, tags[mode], no_cache=False)
    dockerfile.write_text(original)
    return tags, package


def import_seconds(tag: str, package: str) -> float:
    probe = (
        "import time; started = time.perf_counter(); "
        f"import {package}.wsgi; print(time.perf_counter() - started)"
    )
    command = ["run", "--rm", "--cpus", str(CPUS), *HARDENED, "--entrypoint", "python", tag]
    return float(sh(DOCKER, *command, "-c", probe).strip().splitlines()[-1])


def ready_seconds(tag: str) -> float:
    """From `docker run` (hardened, one CPU, a published port) to /healthz answering."""
    with container(tag, "--cpus", str(CPUS)) as started:
        return started.ready_s


def measure(workdir: Path, rounds: int) -> dict[str, dict[str, list[float]]]:
    tags, package = build_modes(workdir)
    samples = {mode: {"import": [], "ready": []} for mode in MODES}
    for round_number in range(rounds):
        log(f"bytecode: round {round_number + 1} of {rounds}")
        for mode in MODES:  # alternating, so drift in the machine hits every mode alike
            samples[mode]["import"].append(import_seconds(tags[mode], package))
            samples[mode]["ready"].append(ready_seconds(tags[mode]))
    return samples


def spread(values: list[float], scale: float) -> str:
    return (
        f"{statistics.median(values) * scale:.0f} "
        f"({min(values) * scale:.0f}-{max(values) * scale:.0f})"
    )


def section(samples: dict[str, dict[str, list[float]]], rounds: int) -> str:
    base = {k: statistics.median(v) for k, v in samples["timestamp"].items()}
    rows = []
    for mode, values in samples.items():
        ratios = {k: base[k] / statistics.median(v) for k, v in values.items()}
        rows.append(
            f"| `{mode}`{' (the default)' if mode == MODES[0] else ''} "
            f"| {spread(values['import'], 1000)} | x{ratios['import']:.2f} "
            f"| {spread(values['ready'], 1000)} | x{ratios['ready']:.2f} |"
        )
    return f"""{HEADING}

Measured by `nox -s bench` (alone: `nox -s bench -- --bytecode-only`) on
{machine()}. The default image built three times, changing only the venv's bytecode
invalidation mode (`timestamp` is what pip writes: each header holds its
source's modification time, the moment pip unpacked it, so no two builds
match). {rounds} alternating rounds, one CPU,
hardened (`--read-only`): the app's import inside the container, and
`docker run` to `/healthz` answering. Medians in ms, range in brackets; ratios
against `timestamp`, above 1 is faster.

| bytecode | import the app (ms) | ratio | start to ready (ms) | ratio |
|---|---|---|---|---|
{chr(10).join(rows)}
"""

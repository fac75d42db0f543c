"""The minimal runtime (the default) beside the slim one: size, contents,
rebuild, start, serving and memory.

    nox -s bench -- --runtime-only   # this section of docs/benchmarks.md alone

Every base is baked twice, `runtime=minimal` and `runtime=slim`, and built
with `nox -s image` (so each image passes its checks first); the sizes are
those check_image.py reports (the image's files, exported). The default
answers' two images are then measured in alternating rounds on one CPU,
hardened: `docker run` to `/healthz` answering, requests/s and p99 under wrk
(trivial and 10 ms requests), idle memory, and a source-only rebuild
(`hatch build` and `docker build`).
"""

import shutil
import statistics
import time
from collections import Counter
from pathlib import Path

from bytecode import ready_seconds
from images import SOURCE_URL, exported
from measures import idle_mib, running, size_mb, wrk
from projects import Variant, bake, build, image_tag, log, touch_source
from report import machine

HEADING = "## Minimal runtime"
BASES = {
    "debian trixie (default)": {},
    "debian bookworm": {"debian_release": "bookworm", "python_version": "3.11"},
    "official": {"base": "official"},
    "source (no PGO)": {"base": "source"},
}
SOURCE_ARGS = ["PGO=0", f"PYTHON_URL={SOURCE_URL}"]
RUNTIMES = ("slim", "minimal")
LOADS = [("trivial", "/healthz"), ("wait 10 ms", "/bench/io?ms=10")]
ROUNDS = 5  # each round starts, loads and rebuilds both images: about a minute


def images(workdir: Path) -> dict[str, dict[str, tuple[str, Path, Variant]]]:
    """base -> runtime -> (tag, project, variant), each built by `nox -s image`."""
    built = {}
    shutil.rmtree(workdir / "runtimes", ignore_errors=True)  # a previous run's bakes
    for base, answers in BASES.items():
        for runtime in RUNTIMES:
            name = f"runtime {runtime} {base}"
            args = SOURCE_ARGS if answers.get("base") == "source" else []
            variant = Variant(name, {**answers, "runtime": runtime}, args)
            log(f"runtimes: baking and building {name}")
            project = bake(variant, workdir / "runtimes")
            tag = image_tag(name)
            build(variant, project, tag, no_cache=False)
            built.setdefault(base, {})[runtime] = (tag, project, variant)
    return built


def contents(tag: str) -> dict[str, tuple[int, int]]:
    """Files and bytes by top-level directory."""
    files, sizes = Counter(), Counter()
    with exported(tag) as members:
        for member, _ in members:
            if not member.isdir():
                top = "/" + member.name.split("/")[0]
                files[top] += 1
                sizes[top] += member.size
    return {top: (files[top], sizes[top]) for top in sorted(files)}


def serve_once(tag: str) -> dict:
    with running(tag, {}, 1) as started:
        time.sleep(2)  # idle, after the first request
        result = {"idle_mib": idle_mib(started)}
        for name, path in LOADS:
            result[name] = wrk(started.url(path), 64, 5, 1)
    return result


def rebuild_seconds(variant: Variant, project: Path, tag: str) -> float:
    touch_source(project)
    return build(variant, project, tag, no_cache=False)


def measure(workdir: Path, rounds: int = ROUNDS) -> dict:
    built = images(workdir)
    sizes = {base: {rt: size_mb(built[base][rt][0]) for rt in RUNTIMES} for base in built}
    default = built[next(iter(BASES))]
    samples = {runtime: {"ready": [], "serving": [], "rebuild": []} for runtime in RUNTIMES}
    for round_number in range(rounds):
        log(f"runtimes: round {round_number + 1} of {rounds}")
        for runtime in RUNTIMES:  # alternating: drift hits both alike
            tag, project, variant = default[runtime]
            samples[runtime]["ready"].append(ready_seconds(tag))
            samples[runtime]["serving"].append(serve_once(tag))
            samples[runtime]["rebuild"].append(rebuild_seconds(variant, project, tag))
    return {"sizes": sizes, "samples": samples, "contents": contents(default["minimal"][0])}


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    median, low, high = statistics.median(values), min(values), max(values)
    return f"{fmt.format(median)} ({fmt.format(low)}-{fmt.format(high)})"


def rows(samples: dict) -> list[tuple[str, list[float], list[float], str, str]]:
    """(metric, slim values, minimal values, format, which way is better)."""
    slim, minimal = samples["slim"], samples["minimal"]
    found = [
        (
            "start to ready (ms)",
            [v * 1000 for v in slim["ready"]],
            [v * 1000 for v in minimal["ready"]],
            "{:,.0f}",
            "lower",
        ),
    ]
    for name, _ in LOADS:
        for key, label, better in (
            ("rps", "requests/s", "higher"),
            ("p99_ms", "p99 (ms)", "lower"),
        ):
            found.append(
                (
                    f"{name}: {label}",
                    [r[name][key] for r in slim["serving"]],
                    [r[name][key] for r in minimal["serving"]],
                    "{:,.0f}",
                    better,
                )
            )
    found.append(
        (
            "idle memory (MiB)",
            [r["idle_mib"] for r in slim["serving"]],
            [r["idle_mib"] for r in minimal["serving"]],
            "{:.1f}",
            "lower",
        )
    )
    found.append(
        ("source-only rebuild (s)", slim["rebuild"], minimal["rebuild"], "{:.1f}", "lower")
    )
    return found


def section(results: dict, rounds: int) -> str:
    size_lines = [
        f"| {base} | {by['slim']:.1f} | {by['minimal']:.1f} | x{by['slim'] / by['minimal']:.2f} |"
        for base, by in results["sizes"].items()
    ]
    measured = []
    for label, slim, minimal, fmt, better in rows(results["samples"]):
        ratio = statistics.median(minimal) / statistics.median(slim)
        if better == "lower":
            ratio = 1 / ratio
        measured.append(
            f"| {label} | {spread(slim, fmt)} | {spread(minimal, fmt)} | x{ratio:.2f} |"
        )
    inside = [
        f"| `{top}` | {files:,} | {size / 1e6:.1f} |"
        for top, (files, size) in results["contents"].items()
    ]
    return f"""{HEADING}

Measured by `nox -s bench` (alone: `nox -s bench -- --runtime-only`) on
{machine()}. Every base built with `runtime=slim` (the whole base image under
the service) and `runtime=minimal` (the default: Python, the libraries it
links and the service on an empty image). Sizes as `checks/check_image.py`
reports them (the exported files), in MB; ratios above 1 mean the minimal
image is smaller or better.

| base | slim (MB) | minimal (MB) | ratio |
|---|---|---|---|
{chr(10).join(size_lines)}

The default answers' two images, {rounds} alternating rounds, one CPU,
hardened; medians, with the range across rounds in brackets; wrk `-t2 -c64
-d5s`:

| metric | slim | minimal | ratio |
|---|---|---|---|
{chr(10).join(measured)}

What the default minimal image holds, by top-level directory (files, MB):

| directory | files | MB |
|---|---|---|
{chr(10).join(inside)}
"""

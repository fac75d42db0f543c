"""Benchmark generated images against a naive image of the same service.

    nox -s bench                     # every variant, writes docs/benchmarks.md
    nox -s bench -- --quick          # source base without PGO, shorter load runs
    nox -s bench -- --serving-only   # only the serving section (bench/serving.py)
    nox -s bench -- --profile-only   # only where a worker's time goes (bench/worker_profile.py)
    nox -s bench -- --bytecode-only  # only the bytecode section (bench/bytecode.py)

In one run on this machine: bakes the service for each base (and each gunicorn
worker class on the default base), builds its image with `nox -s image`, and
builds a naive single-stage image of the same code (bench/naive.Dockerfile).
For each image it measures size, cold build, source-only rebuild,
start-to-ready, requests/s and p99 latency under wrk at fixed concurrency and
one CPU, idle memory, and Python CPU speed (bench/workloads.py). The table
goes to docs/benchmarks.md as ratios to the naive image. Nothing here asserts
a timing: the numbers are reported, never tested.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from statistics import geometric_mean

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import tooling  # noqa: E402  (shared with the tests: how generated projects' tools run)

# The tests' Docker client, and the CPython that cookiecutter.json pins.
from images import DOCKER, SOURCE_URL  # noqa: E402

BENCH = ROOT / "bench"
CPUS = "1"  # every container gets one CPU: the comparison is per CPU
WRK_THREADS, CONNECTIONS = 2, 32  # fixed load: 32 connections kept busy
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"


@dataclass
class Variant:
    name: str
    answers: dict = field(default_factory=dict)
    build_args: list[str] = field(default_factory=list)
    naive: bool = False


DEFAULT, GTHREAD = "default (debian trixie, gevent)", "default, gthread workers"
IO_PATH = "/bench/io"
# Appended to each baked app.py, for the benchmark only: a request that waits
# (?ms=10 by default), as one querying a database would, and one that computes
# for about a millisecond. They show how each worker setting copes with both.
BENCH_ROUTES = f"""

import time  # noqa: E402


@routes.get("{IO_PATH}")
def bench_io():
    waited = int(request.args.get("ms", "10"))
    time.sleep(waited / 1000)
    return {{"waited_ms": waited}}


@routes.get("/bench/cpu")
def bench_cpu():
    items = [{{"id": i, "score": i * 7919 % 1000 / 10}} for i in range(2000)]
    return {{"top": sorted(items, key=lambda item: item["score"])[:10]}}
"""


def variants(quick: bool) -> list[Variant]:
    pgo = ["PGO=0"] if quick else []
    return [
        Variant("naive", {"base": "official", "worker_class": "sync"}, naive=True),
        Variant(DEFAULT),
        Variant("debian bookworm 3.11", {"debian_release": "bookworm", "python_version": "3.11"}),
        Variant("official 3.13", {"base": "official"}),
        Variant(
            "source 3.13" + (" (no PGO)" if quick else " (PGO+LTO)"),
            {"base": "source"},
            [*pgo, f"PYTHON_URL={SOURCE_URL}"],
        ),
        Variant("default, sync workers", {"worker_class": "sync"}),
        Variant(GTHREAD, {"worker_class": "gthread"}),
    ]


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def sh(*command: str, cwd: Path | None = None, env: dict | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"[bench] failed: {' '.join(command)}\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout + result.stderr


def timed(*command: str, **kwargs) -> float:
    started = time.monotonic()
    sh(*command, **kwargs)
    return time.monotonic() - started


def tool_env() -> dict:
    env = tooling.tool_env()
    return {**env, "DOCKER": DOCKER, "DOCKER_BUILDKIT": "1"}


def bake(variant: Variant, workdir: Path) -> Path:
    out = workdir / re.sub(r"\W+", "-", variant.name).strip("-")
    project = Path(
        cookiecutter(str(ROOT), no_input=True, output_dir=str(out), extra_context=variant.answers)
    )
    app = next(project.glob("src/*/app.py"))
    app.write_text(app.read_text() + BENCH_ROUTES)
    env = tool_env()
    sh("git", "init", "-q", cwd=project)
    sh("git", "add", "-A", cwd=project)
    sh(
        "git",
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@slipway.invalid",
        "commit",
        "-qm",
        "bench",
        cwd=project,
    )
    sh(sys.executable, "-m", "nox", "-s", "lock", cwd=project, env=env)
    return project


def build(variant: Variant, project: Path, tag: str, no_cache: bool) -> float:
    """Time one image build; ours include writing the wheelhouse (`hatch build`)."""
    env = tool_env()
    cache = ["--no-cache"] if no_cache else []
    if variant.naive:
        for name in ("naive.Dockerfile", "naive.Dockerfile.dockerignore"):
            shutil.copyfile(BENCH / name, project / name)
        return timed(
            DOCKER,
            "build",
            *cache,
            "--secret",
            f"id=ca,src={HOST_CA}",
            "-f",
            "naive.Dockerfile",
            "-t",
            tag,
            ".",
            cwd=project,
            env=env,
        )
    hatch = project / ".nox" / "image" / "bin" / "hatch"
    if not hatch.exists():  # the first build goes through `nox -s image`, with its checks
        args = [arg for value in variant.build_args for arg in ("--build-arg", value)]
        sh(
            sys.executable,
            "-m",
            "nox",
            "-s",
            "image",
            "--",
            "--tag",
            tag,
            *args,
            cwd=project,
            env=env,
        )
    args = [arg for value in variant.build_args for arg in ("--build-arg", value)]
    started = time.monotonic()
    sh(str(hatch), "build", "-t", "wheel", cwd=project, env=env)
    sh(DOCKER, "build", *cache, *args, "-t", tag, ".", cwd=project, env=env)
    return time.monotonic() - started


def touch_source(project: Path) -> None:
    app = next(project.glob("src/*/app.py"))
    app.write_text(app.read_text() + f"\n# edited at {time.time_ns()}\n")


def serve(tag: str, wrk_seconds: int, env: dict | None = None, paths=("/",)) -> dict:
    """Start the image on one CPU, time it to /healthz, then load each path with wrk."""
    settings = [arg for name, value in (env or {}).items() for arg in ("-e", f"{name}={value}")]
    started = time.monotonic()
    container = sh(
        DOCKER, "run", "--detach", "--cpus", CPUS, *settings, "--publish", "127.0.0.1::8000", tag
    ).strip()
    try:
        port = sh(DOCKER, "port", container, "8000/tcp").splitlines()[0].rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                if time.monotonic() - started > 60:
                    sys.exit(f"[bench] {tag} never served /healthz")
                time.sleep(0.02)
        ready = time.monotonic() - started
        time.sleep(2)
        memory = sh(DOCKER, "stats", "--no-stream", "--format", "{{.MemUsage}}", container)
        loads = {path: wrk(url + path, wrk_seconds) for path in paths}
    finally:
        sh(DOCKER, "rm", "--force", container)
    return {"ready_s": ready, "idle_mib": parse_mib(memory.split("/")[0]), "load": loads}


def wrk(url: str, seconds: int) -> dict:
    out = sh("wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p99_ms": parse_ms(re.search(r"^\s*99%\s+(\S+)", out, re.M)[1]),
        "errors": "Non-2xx" in out or "Socket errors" in out,
    }


def parse_mib(text: str) -> float:
    value, unit = re.match(r"\s*([\d.]+)\s*([KMG]i?B)", text).groups()
    return float(value) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}.get(unit, 1)


def parse_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def cpu_speed(tag: str, python: str = "python") -> dict:
    """bench/workloads.py inside the image on one CPU, as an unprivileged user."""
    mount = f"{BENCH / 'workloads.py'}:/bench/workloads.py:ro"
    out = sh(
        DOCKER,
        "run",
        "--rm",
        "--cpus",
        CPUS,
        "--volume",
        mount,
        "--entrypoint",
        python,
        "--user",
        "65534",
        tag,
        "/bench/workloads.py",
    )
    return json.loads(out.strip().splitlines()[-1])


def image_tag(name: str) -> str:
    return "slipway-bench/" + re.sub(r"\W+", "-", name).strip("-").lower()


def measure(variant: Variant, workdir: Path, wrk_seconds: int) -> dict:
    tag = image_tag(variant.name)
    log(f"{variant.name}: baking and locking")
    project = bake(variant, workdir)
    build(variant, project, tag, no_cache=False)  # warms the base layers
    log(f"{variant.name}: cold build")
    cold = build(variant, project, tag, no_cache=True)
    touch_source(project)
    log(f"{variant.name}: source-only rebuild")
    rebuild = build(variant, project, tag, no_cache=False)
    size = int(sh(DOCKER, "image", "inspect", "-f", "{{.Size}}", tag).strip()) / 1e6
    log(f"{variant.name}: serving under wrk")
    result = {"size_mb": size, "cold_s": cold, "rebuild_s": rebuild, **serve(tag, wrk_seconds)}
    result.update(result.pop("load")["/"])
    log(f"{variant.name}: CPU workloads")
    cpu = cpu_speed(tag)
    result["python"] = cpu.pop("python")
    result["cpu_s"] = geometric_mean(cpu.values())
    result["cpu"] = cpu
    log(f"{variant.name}: {json.dumps({k: v for k, v in result.items() if k != 'cpu'})}")
    return result


METRICS = [
    ("size_mb", "image size (MB)", "{:.1f}", "lower"),
    ("cold_s", "cold build (s)", "{:.1f}", "lower"),
    ("rebuild_s", "source-only rebuild (s)", "{:.1f}", "lower"),
    ("ready_s", "start to ready (s)", "{:.2f}", "lower"),
    ("rps", "requests/s", "{:.0f}", "higher"),
    ("p99_ms", "p99 latency (ms)", "{:.1f}", "lower"),
    ("idle_mib", "idle memory (MiB)", "{:.1f}", "lower"),
    ("cpu_s", "CPU workloads, geometric mean (s)", "{:.3f}", "lower"),
]


def table(results: dict[str, dict]) -> str:
    names = list(results)
    naive = results[names[0]]
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key, label, fmt, better in METRICS:
        cells = []
        for name in names:
            value = results[name][key]
            # Ratios read "times better than naive": above 1 is better.
            ratio = naive[key] / value if better == "lower" else value / naive[key]
            shown = f"x{ratio:.2f}" if ratio >= 0.1 else f"x{ratio:.2g}"  # x0.0036, not x0.00
            cells.append(fmt.format(value) + ("" if name == names[0] else f" ({shown})"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| Python | " + " | ".join(results[n]["python"] for n in names) + " |")
    return "\n".join(lines)


def cpu_table(results: dict[str, dict]) -> str:
    names = list(results)
    workloads = list(results[names[0]]["cpu"])
    lines = [
        "| workload (best of 3, s) | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for workload in workloads:
        cells = [f"{results[n]['cpu'][workload]:.3f}" for n in names]
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    engine = sh(DOCKER, "version", "-f", "{{.Server.Version}}").strip()
    return f"{os.cpu_count()} x {cpu}, Linux {platform.release()}, Docker engine {engine}"


def official_origin(tag: str = "python:3.13-slim-trixie") -> str:
    """Where the official image came from: pulled, or .ci/provision's stand-in (which says so)."""
    label = '{{index .Config.Labels "org.opencontainers.image.description"}}'
    description = sh(DOCKER, "image", "inspect", "-f", label, tag).strip()
    if "stand-in" in description:
        return f"`{tag}`: {description}, made by `.ci/provision` (no registry here)"
    return f"`{tag}`, as pulled"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no PGO build, 5 s load runs")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/slipway-bench"))
    parser.add_argument(
        "--serving-only",
        action="store_true",
        help="measure serving throughput and replace that section of --output",
    )
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="profile the default image's worker and replace that section of --output",
    )
    parser.add_argument(
        "--runtime-only",
        action="store_true",
        help="measure the minimal runtime beside the slim one and replace that section",
    )
    parser.add_argument(
        "--bytecode-only",
        action="store_true",
        help="measure the bytecode modes and replace that section of --output",
    )
    options = parser.parse_args()
    import bytecode  # here: they import this script as `run`, as bench/flags.py does
    import runtimes
    import serving
    import worker_profile

    rounds = 3 if options.quick else 10
    serving_rounds, serving_seconds = (1, 3) if options.quick else (3, 6)
    if options.bytecode_only:
        text = bytecode.section(bytecode.measure(options.workdir, rounds), rounds)
        options.output.write_text(bytecode.replace_section(options.output.read_text(), text))
        log(f"wrote the bytecode section of {options.output}")
        print(text)
        return
    if not shutil.which("wrk"):
        sys.exit("[bench] wrk is missing: apt-get install wrk")
    wrk_seconds = 5 if options.quick else 15
    if options.runtime_only:
        text = runtimes.section(runtimes.measure(options.workdir), runtimes.ROUNDS)
        options.output.write_text(bytecode.replace_section(options.output.read_text(), text))
        log(f"wrote the runtime section of {options.output}")
        print(text)
        return
    if options.profile_only:
        tags = serving.images(options.workdir)
        text = worker_profile.section(worker_profile.measure(tags["default"], options.workdir))
        options.output.write_text(bytecode.replace_section(options.output.read_text(), text))
        log(f"wrote the profile section of {options.output}")
        print(text)
        return
    if options.serving_only:
        samples = serving.measure(options.workdir, serving_rounds, serving_seconds)
        text = serving.section(samples, serving_rounds, serving_seconds)
        options.output.write_text(bytecode.replace_section(options.output.read_text(), text))
        log(f"wrote the serving section of {options.output}")
        print(text)
        return
    shutil.rmtree(options.workdir, ignore_errors=True)
    started = time.monotonic()
    results = {v.name: measure(v, options.workdir, wrk_seconds) for v in variants(options.quick)}
    samples = serving.measure(options.workdir, serving_rounds, serving_seconds)
    profiles = worker_profile.measure(serving.images(options.workdir)["default"], options.workdir)
    startup = bytecode.section(bytecode.measure(options.workdir, rounds), rounds)
    minimal = runtimes.section(runtimes.measure(options.workdir), runtimes.ROUNDS)
    command = "nox -s bench" + (" -- --quick" if options.quick else "")
    text = f"""# Benchmarks

Generated by `{command}` ({time.monotonic() - started:.0f} s) on {machine()}.
Every container ran with `--cpus {CPUS}`; load:
`wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{wrk_seconds}s` on `/`.
Ratios in brackets compare with the naive image: above 1 means better (smaller,
faster, more requests). Cold builds use `--no-cache`, which also empties
BuildKit's cache mounts: apt and pip download everything again. Rebuild: one line
appended to `app.py`, then `hatch build` and `docker build` (the naive image:
`docker build`). The naive image and the official base start from
{official_origin()}.

{table(results)}

## CPU workloads

{cpu_table(results)}

{serving.section(samples, serving_rounds, serving_seconds)}
{worker_profile.section(profiles)}
{startup}
{minimal}"""
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(text)
    log(f"wrote {options.output}")
    print(text)


if __name__ == "__main__":
    main()

"""Benchmark generated images against a naive image of the same service.

    nox -s bench                     # every variant, writes docs/benchmarks.md
    nox -s bench -- --quick          # source base without PGO, shorter load runs
    nox -s bench -- --serving-only   # only the serving section (bench/serving.py)
    nox -s bench -- --open-loop-only # only latency at fixed rates (bench/open_loop.py)
    nox -s bench -- --profile-only   # only where a worker's time goes (bench/worker_profile.py)
    nox -s bench -- --bytecode-only  # only the bytecode section (bench/bytecode.py)
    nox -s bench -- --metrics-cost-only  # only what metrics cost (bench/metrics_cost.py)

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
import shutil
import sys
import time
from pathlib import Path
from statistics import geometric_mean

import bytecode
import metrics_cost
import open_loop
import runtimes
import serving
import worker_profile
from images import SOURCE_URL
from measures import CPUS, cpu_speed, idle_mib, running, size_mb, wrk
from projects import DEFAULT, GTHREAD, ROOT, Variant, bake, build, image_tag, log, touch_source
from report import cpu_table, machine, official_origin, table, write

CONNECTIONS = 32  # the main table's fixed load: 32 connections kept busy


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


def serve(tag: str, wrk_seconds: int) -> dict:
    """The image on one CPU: its start to /healthz, idle memory, and `/` under wrk."""
    with running(tag, {}, CPUS) as started:
        time.sleep(2)  # idle, after the first request
        memory = idle_mib(started)
        load = wrk(started.url("/"), CONNECTIONS, wrk_seconds, CPUS)
    return {"ready_s": started.ready_s, "idle_mib": memory, **load}


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
    log(f"{variant.name}: serving under wrk")
    result = {
        "size_mb": size_mb(tag),
        "cold_s": cold,
        "rebuild_s": rebuild,
        **serve(tag, wrk_seconds),
    }
    log(f"{variant.name}: CPU workloads")
    cpu = cpu_speed(tag)
    result["python"] = cpu.pop("python")
    result["cpu_s"] = geometric_mean(cpu.values())
    result["cpu"] = cpu
    log(f"{variant.name}: {json.dumps({k: v for k, v in result.items() if k != 'cpu'})}")
    return result


def sections(workdir: Path, quick: bool) -> dict:
    """Each section that runs alone (`--NAME-only`): how to measure and write it."""
    rounds = 3 if quick else 10
    serving_rounds, serving_seconds = (1, 3) if quick else (3, 6)
    rates = open_loop.QUICK_RATES if quick else open_loop.RATES
    return {
        "serving": lambda: serving.section(
            serving.measure(workdir, serving_rounds, serving_seconds),
            serving_rounds,
            serving_seconds,
        ),
        "open-loop": lambda: open_loop.section(
            open_loop.measure(workdir, serving_rounds, serving_seconds, rates),
            serving_rounds,
            serving_seconds,
            rates,
        ),
        "profile": lambda: worker_profile.section(
            worker_profile.measure(serving.images(workdir)["default"], workdir)
        ),
        "bytecode": lambda: bytecode.section(bytecode.measure(workdir, rounds), rounds),
        "runtime": lambda: runtimes.section(runtimes.measure(workdir), runtimes.ROUNDS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no PGO build, 5 s load runs")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/slipway-bench"))
    for name in ("serving", "open-loop", "profile", "runtime", "bytecode"):
        parser.add_argument(
            f"--{name}-only", action="store_true", help=f"only the {name} section of --output"
        )
    parser.add_argument(
        "--metrics-cost-only",
        action="store_true",
        help="only what metrics cost (needs valgrind; not part of the full run)",
    )
    options = parser.parse_args()
    for tool in ("wrk", "hey"):  # closed loop and open loop
        if not shutil.which(tool):
            sys.exit(f"[bench] {tool} is missing: apt-get install {tool}")
    if options.metrics_cost_only:
        if not shutil.which("valgrind"):
            sys.exit("[bench] valgrind is missing: apt-get install valgrind")
        write(options.output, metrics_cost.section(metrics_cost.measure(options.workdir)), True)
        return
    measured = sections(options.workdir, options.quick)
    for name, section in measured.items():
        if getattr(options, f"{name.replace('-', '_')}_only"):
            write(options.output, section(), section=True)
            return
    shutil.rmtree(options.workdir, ignore_errors=True)
    started = time.monotonic()
    wrk_seconds = 5 if options.quick else 15
    results = {v.name: measure(v, options.workdir, wrk_seconds) for v in variants(options.quick)}
    parts = "\n".join(section() for section in measured.values())
    command = "nox -s bench" + (" -- --quick" if options.quick else "")
    write(
        options.output,
        f"""# Benchmarks

Generated by `{command}` ({time.monotonic() - started:.0f} s) on {machine()}.
Every container ran hardened with `--cpus {CPUS}`; load:
`wrk -t2 -c{CONNECTIONS} -d{wrk_seconds}s` on `/`.
Ratios in brackets compare with the naive image: above 1 means better (smaller,
faster, more requests). Cold builds use `--no-cache`, which also empties
BuildKit's cache mounts: apt and pip download everything again. Rebuild: one line
appended to `app.py`, then `hatch build` and `docker build` (the naive image:
`docker build`). The naive image and the official base start from
{official_origin()}.

{table(results)}

## CPU workloads

{cpu_table(results)}

{parts}""",
    )


if __name__ == "__main__":
    main()

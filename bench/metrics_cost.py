"""What the service's Prometheus metrics cost a request, METRICS=on against off.

    nox -s bench -- --metrics-cost-only   # this section of docs/benchmarks.md alone

Two measures, as the machine may be shared and busy:

- instructions per request, which no load changes: one gevent worker of the
  baked service in a venv on the host, under callgrind, serves N1 then, in a
  second run, N2 requests (hey, 4 connections); the worker's instructions at
  N2 less those at N1, over N2 - N1, leave its start and stop out;
- CPU time per request in the default image, hardened on one CPU: the
  container's cgroup CPU time under wrk, in alternating rounds.

Needs valgrind and hey (`apt-get install valgrind hey`). The venv's Python is
the session's, or METRICS_COST_PYTHON (a path: the image's 3.13, say). It is
not part of the full `nox -s bench`: under callgrind it takes about half an hour.
"""

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measures import cpu_seconds, free_port, running, wrk
from projects import DEFAULT, Variant, bake, build, image_tag, log, sh, tool_env
from report import machine

HEADING = "## What metrics cost"
WORKLOADS = [("trivial", "/healthz"), ("wait 10 ms", "/bench/io?ms=10")]
MODES = ("on", "off")
COUNTS = (200, 1200)  # requests in the two callgrind runs
CONNECTIONS, SECONDS, ROUNDS = 64, 5, 7  # the image's runs under wrk


def venv(project: Path, workdir: Path) -> Path:
    """The baked service installed in a venv of its own; its Python."""
    folder = workdir / "metrics-cost-venv"
    python = os.environ.get("METRICS_COST_PYTHON", sys.executable)
    uv = [sys.executable, "-m", "uv"]
    sh(*uv, "venv", "-q", "--clear", "--no-python-downloads", "-p", python, str(folder))
    install = [*uv, "pip", "install", "-q", "-p", str(folder / "bin/python")]
    sh(*install, "-e", str(project), env=tool_env())
    return folder / "bin" / "python"


def read(path: Path) -> str:
    return path.read_text(errors="replace")


def worker_instructions(python: Path, project: Path, out: Path, mode: str, path: str, n: int):
    """A gunicorn worker's instructions, under callgrind, for `n` requests to `path`."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    port = free_port()
    env = {**tool_env(), "METRICS": mode, "PORT": str(port), "WEB_CONCURRENCY": "1"}
    env |= {"GUNICORN_WORKER_CLASS": "gevent", "TIMEOUT": "600", "PYTHONHASHSEED": "0"}
    package = next(project.glob("src/*/start.py")).parent.name
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.%p"]
    command += [str(python), "-m", f"{package}.start", "-c", "gunicorn.conf.py"]
    with (out / "log").open("w") as log_file:
        server = subprocess.Popen(command, cwd=project, env=env, stdout=log_file, stderr=log_file)
    try:
        deadline = time.monotonic() + 300
        while not (booted := re.search(r"Booting worker with pid: (\d+)", read(out / "log"))):
            assert server.poll() is None and time.monotonic() < deadline, read(out / "log")
            time.sleep(0.5)
        time.sleep(10)  # the worker's imports, which no request should wait behind
        # No timeout: under callgrind a request takes a hundred times as long.
        answered = sh("hey", "-n", str(n), "-c", "4", "-t", "0", f"http://127.0.0.1:{port}{path}")
        assert re.search(rf"\[200\]\s+{n} responses", answered), answered
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=300)
    totals = (out / f"callgrind.{booted[1]}").read_text()
    return int(re.search(r"^(?:summary|totals): (\d+)", totals, re.M)[1])


def instructions(python: Path, project: Path, workdir: Path) -> dict:
    """Instructions per request by (workload, mode), and the Python that ran them."""
    found = {"python": sh(str(python), "-c", "import platform; print(platform.python_version())")}
    for workload, path in WORKLOADS:
        for mode in MODES:
            log(f"metrics cost: callgrind, {workload}, METRICS={mode}")
            first, second = (
                worker_instructions(python, project, workdir / f"cg-{mode}-{n}", mode, path, n)
                for n in COUNTS
            )
            found[workload, mode] = (second - first) / (COUNTS[1] - COUNTS[0])
            log(f"metrics cost: {found[workload, mode]:,.0f} instructions per request")
    return found


def cpu_per_request(tag: str) -> dict[tuple[str, str], list[float]]:
    """The image's CPU microseconds per request by (workload, mode), one a round."""
    found: dict[tuple[str, str], list[float]] = {}
    for round_number in range(ROUNDS):
        for mode in MODES:  # alternating: drift hits both
            log(f"metrics cost: image, round {round_number + 1}/{ROUNDS}, METRICS={mode}")
            with running(tag, {"METRICS": mode}, 1) as started:
                wrk(started.url("/healthz"), 64, 1, cpus=1)  # warm
                for workload, path in WORKLOADS:
                    before = cpu_seconds(started)
                    served = wrk(started.url(path), CONNECTIONS, SECONDS, cpus=1)
                    used = cpu_seconds(started) - before
                    found.setdefault((workload, mode), []).append(used / served["requests"] * 1e6)
    return found


def measure(workdir: Path) -> dict:
    variant = Variant(DEFAULT)
    shutil.rmtree(workdir / "metrics-cost", ignore_errors=True)
    project = bake(variant, workdir / "metrics-cost")
    python = venv(project, workdir)
    tag = image_tag("metrics cost default")
    log("metrics cost: building the default image")
    build(variant, project, tag, no_cache=False)
    cpu = cpu_per_request(tag)
    log(f"metrics cost: CPU us per request {cpu}")
    return {"cpu": cpu, "instructions": instructions(python, project, workdir)}


def section(measured: dict) -> str:
    ir, cpu = measured["instructions"], measured["cpu"]
    python = ir["python"].strip()
    lines = [
        "| workload | instructions per request, on / off | cost | "
        "CPU µs per request in the image, on / off (range) | cost |",
        "|---|---|---|---|---|",
    ]
    for workload, _ in WORKLOADS:
        on, off = ir[workload, "on"], ir[workload, "off"]
        cpu_on, cpu_off = (statistics.median(cpu[workload, mode]) for mode in MODES)
        ranges = [f"{min(cpu[workload, m]):.0f}-{max(cpu[workload, m]):.0f}" for m in MODES]
        cells = [workload, f"{on:,.0f} / {off:,.0f}", f"{on / off - 1:+.1%}"]
        cells += [f"{cpu_on:.0f} ({ranges[0]}) / {cpu_off:.0f} ({ranges[1]})"]
        lines.append("| " + " | ".join([*cells, f"{cpu_on / cpu_off - 1:+.1%}"]) + " |")
    table = "\n".join(lines)
    return f"""{HEADING}

Measured by `nox -s bench -- --metrics-cost-only` on {machine()}; not part of
the full run. Instructions: one gevent worker of the default service in a venv
on the host (Python {python}), under callgrind, serving
{COUNTS[0]:,} then, in a second run, {COUNTS[1]:,} requests (hey, 4 connections):
the difference, over {COUNTS[1] - COUNTS[0]:,}, leaves its start and stop out, and no
load on the machine changes it. CPU: the default image hardened, `--cpus 1`,
its cgroup's CPU time over `wrk -c{CONNECTIONS} -d{SECONDS}s`, median of {ROUNDS}
alternating rounds. Cost: `METRICS=on` over
`METRICS=off`, less one. The rate an image holds at a latency target falls
by about the share its CPU per request rises.

{table}
"""

"""Measuring a running image: containers pinned to CPUs, wrk's load, memory,
and Python's speed inside the image."""

import csv
import itertools
import json
import math
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from images import DOCKER, Container, container, exported_size
from projects import BENCH, TAG_PREFIX, sh

CPUS = 1  # the main table's containers get one CPU: the comparison is per CPU
STARTED = itertools.count()  # names this run's containers apart


def cpu_sets(cpus: int) -> tuple[str, str | None]:
    """CPUs for the container and for wrk: apart when the machine has enough."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) > cpus:
        container, rest = available[-cpus:], available[:-cpus]
        return ",".join(map(str, container)), ",".join(map(str, rest))
    return ",".join(map(str, available)), None  # wrk shares the container's CPUs


def load_pin(cpus: int) -> list[str]:
    """The prefix that runs a load generator on the CPUs a container of `cpus` leaves."""
    _, spare = cpu_sets(cpus)
    return ["taskset", "-c", spare] if spare else []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def loopback_command(tag: str, port: int) -> tuple[str, ...]:
    """The image's command, bound to 127.0.0.1:`port` instead of its own address:
    its `-b`/`--bind` value replaced, or `--bind` added for its entrypoint."""
    command = json.loads(sh(DOCKER, "image", "inspect", "-f", "{{json .Config.Cmd}}", tag)) or []
    bind = f"127.0.0.1:{port}"
    flags = [i for i, arg in enumerate(command) if arg in ("-b", "--bind")]
    if not flags:
        return (*command, "--bind", bind)
    return tuple(bind if i - 1 in flags else arg for i, arg in enumerate(command))


@contextmanager
def running(tag: str, env: dict, cpus: int) -> Iterator[Container]:
    """The image, hardened, on `cpus` CPUs (pinned apart from the load's), on the
    host's network at a free port of 127.0.0.1, so that load crosses loopback only
    (no bridge, no port proxy); removed after. WORKERS_PER_CPU in `env` sets
    WEB_CONCURRENCY."""
    env = dict(env)
    if "WORKERS_PER_CPU" in env:
        env["WEB_CONCURRENCY"] = int(env.pop("WORKERS_PER_CPU")) * cpus
    at = ("127.0.0.1", free_port())
    env["PORT"] = at[1]  # for the image's own HEALTHCHECK
    command, network = loopback_command(tag, at[1]), ["--network", "host"]
    settings = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
    cpuset, _ = cpu_sets(cpus)
    name = re.sub(r"[^\w.-]+", "-", f"{TAG_PREFIX}{os.getpid()}-{next(STARTED)}")
    pinned = ["--name", name, "--cpus", str(cpus), "--cpuset-cpus", cpuset, *network, *settings]
    with container(tag, *pinned, command=command, timeout=60, at=at) as started:
        yield started


def size_mb(tag: str) -> float:
    """What check_image.py reports: the image's files, unpacked."""
    return exported_size(tag) / 1e6


# A container's memory.stat: cgroup v1 (total_rss, total_shmem) or v2 (anon,
# shmem), under the cgroupfs or the systemd driver.
MEMORY_STAT = [
    "/sys/fs/cgroup/memory/docker/{id}/memory.stat",
    "/sys/fs/cgroup/memory/system.slice/docker-{id}.scope/memory.stat",
    "/sys/fs/cgroup/docker/{id}/memory.stat",
    "/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.stat",
]


def idle_mib(started: Container) -> float:
    """Memory the container's processes hold: their anonymous and shared memory.

    Not `docker stats`, which adds the page cache the container was charged
    for: the first container to read an image's libraries is charged for them
    (5 MiB here), the next one that reads them from the cache is not.
    """
    for pattern in MEMORY_STAT:
        path = Path(pattern.format(id=started.id))
        if path.exists():
            stat = dict(line.split() for line in path.read_text().splitlines())
            names = ("total_rss", "total_shmem") if "total_rss" in stat else ("anon", "shmem")
            return sum(int(stat[name]) for name in names) / 2**20
    usage = sh(DOCKER, "stats", "--no-stream", "--format", "{{.MemUsage}}", started.id)
    return parse_mib(usage.split("/")[0])


def wrk(url: str, connections: int, seconds: int, cpus: int) -> dict:
    command = [*load_pin(cpus), "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "requests": int(re.search(r"(\d+) requests in", out)[1]),
        "p99_ms": parse_ms(re.search(r"^\s*99%\s+(\S+)", out, re.M)[1]),
        "errors": errors + (int(non_2xx[1]) if non_2xx else 0),
    }


def hey(url: str, rate: float, connections: int, seconds: float, cpus: int) -> dict:
    """`rate` requests/s offered for `seconds`, each connection at its share of it
    (hey -q), whatever the answers' pace: what came back, its p50 and p99, and
    errors (failed requests and answers other than 2xx)."""
    each = f"{rate / connections:g}"
    pin = load_pin(cpus)
    threads = ["-cpus", "1"] if pin else []  # its Go threads stay on the spare CPU
    command = [*pin, "hey", *threads, "-c", str(connections), "-q", each, "-z", f"{seconds}s"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    codes = {int(code): int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
    ok = sum(n for code, n in codes.items() if 200 <= code < 300)
    failures = out.partition("Error distribution:")[2]  # absent when none failed
    failed = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]", failures, re.M))
    total_s = float(re.search(r"Total:\s+([\d.]+) secs", out)[1])
    quantile = {q: float(s) * 1000 for q, s in re.findall(r"(\d+)% in ([\d.]+) secs", out)}
    return {
        "offered": rate,
        "rps": ok / total_s,
        "p50_ms": quantile.get("50"),
        "p99_ms": quantile.get("99"),
        "errors": failed + sum(codes.values()) - ok,
    }


def hey_spread(url: str, rate: float, connections: int, seconds: float, cpus: int) -> dict:
    """As hey(), with each connection a hey process of its own, started a
    `connections`-th of a connection's period after the one before: the
    requests arrive spread over the period rather than all at once. Latencies
    come from each request's CSV row (`-o csv`), which hey writes only for
    requests that got an answer: a failed request counts as not served."""
    pin = load_pin(cpus)
    each = ["-c", "1", "-q", f"{rate / connections:g}", "-z", f"{seconds}s", "-o", "csv"]
    command = [*pin, "hey", *(["-cpus", "1"] if pin else []), *each, url]
    rows = []
    with ExitStack() as stack:
        started = []
        for _ in range(connections):
            output = stack.enter_context(tempfile.TemporaryFile("w+"))
            started.append((subprocess.Popen(command, stdout=output), output))
            time.sleep(1 / rate)  # a connection's period (connections / rate), over connections
        for process, output in started:
            if process.wait():
                raise subprocess.CalledProcessError(process.returncode, command)
            output.seek(0)
            rows += csv.DictReader(output)
    answered = [float(row["response-time"]) * 1000 for row in rows]
    ok = sum(200 <= int(row["status-code"]) < 300 for row in rows)
    quantile = statistics.quantiles(answered, n=100) if len(answered) > 1 else [math.inf] * 99
    return {
        "offered": rate,
        "rps": ok / seconds,
        "p50_ms": quantile[49],
        "p99_ms": quantile[98],
        "errors": len(rows) - ok,
    }


# Where the engine keeps a container's CPU time: cgroup v1 (cpuacct, in ns) or
# v2 (cpu.stat, in us), under the cgroupfs or the systemd driver.
CPU_USAGE = [
    "/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage",
    "/sys/fs/cgroup/cpuacct/system.slice/docker-{id}.scope/cpuacct.usage",
    "/sys/fs/cgroup/docker/{id}/cpu.stat",
    "/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat",
]


def cpu_seconds(started: Container) -> float | None:
    """CPU time the container has used so far; None where no cgroup says."""
    for pattern in CPU_USAGE:
        path = Path(pattern.format(id=started.id))
        if path.exists():
            text = path.read_text()
            if path.name == "cpuacct.usage":
                return int(text) / 1e9
            return int(re.search(r"^usage_usec (\d+)", text, re.M)[1]) / 1e6
    return None


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
        str(CPUS),
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

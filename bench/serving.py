"""Serving throughput at equal CPU: the default image against the two peers.

    nox -s bench -- --serving-only   # this section of docs/benchmarks.md alone

The peers are the images a team would otherwise build: the naive one
(bench/naive.Dockerfile: `gunicorn -w 4`, sync workers) and the pattern of the
"perfect Python Dockerfile" seed (bench/gevent-peer.Dockerfile: Debian's
Python, `-w 4 -k gevent`, heartbeats in /dev/shm, no access log). Beside them,
the default image with the settings the choice was made from.

Each configuration serves four workloads under wrk: a trivial request
(`/healthz`), one that computes for about a millisecond, and ones that wait
10 ms and 100 ms as a database or another service would. Rounds alternate
between configurations, so a drift in the machine hits them alike; the tables
give medians with the range across rounds. Containers run on the host's
network bound to 127.0.0.1, so wrk's load crosses loopback only (no bridge,
no port proxy) and, where the machine has CPUs to spare, wrk runs on CPUs
the container cannot use.
"""

import shutil
import statistics
import time
from dataclasses import dataclass, field

from images import DOCKER
from measures import cpu_seconds, cpu_sets, idle_mib, running, wrk
from projects import BENCH, DEFAULT, HOST_CA, Variant, bake, build, image_tag, log, sh, tool_env
from report import machine

HEADING = "## Serving throughput"
# (name, path, connections). At 64 connections a wait caps any server at 64
# requests per wait (6,400/s for 10 ms, 640/s for 100 ms), and the peers come
# close to that cap: those columns compare latency more than capacity. 512 and
# 2,048 connections lift the cap far above what one CPU serves, so those
# columns show how many waiting requests each serves before its CPU runs out.
WORKLOADS = [
    ("trivial", "/healthz", 64),
    ("compute", "/bench/cpu", 64),
    ("wait 10 ms", "/bench/io?ms=10", 64),
    ("wait 100 ms", "/bench/io?ms=100", 64),
    ("wait 10 ms, 512 connections", "/bench/io?ms=10", 512),
    ("wait 100 ms, 2,048 connections", "/bench/io?ms=100", 2048),
]
NAIVE, PEER = "naive: `gunicorn -w 4` (sync)", "seed pattern: `-w 4 -k gevent`"
CHOSEN = "slipway default: gevent, fair, access log, metrics"


@dataclass
class Configuration:
    name: str
    image: str  # a key of images()
    env: dict = field(default_factory=dict)
    both_cpu_counts: bool = False  # also measured with 2 CPUs


CONFIGURATIONS = [
    Configuration(NAIVE, "naive", both_cpu_counts=True),
    Configuration(PEER, "peer", both_cpu_counts=True),
    Configuration(CHOSEN, "default", both_cpu_counts=True),
    Configuration("default, `ACCESS_LOG=off`", "default", {"ACCESS_LOG": "off"}),
    Configuration("default, `METRICS=off`", "default", {"METRICS": "off"}),
    Configuration(
        "default, gunicorn's access logger",
        "default",
        {"GUNICORN_CMD_ARGS": "--logger-class gunicorn.glogging.Logger"},
    ),
    Configuration(
        "default, gunicorn's own gevent worker (not fair, two sends)",
        "default",
        {"GUNICORN_CMD_ARGS": "--worker-class gevent"},
    ),
    Configuration("default, 2 gevent workers per CPU", "default", {"WORKERS_PER_CPU": "2"}),
    Configuration(
        "gthread, 16 threads (the previous default)",
        "default",
        {"GUNICORN_WORKER_CLASS": "gthread"},
    ),
    Configuration(
        "gthread, 64 threads",
        "default",
        {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_THREADS": 64},
    ),
]


def images(workdir) -> dict[str, str]:
    """The default image and the two peers, built from one baked project."""
    variant = Variant(DEFAULT)
    shutil.rmtree(workdir / "serving", ignore_errors=True)  # a previous run's bake
    project = bake(variant, workdir / "serving")
    tags = {"default": image_tag("serving default")}
    log("serving: building the default image")
    build(variant, project, tags["default"], no_cache=False)
    for name in ("naive", "peer"):
        dockerfile = "naive.Dockerfile" if name == "naive" else "gevent-peer.Dockerfile"
        (project / dockerfile).write_text((BENCH / dockerfile).read_text())
        ignore = (BENCH / "naive.Dockerfile.dockerignore").read_text()
        (project / f"{dockerfile}.dockerignore").write_text(ignore)
        tags[name] = image_tag(f"serving {name}")
        log(f"serving: building the {name} image")
        secret = ["--secret", f"id=ca,src={HOST_CA}"]
        build_peer = [DOCKER, "build", *secret, "-f", dockerfile, "-t", tags[name], "."]
        sh(*build_peer, cwd=project, env=tool_env())  # BuildKit: the secret mount
    return tags


def measure_once(tag: str, configuration: Configuration, cpus: int, seconds: int) -> dict:
    with running(tag, configuration.env, cpus) as started:
        time.sleep(2)  # idle, after the first request
        result = {"idle_mib": idle_mib(started)}
        for name, path, connections in WORKLOADS:
            before = cpu_seconds(started)
            result[name] = wrk(started.url(path), connections, seconds, cpus)
            used = (cpu_seconds(started) - before) if before is not None else None
            # Requests per CPU-second the container used: a comparison at equal
            # CPU even where wrk has to share the container's CPUs.
            result[name]["per_cpu_s"] = result[name]["requests"] / used if used else None
    return result


def measure(workdir, rounds: int, seconds: int) -> dict[int, dict[str, list[dict]]]:
    tags = images(workdir)
    samples: dict[int, dict[str, list[dict]]] = {1: {}, 2: {}}
    for cpus in (1, 2):
        chosen = [c for c in CONFIGURATIONS if cpus == 1 or c.both_cpu_counts]
        for round_number in range(rounds):
            for configuration in chosen:  # alternating: drift hits every configuration
                progress = f"round {round_number + 1}/{rounds}, {configuration.name}"
                log(f"serving: {cpus} CPU(s), {progress}")
                run = measure_once(tags[configuration.image], configuration, cpus, seconds)
                samples[cpus].setdefault(configuration.name, []).append(run)
    return samples


def median(runs: list[dict], workload: str, key: str) -> float:
    return statistics.median(run[workload][key] for run in runs)


def cell(runs: list[dict], workload: str) -> str:
    """Median requests/s (range across rounds) and median p99, and errors if any."""
    values = [run[workload]["rps"] for run in runs]
    text = f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"
    text += f", p99 {median(runs, workload, 'p99_ms'):,.0f}"
    errors = sum(run[workload]["errors"] for run in runs)
    return text + (f", **{errors:,} errors**" if errors else "")


def table(samples: dict[str, list[dict]]) -> str:
    header = ["configuration", *(name for name, _, _ in WORKLOADS), "idle memory (MiB)"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for configuration, runs in samples.items():
        cells = [configuration, *(cell(runs, name) for name, _, _ in WORKLOADS)]
        cells.append(f"{statistics.median(run['idle_mib'] for run in runs):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratios(samples: dict[str, list[dict]]) -> str:
    """The default against each peer: requests/s, p99 and requests per CPU-second
    the container used; above 1 is better."""
    lines = [
        "| workload | " + " | ".join(f"vs {peer}" for peer in (NAIVE, PEER)) + " |",
        "|---|---|---|",
    ]
    chosen = samples[CHOSEN]
    for name, _, _ in WORKLOADS:
        cells = []
        for peer in (NAIVE, PEER):
            runs = samples[peer]
            rps = median(chosen, name, "rps") / median(runs, name, "rps")
            p99 = median(runs, name, "p99_ms") / median(chosen, name, "p99_ms")
            text = f"x{rps:.2f} requests/s, x{p99:.2f} p99"
            if all(run[name]["per_cpu_s"] for run in chosen + runs):
                per_cpu = median(chosen, name, "per_cpu_s") / median(runs, name, "per_cpu_s")
                text += f", x{per_cpu:.2f} per CPU-second"
            cells.append(text)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def section(samples: dict[int, dict[str, list[dict]]], rounds: int, seconds: int) -> str:
    parts = []
    for cpus, by_configuration in samples.items():
        container, wrk_cpus = cpu_sets(cpus)
        where = f"wrk on CPU {wrk_cpus}" if wrk_cpus else "wrk sharing them (no CPU to spare)"
        title = (
            f"### {cpus} CPU{'s' if cpus > 1 else ''} (`--cpus {cpus}`, CPU {container}; {where})"
        )
        against = f"The default against the peers:\n\n{ratios(by_configuration)}"
        parts.append(f"{title}\n\n{table(by_configuration)}\n\n{against}")
    body = "\n\n".join(parts)
    return f"""{HEADING}

Measured by `nox -s bench` (alone: `nox -s bench -- --serving-only`) on
{machine()}. Every container hardened (`--read-only`, no capabilities);
`wrk -t2 -c64 -d{seconds}s --latency` unless the workload names its
connections; {rounds} alternating rounds. Each cell: the median requests/s,
their range in brackets, then the median p99 latency in ms. "compute" builds
and sorts 2,000 small dicts (about a millisecond of Python); "wait" sleeps, as
a request waiting on a database would. Errors are wrk's socket errors (a 2 s
timeout) and non-2xx answers. "Per CPU-second": requests served per second of
CPU the container used (its cgroup's count), the comparison at equal CPU that
holds even where wrk has no CPU of its own and takes part of the container's.

{body}
"""

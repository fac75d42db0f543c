"""Where a worker's time goes: py-spy samples of the default image's worker under load.

    nox -s bench -- --profile-only   # this section of docs/benchmarks.md alone

Runs the default image on one CPU under wrk on `/healthz` (the trivial
request, where the server's own cost is all there is), records the gunicorn
worker with py-spy from the host for a few seconds, and counts each sample for
the code that was running. Once with the image's access logger and once with
gunicorn's own, the change the benchmark measured. Then again at a fixed rate
below saturation (hey, on loopback), as services run: there a request's own
cost is all the worker does, and the functions it runs most are listed.
"""

import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

from images import DOCKER
from measures import hey, running, wrk
from projects import log, sh
from report import machine
from serving import CHOSEN, CONFIGURATIONS

HEADING = "## Where the time goes"
SECONDS = 8
# A sample counts for the code that was running: its innermost Python frame,
# by file. Only that frame is trusted: under gevent, py-spy follows a frame's
# callers across greenlets on Python 3.13, so a sample's outer frames can come
# from another request. A C call (a send, a JSON dump) counts for its caller.
STAGES = [
    ("the access log", ("my_service/logs.py", "gunicorn/glogging.py")),
    ("Flask, Werkzeug and the app", ("flask/", "werkzeug/", "blinker/", "my_service/app.py")),
    ("gunicorn's HTTP: parsing, environ, response", ("gunicorn/http/",)),
    ("gunicorn's worker and workers.py", ("gunicorn/", "my_service/workers.py")),
    ("gevent: hub, sockets, timers, greenlet switches", ("gevent/", "greenlet/")),
]
OTHER = "the standard library and the rest"
PROFILED = [CHOSEN, "default, gunicorn's access logger"]
FIXED_RATE = 3000  # requests/s on /healthz: below the default's capacity on one CPU
TOP = 15  # functions listed from the fixed-rate profile


def stage(stack: list[str]) -> str:
    innermost = stack[-1]
    for name, files in STAGES:  # the first that matches: gunicorn/http/ before gunicorn/
        if any(f"({file}" in innermost or f"/{file}" in innermost for file in files):
            return name
    return OTHER


def saturating(url: str) -> None:
    wrk(url, 64, SECONDS + 4, 1)


def fixed_rate(url: str) -> None:
    hey(url, FIXED_RATE, 64, SECONDS + 4, 1)


def record(tag: str, env: dict, workdir: Path, load=saturating) -> Counter:
    """The worker's samples under `load` (given the URL), as counts by stack."""
    with running(tag, env, cpus=1) as started:
        top = sh(DOCKER, "top", started.id, "-o", "pid,args").splitlines()[1:]
        worker = top[-1].split()[0]  # the master starts first; its one worker after
        load = threading.Thread(target=load, args=(started.url("/healthz"),))
        load.start()
        time.sleep(2)
        output = workdir / f"profile-{len(list(workdir.glob('profile-*')))}.txt"
        command = ["py-spy", "record", "--pid", worker, "--duration", str(SECONDS)]
        command += ["--rate", "250", "--format", "raw", "--nonblocking", "--output", str(output)]
        subprocess.run(command, check=True, capture_output=True)
        load.join()
    stacks: Counter = Counter()
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():  # py-spy can misread a frame's name, spaces and all
            stacks[stack] += int(count)
    return stacks


def by_stage(stacks: Counter) -> Counter:
    shares: Counter = Counter()
    for stack, count in stacks.items():
        shares[stage(stack.split(";"))] += count
    return shares


def innermost(stacks: Counter) -> Counter:
    """Samples by the function that was running: `name (file:line)` without the
    line and with the path from the package on."""
    functions: Counter = Counter()
    for stack, count in stacks.items():
        name, _, where = stack.split(";")[-1].partition(" (")
        if not name:
            continue  # a frame py-spy could not read
        path = where.rsplit(":", 1)[0]
        short = path.split("site-packages/")[-1].split("/lib/python3")[-1].lstrip("/")
        functions[f"`{name}` ({short})"] += count
    return functions


def measure(tag: str, workdir: Path) -> dict[str, Counter]:
    """Stacks of each profiled configuration at saturation, then of the default at a fixed rate."""
    by_name = {c.name: c for c in CONFIGURATIONS}
    profiles = {}
    for name in PROFILED:
        log(f"profile: {name}")
        profiles[name] = record(tag, by_name[name].env, workdir)
    log(f"profile: {CHOSEN}, {FIXED_RATE:,} requests/s")
    profiles[fixed_name()] = record(tag, {}, workdir, fixed_rate)
    return profiles


def fixed_name() -> str:
    return f"{CHOSEN}, {FIXED_RATE:,} requests/s"


def section(profiles: dict[str, Counter]) -> str:
    rows = []
    shares_of = {name: by_stage(stacks) for name, stacks in profiles.items()}
    for name in [*(s[0] for s in STAGES), OTHER]:
        cells = [
            f"{100 * shares[name] / sum(shares.values()):.0f}%" for shares in shares_of.values()
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    header = " | ".join(profiles)
    fixed = innermost(profiles[fixed_name()])
    total = sum(profiles[fixed_name()].values())
    functions = "\n".join(
        f"| {name} | {100 * count / total:.1f}% |" for name, count in fixed.most_common(TOP)
    )
    return f"""{HEADING}

Measured by `nox -s bench` (alone: `nox -s bench -- --profile-only`) on
{machine()}: py-spy sampling the worker of the default image (one CPU,
hardened) for {SECONDS} s under `wrk -c64` on `/healthz` (saturated), and
under `hey -c 64` offering {FIXED_RATE:,} requests/s on loopback (below
saturation), each sample counted for the code that was running, by the file of
its innermost Python frame (bench/worker_profile.py). Shares of the samples
(an idle worker is not sampled):

| running | {header} |
|---{"|---" * len(profiles)}|
{chr(10).join(rows)}

At {FIXED_RATE:,} requests/s, the {TOP} functions the worker ran most (C calls
count for the Python function that made them):

| function | share of the samples |
|---|---|
{functions}
"""

"""Where a worker's time goes: py-spy samples of the default image's worker under load.

    nox -s bench -- --profile-only   # this section of docs/benchmarks.md alone

Runs the default image on one CPU under wrk on `/healthz` (the trivial
request, where the server's own cost is all there is), records the gunicorn
worker with py-spy from the host for a few seconds, and sorts each sample into
the stage of a request it was in. Once with the image's access logger and once
with gunicorn's own, the change the benchmark measured.
"""

import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

from images import DOCKER
from measures import running, wrk
from projects import log, sh
from report import machine
from serving import CHOSEN, CONFIGURATIONS

HEADING = "## Where the time goes"
SECONDS = 8
# A sample belongs to the innermost of these frames it was under (function
# name, file name ending); samples under none are the worker's loop and hub.
STAGES = [
    ("the access log", "access", ("glogging.py", "logs.py")),
    ("Flask, Werkzeug and the app", "Flask.__call__", ("flask/app.py",)),
    ("writing the response", "Response.", ("gunicorn/http/wsgi.py",)),
    ("parsing the request", "Parser.__next__", ("gunicorn/http/parser.py",)),
    ("yielding to the other connections", "sleep", ("gevent/hub.py",)),
]
OTHER = "gunicorn's loop, gevent's hub and sockets"
PROFILED = [CHOSEN, "default, gunicorn's access logger"]


def stage(stack: list[str]) -> str:
    for frame in reversed(stack):  # innermost first
        for name, function, files in STAGES:
            if function in frame and any(f in frame for f in files):
                return name
    return OTHER


def record(tag: str, env: dict, workdir: Path) -> Counter:
    with running(tag, env, cpus=1) as started:
        top = sh(DOCKER, "top", started.id, "-o", "pid,args").splitlines()[1:]
        worker = top[-1].split()[0]  # the master starts first; its one worker after
        load = threading.Thread(target=wrk, args=(started.url("/healthz"), 64, SECONDS + 4, 1))
        load.start()
        time.sleep(2)
        output = workdir / f"profile-{len(list(workdir.glob('profile-*')))}.txt"
        command = ["py-spy", "record", "--pid", worker, "--duration", str(SECONDS)]
        command += ["--rate", "250", "--format", "raw", "--nonblocking", "--output", str(output)]
        subprocess.run(command, check=True, capture_output=True)
        load.join()
    shares: Counter = Counter()
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():  # py-spy can misread a frame's name, spaces and all
            shares[stage(stack.split(";"))] += int(count)
    return shares


def measure(tag: str, workdir: Path) -> dict[str, Counter]:
    by_name = {c.name: c for c in CONFIGURATIONS}
    profiles = {}
    for name in PROFILED:
        log(f"profile: {name}")
        profiles[name] = record(tag, by_name[name].env, workdir)
    return profiles


def section(profiles: dict[str, Counter]) -> str:
    rows = []
    for name in [*(s[0] for s in STAGES), OTHER]:
        cells = [
            f"{100 * shares[name] / sum(shares.values()):.0f}%" for shares in profiles.values()
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    header = " | ".join(profiles)
    return f"""{HEADING}

Measured by `nox -s bench` (alone: `nox -s bench -- --profile-only`) on
{machine()}: py-spy sampling the worker of the default image (one CPU,
hardened) for {SECONDS} s under `wrk -c64` on `/healthz`, each sample put in the
stage of a request it was in (bench/worker_profile.py). Shares of the samples:

| stage | {header} |
|---{"|---" * len(profiles)}|
{chr(10).join(rows)}
"""

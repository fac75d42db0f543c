"""The default image under load, faults and bad input (marked `reliability`).

Each case runs the image as production does (hardened, one CPU) and asserts
outcomes, not speed, except where the case is about a bound (a worker
replaced within a second, a bad setting refused within a second). Figures go
to the report that `nox -s reliability` writes as docs/reliability.md; there
the soak and memory cases run at full length.
"""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime

import pytest
from images import DOCKER, HARDENED, container, docker, serves
from load import Load

pytestmark = [pytest.mark.docker, pytest.mark.reliability]

ONE_CPU = ("--cpus", "1")
# The service itself, plus what these cases need: a slow request, one that
# reads its body, and a readiness check an operator can flip with a file.
APP = """
import os
import time

from flask import request

from {package}.app import create_app

NOT_READY = "/tmp/not-ready"


def dependency():
    if os.path.exists(NOT_READY):
        raise ConnectionError("dependency down")


app = create_app(readiness_checks=[dependency])


@app.get("/slow")
def slow():
    time.sleep(float(request.args.get("seconds", "2")))
    return {{"slept": True}}


@app.post("/echo")
def echo():
    return {{"size": len(request.get_data())}}
"""


@pytest.fixture(scope="module")
def service(default_image, tmp_path_factory):
    """Start the default image with the cases' app: `with service() as running:`."""
    package = next(default_image["project"].glob("src/*/app.py")).parent.name
    folder = tmp_path_factory.mktemp("reliability-app")
    (folder / "reliability_app.py").write_text(APP.format(package=package))
    folder.chmod(0o755)
    (folder / "reliability_app.py").chmod(0o644)
    mount = ("--volume", f"{folder}:/opt/reliability:ro", "--env", "PYTHONPATH=/opt/reliability")

    def start(*options: str):
        command = ("reliability_app:app",)
        return container(default_image["tag"], *ONE_CPU, *mount, *options, command=command)

    return start


def worker_pids(container_id: str) -> list[int]:
    """gunicorn's workers: the children of the container's first process (host PIDs)."""
    numbers = docker("top", container_id, "-eo", "pid,ppid").stdout.split()[2:]
    pairs = [(int(pid), int(ppid)) for pid, ppid in zip(numbers[::2], numbers[1::2], strict=True)]
    pids = {pid for pid, _ in pairs}
    master = next(pid for pid, ppid in pairs if ppid not in pids)
    return sorted(pid for pid, ppid in pairs if ppid == master)


def memory_mib(container_id: str) -> tuple[float, float]:
    """The gunicorn processes' resident memory, summed, and the cgroup's figure
    that `docker stats` shows (which also counts page cache and kernel memory)."""
    numbers = docker("top", container_id, "-eo", "pid,rss").stdout.split()[2:]
    processes = sum(int(kib) for kib in numbers[1::2]) / 1024
    usage = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", container_id).stdout
    value, unit = re.match(r"\s*([\d.]+)\s*([KMG]i?B)", usage).groups()
    cgroup = float(value) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}.get(unit, 1)
    return processes, cgroup


def test_sustained_load(service, soak_seconds, report):
    with service() as running:
        load = Load(running.port).run_for(soak_seconds)
    figures = load.summary()
    report(
        "1. Sustained load",
        f"{soak_seconds:.0f} s, 64 connections on `/`",
        f"{figures['requests']} requests, {figures['failed']} failed, "
        f"{figures['rps']:.0f} requests/s, p99 {figures['p99_ms']:.0f} ms",
    )
    assert load.failures == []


def test_worker_killed_under_load(service, report):
    with service() as running, Load(running.port) as load:
        time.sleep(2)
        (worker,) = worker_pids(running.id)  # one CPU: one worker
        killed = time.monotonic()
        os.kill(worker, signal.SIGKILL)
        while not serves(running.url("/healthz")):
            assert time.monotonic() - killed < 10, "no worker serves after the kill"
        replaced = time.monotonic()
        time.sleep(3)  # load on the replacement
        workers_after = worker_pids(running.id)
    failed = load.failures
    after = [o for o in failed if o.started > replaced]
    report(
        "2. Worker killed under load",
        "`kill -9` of the only worker, 64 connections on `/`",
        f"serving again after {(replaced - killed) * 1000:.0f} ms; {len(failed)} requests "
        f"failed (the connections it held: at most 64), {len(after)} after",
    )
    assert replaced - killed < 1
    assert len(failed) <= load.connections
    assert after == []
    assert len(workers_after) == 1 and worker not in workers_after


def test_graceful_stop_under_load(service, report):
    slow_results = []

    def slow_request(url):
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                slow_results.append(response.status)
        except OSError as exc:
            slow_results.append(type(exc).__name__)

    with service() as running, Load(running.port) as load:
        time.sleep(1)
        url = running.url("/slow?seconds=3")
        slow = [threading.Thread(target=slow_request, args=(url,)) for _ in range(8)]
        for thread in slow:
            thread.start()
        time.sleep(0.5)  # the slow requests are in flight
        stopping = time.monotonic()
        docker("stop", "--time", "30", running.id)
        stopped = time.monotonic() - stopping
        for thread in slow:
            thread.join(timeout=30)
        exit_code = docker("inspect", "-f", "{{.State.ExitCode}}", running.id).stdout.strip()
    lost = [o for o in load.failures if o.started < stopping]
    report(
        "3. Graceful stop under load",
        "`docker stop` with 8 requests of 3 s in flight and 64 connections on `/`",
        f"stopped in {stopped:.1f} s (GRACEFUL_TIMEOUT 20 s), exit code {exit_code}; "
        f"slow requests {slow_results.count(200)}/8 answered 200; "
        f"{len(lost)} of {len([o for o in load.outcomes if o.started < stopping])} requests "
        "sent before the stop failed",
    )
    assert slow_results == [200] * 8
    assert exit_code == "0"
    assert stopped < 20
    assert lost == []


def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        # The server may answer and close before reading everything, or go quiet.
        with contextlib.suppress(OSError):
            sock.sendall(data)
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


HOST = b"Host: localhost\r\n"
CLOSE = b"Connection: close\r\n"
# Each must be refused with a 4xx: what the request is, and its bytes.
BAD_REQUESTS = {
    "malformed request line": b"GARBAGE\r\n\r\n",
    "100 KB header": b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n",
    "body over MAX_CONTENT_LENGTH (2 MiB)": b"POST /echo HTTP/1.1\r\n"
    + HOST
    + b"Content-Length: 2097152\r\nConnection: close\r\n\r\n"
    + b"x" * 2_097_152,
    "raw invalid UTF-8 in the path": b"GET /\xff\xfe HTTP/1.1\r\n" + HOST + b"\r\n",
    "percent-encoded invalid UTF-8": b"GET /%ff%fe HTTP/1.1\r\n"
    + HOST
    + b"Connection: close\r\n\r\n",
    "`..` in the path": b"GET /../../etc/passwd HTTP/1.1\r\n" + HOST + CLOSE + b"\r\n",
    "HTTP/1.1 without Host": b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    "smuggling: Content-Length and Transfer-Encoding": b"POST /echo HTTP/1.1\r\n"
    + HOST
    + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n"
    + HOST
    + b"\r\n",
    "two different Content-Lengths": b"POST /echo HTTP/1.1\r\n"
    + HOST
    + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
}
# Odd but valid: each must be answered as HTTP says.
ODD_REQUESTS = {
    "HTTP/1.0 without Host": (b"GET / HTTP/1.0\r\n\r\n", ["200"]),
    "two pipelined requests": (
        b"GET /healthz HTTP/1.1\r\n"
        + HOST
        + b"\r\nGET / HTTP/1.1\r\n"
        + HOST
        + b"Connection: close\r\n\r\n",
        ["200", "200"],
    ),
}


def statuses(answer: bytes) -> list[str]:
    return [m.decode() for m in re.findall(rb"^HTTP/1\.[01] (\d{3})", answer, flags=re.M)]


def test_bad_requests(service, report):
    with service() as running:
        workers = worker_pids(running.id)
        answers = {name: exchange(running.port, data) for name, data in BAD_REQUESTS.items()}
        odd = {name: exchange(running.port, data) for name, (data, _) in ODD_REQUESTS.items()}
        assert serves(running.url("/healthz"))
        workers_after = worker_pids(running.id)
    rows = []
    for name, answer in answers.items():
        codes = statuses(answer)
        is_json = b"application/json" in answer.split(b"\r\n\r\n")[0].lower()
        rows.append(f"{name}: {'/'.join(codes) or 'closed'}{' (JSON)' if is_json else ''}")
        assert codes and all(code.startswith("4") for code in codes), (name, answer[:300])
    for name, answer in odd.items():
        rows.append(f"{name}: {'/'.join(statuses(answer))}")
        assert statuses(answer) == ODD_REQUESTS[name][1], (name, answer[:300])
    report(
        "5. Bad requests",
        "raw requests on one connection each",
        "; ".join(rows) + f"; workers before and after: {len(workers)}, unchanged",
    )
    assert workers_after == workers


SLOW_CLIENTS = 200
# Longer than the request a slow client sends in the time the case runs.
SLOW_REQUEST = b"GET / HTTP/1.1\r\n" + HOST + b"X-Padding: " + b"x" * 64 + b"\r\n\r\n"


def timed_probe(url: str) -> tuple[int | None, float]:
    started = time.monotonic()
    try:
        status = status_of(url)
    except OSError:
        status = None  # no answer within status_of's 2 s
    return status, time.monotonic() - started


def test_slow_clients(service, report):
    """Slow-loris: many connections send their headers a byte a second while
    /healthz is probed every second."""
    seconds = 12
    with service() as running:
        slow = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(SLOW_CLIENTS)]
        cut: dict[int, float] = {}  # connection -> seconds until the server closed it
        probes = []
        started = time.monotonic()
        for sent in range(seconds):
            for number, sock in enumerate(slow):
                if number not in cut:
                    try:
                        sock.send(SLOW_REQUEST[sent : sent + 1])
                    except OSError:
                        cut[number] = time.monotonic() - started
            probes.append(timed_probe(running.url("/healthz")))
            time.sleep(max(0.0, started + sent + 1 - time.monotonic()))
        for sock in slow:
            sock.close()
    answered = [latency for status, latency in probes if status == 200]
    first, last = min(cut.values(), default=0), max(cut.values(), default=0)
    report(
        "4. Slow clients",
        f"{SLOW_CLIENTS} connections sending headers at a byte a second for {seconds} s, "
        "`/healthz` probed each second",
        f"{len(answered)} of {len(probes)} probes answered, the slowest in "
        f"{max(answered, default=0) * 1000:.0f} ms; the server closed {len(cut)} slow "
        f"connections, after {first:.0f}-{last:.0f} s",
    )
    assert len(answered) == len(probes)
    assert max(answered) < 1
    assert len(cut) == SLOW_CLIENTS  # none may hold a connection open indefinitely


def test_memory_after_many_requests(service, memory_requests, report):
    with service() as running:
        Load(running.port, connections=16).run_until(1000)  # imports and caches warm
        time.sleep(2)
        before, cgroup_before = memory_mib(running.id)
        load = Load(running.port, connections=32).run_until(memory_requests)
        time.sleep(2)
        after, cgroup_after = memory_mib(running.id)
    report(
        "6. Memory",
        f"{len(load.outcomes)} requests on `/`, idle memory before and after",
        f"gunicorn's processes (RSS, summed): {before:.1f} MiB, then {after:.1f} MiB "
        f"({after - before:+.1f}); the container's cgroup (`docker stats`, which adds page "
        f"cache and kernel memory): {cgroup_before:.1f}, then {cgroup_after:.1f} MiB; "
        f"{len(load.failures)} failed",
    )
    assert load.failures == []
    assert abs(after - before) <= 5


def health(container_id: str) -> tuple[str, int]:
    state = docker("inspect", "-f", "{{json .State.Health}}", container_id).stdout
    parsed = json.loads(state)
    return parsed["Status"], parsed["FailingStreak"]


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_readiness_is_not_liveness(service, report):
    with service() as running:
        deadline = time.monotonic() + 30
        while health(running.id)[0] != "healthy":
            assert time.monotonic() < deadline, "never healthy"
            time.sleep(0.2)
        flip = ["exec", running.id, "python", "-c"]
        docker(*flip, "open('/tmp/not-ready', 'w').close()")
        not_ready = status_of(running.url("/readyz")), status_of(running.url("/healthz"))
        time.sleep(11)  # two HEALTHCHECK intervals
        health_meanwhile = health(running.id)
        docker(*flip, "import os; os.remove('/tmp/not-ready')")
        recovered = status_of(running.url("/readyz"))
    report(
        "7. Readiness vs liveness",
        "a readiness check fails for 11 s, then passes",
        f"/readyz {not_ready[0]}, /healthz {not_ready[1]}, HEALTHCHECK "
        f"{health_meanwhile[0]} (failing streak {health_meanwhile[1]}); then /readyz {recovered}",
    )
    assert not_ready == (503, 200)
    assert health_meanwhile == ("healthy", 0)
    assert recovered == 200


# A bad value for every variable in the generated docs/configuration.md's table.
BAD_SETTINGS = {
    "PORT": "http",
    "WEB_CONCURRENCY": "many",  # gunicorn itself would answer with a traceback
    "GUNICORN_THREADS": "-1",
    "GUNICORN_WORKER_CLASS": "eventlet",
    "GRACEFUL_TIMEOUT": "soon",
    "TIMEOUT": "0",
    "KEEPALIVE": "-5",
    "GUNICORN_WORKER_CONNECTIONS": "0",
    "GEVENT_RESOLVER": "ares",  # pruned from the image: it would fail the first lookup
    "FORWARDED_ALLOW_IPS": "10.0.0.300",
    "MAX_REQUESTS": "-1",
    "LOG_LEVEL": "loud",
    "LOG_FORMAT": "xml",
    "SERVICE_NAME": "two words",
    "MAX_CONTENT_LENGTH": "-1",
    "GUNICORN_CONTROL_SOCKET": "relative.ctl",
    "ACCESS_LOG": "maybe",
    "METRICS": "maybe",
    "METRICS_PORT": "8000",  # the image's PORT: one port cannot serve both
}


def documented_variables(project) -> list[str]:
    text = (project / "docs" / "configuration.md").read_text()
    table = text.split("\n## Variables\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M)


def seconds_run(container_id: str) -> float:
    times = docker("inspect", "-f", "{{.State.StartedAt}} {{.State.FinishedAt}}", container_id)
    started, finished = (datetime.fromisoformat(t[:26] + "+00:00") for t in times.stdout.split())
    return (finished - started).total_seconds()


def test_bad_settings_are_refused(default_image, report):
    names = documented_variables(default_image["project"])
    assert sorted(names) == sorted(BAD_SETTINGS)
    slowest = 0.0
    for name in names:
        value = BAD_SETTINGS[name]
        run = [DOCKER, "run", "--detach", *HARDENED, "--env", f"{name}={value}"]
        cid = subprocess.run([*run, default_image["tag"]], capture_output=True, text=True)
        cid = cid.stdout.strip()
        try:
            docker("wait", cid)
            logs = subprocess.run([DOCKER, "logs", cid], capture_output=True, text=True)
            lines = (logs.stdout + logs.stderr).splitlines()
            code = docker("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip()
            slowest = max(slowest, seconds_run(cid))
        finally:
            docker("rm", "--force", cid, check=False)
        said = [line for line in lines if line.strip()]
        assert code != "0", name
        assert len(said) == 1 and said[0].startswith(f"{name}={value!r}: expected "), said
    report(
        "8. Bad settings",
        f"each of the {len(names)} variables in the generated docs/configuration.md, "
        "with a bad value",
        f"each: one line `NAME='value': expected …`, exit code 1; slowest {slowest:.2f} s "
        "from container start to exit",
    )
    assert slowest < 1

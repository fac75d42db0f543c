"""gunicorn.conf.py, loaded as gunicorn loads it, and a real gunicorn run."""

import contextlib
import os
import runpy
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "gunicorn.conf.py"


def load_conf(monkeypatch, **environ):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults(monkeypatch):
    unset = ("PORT", "WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS", "MAX_REQUESTS")
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    conf = load_conf(monkeypatch)
    assert conf["bind"] == "0.0.0.0:8000"
    assert conf["worker_class"] == "{{ cookiecutter.worker_class }}"
    assert conf["workers"] == conf["default_workers"](conf["worker_class"], conf["usable_cpus"]())
    assert conf["accesslog"] == "-"
    # The README's documented defaults: 16 threads, no recycling.
    assert conf["threads"] == 16
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (0, 0)


def test_recycling_has_jitter(monkeypatch):
    conf = load_conf(monkeypatch, MAX_REQUESTS="5000")
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (5000, 500)


def test_environment_overrides(monkeypatch):
    conf = load_conf(monkeypatch, PORT="9001", WEB_CONCURRENCY="7", FORWARDED_ALLOW_IPS="*")
    assert conf["bind"] == "0.0.0.0:9001"
    assert conf["workers"] == 7
    assert conf["forwarded_allow_ips"] == "*"


def test_bad_number_names_the_variable(monkeypatch):
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY='many' is not a whole number"):
        load_conf(monkeypatch, WEB_CONCURRENCY="many")


def test_heartbeats_go_to_shared_memory(monkeypatch):
    conf = load_conf(monkeypatch)
    assert conf["worker_tmp_dir"] == (conf["SHM"] if os.path.isdir(conf["SHM"]) else None)


@pytest.mark.parametrize(
    ("files", "limit"),
    [
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_cgroup_cpu_limit(monkeypatch, tmp_path, files, limit):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert load_conf(monkeypatch)["cgroup_cpu_limit"](tmp_path) == limit


def test_quota_bounds_the_cpu_count(monkeypatch, tmp_path):
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    conf = load_conf(monkeypatch)
    assert conf["usable_cpus"](tmp_path) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert conf["usable_cpus"](tmp_path) == len(os.sched_getaffinity(0))


def test_worker_sizing():
    conf = runpy.run_path(str(CONF))
    assert conf["default_workers"]("sync", 2) == 5
    assert conf["default_workers"]("gthread", 2) == 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local http only)
        return response.status, response.read()


@contextlib.contextmanager
def gunicorn(**environ):
    """A real gunicorn serving the app until the block ends; yields its port and,
    once stopped, fills `log` with everything it wrote."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "2", **environ}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    run = {"port": port, "log": ""}
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield run
    finally:
        server.send_signal(signal.SIGTERM)
        run["log"] = server.communicate(timeout=30)[0].decode()
    assert server.returncode == 0, run["log"]


def test_real_gunicorn_serves_healthz(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # where gunicorn's control socket would go
    with gunicorn() as server:
        status, body = get(f"http://127.0.0.1:{server['port']}/healthz")
    assert status == 200
    assert b'"ok"' in body
    assert "GET /healthz" in server["log"]  # the access log reaches the output
    assert "[ERROR]" not in server["log"] and "Traceback" not in server["log"]
    assert list(tmp_path.iterdir()) == []  # no control socket unless asked for


def test_control_socket_when_asked_for(tmp_path):
    path = tmp_path / "gunicorn.ctl"
    with gunicorn(GUNICORN_CONTROL_SOCKET=str(path)):
        deadline = time.monotonic() + 5
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

"""gunicorn.conf.py, loaded as gunicorn loads it, and a real gunicorn run."""

import concurrent.futures
import contextlib
import http.client
import inspect
import json
import logging
import os
import re
import runpy
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
{%- if cookiecutter.metrics == "prometheus" %}
import urllib.error
{%- endif %}
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "gunicorn.conf.py"
# As the image starts it: settings checked, then gunicorn.
START = [sys.executable, "-m", "{{ cookiecutter.package_name }}.start", "--config", str(CONF)]


def load_conf(monkeypatch, **environ):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults(monkeypatch):
    unset = ("PORT", "WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS", "MAX_REQUESTS")
{%- if cookiecutter.metrics == "prometheus" %}
    unset += ("METRICS", "METRICS_PORT")
{%- endif %}
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    conf = load_conf(monkeypatch)
    assert conf["bind"] == ["0.0.0.0:8000"]
{%- if cookiecutter.metrics == "prometheus" %}
    assert (conf["settings"].metrics, conf["settings"].metrics_port) == (True, None)
{%- endif %}
    assert conf["worker"] == "{{ cookiecutter.worker_class }}"
{%- if cookiecutter.worker_class == "gevent" %}
    assert conf["worker_class"] == "{{ cookiecutter.package_name }}.workers.GeventWorker"
{%- else %}
    assert conf["worker_class"] == "{{ cookiecutter.worker_class }}"
{%- endif %}
    assert conf["accesslog"] == "-"
    assert conf["logger_class"] == "{{ cookiecutter.package_name }}.logs.AccessLogger"
    # docs/configuration.md's defaults: 16 threads (for gthread), no recycling.
    assert conf["threads"] == {{ 16 if cookiecutter.worker_class == "gthread" else 1 }}
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (0, 0)


def test_recycling_has_jitter(monkeypatch):
    conf = load_conf(monkeypatch, MAX_REQUESTS="5000")
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (5000, 500)


def test_environment_overrides(monkeypatch):
    conf = load_conf(
        monkeypatch,
        PORT="9001",
        WEB_CONCURRENCY="7",
        GUNICORN_THREADS="32",
        GUNICORN_WORKER_CLASS="gthread",
        ACCESS_LOG="off",
    )
    assert conf["bind"] == ["0.0.0.0:9001"]
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (7, 32, "gthread")
    assert conf["accesslog"] is None


{%- if cookiecutter.metrics == "prometheus" %}


def test_metrics_on_a_port_of_their_own(monkeypatch):
    conf = load_conf(monkeypatch, PORT="8000", METRICS_PORT="9000")
    assert conf["bind"] == ["0.0.0.0:8000", "0.0.0.0:9000"]
    with pytest.raises(SystemExit) as stopped:
        load_conf(monkeypatch, METRICS="off")
    assert str(stopped.value) == "METRICS_PORT='9000': expected METRICS=on with it"
{%- endif %}


{%- if cookiecutter.worker_class == "gevent" %}


@pytest.mark.parametrize(
    "value", ["thread", "dnspython,thread", "block", "gevent.resolver.thread.Resolver"]
)
def test_gevent_resolvers_in_the_image_pass(monkeypatch, value):
    assert load_conf(monkeypatch, GEVENT_RESOLVER=value)["resolvers"] == value
{%- endif %}


def test_sync_workers_stay_sync(monkeypatch):
    """gunicorn runs gthread instead of sync whenever threads > 1."""
    conf = load_conf(monkeypatch, GUNICORN_WORKER_CLASS="sync", GUNICORN_THREADS="32")
    assert (conf["worker_class"], conf["threads"]) == ("sync", 1)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("WEB_CONCURRENCY", "0", "expected a whole number from 1 up"),
        ("WEB_CONCURRENCY", "many", "expected a whole number from 1 up"),
        ("PORT", "0", "expected a whole number from 1 to 65535"),
        ("GUNICORN_THREADS", "-4", "expected a whole number from 1 up"),
        ("GUNICORN_WORKER_CLASS", "eventlet", "expected one of "),
        ("TIMEOUT", "0", "expected a whole number from 1 up"),
        ("LOG_LEVEL", "loud", "expected one of DEBUG"),
        ("MAX_CONTENT_LENGTH", "-1", "expected a whole number from 1 up"),
        ("SERVICE_NAME", "my service", "expected 1 to 63 of a-z 0-9 . _ -"),
        ("SERVICE_NAME", "Orders", "expected 1 to 63 of a-z 0-9 . _ -"),
        ("GUNICORN_CONTROL_SOCKET", "gunicorn.ctl", "expected an absolute path"),
        ("LOG_FORMAT", "xml", "expected one of text, json"),
        ("ACCESS_LOG", "maybe", "expected one of on, off"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.300", "expected *, or IP addresses or networks"),
{%- if cookiecutter.worker_class == "gevent" %}
        ("GEVENT_RESOLVER", "dnspython", "expected thread, block, or dnspython"),
        ("GEVENT_RESOLVER", "nosuch.Resolver", "expected thread, block, or dnspython"),
{%- endif %}
{%- if cookiecutter.metrics == "prometheus" %}
        ("METRICS", "maybe", "expected one of on, off"),
        ("METRICS_PORT", "0", "expected a whole number from 1 to 65535"),
        ("METRICS_PORT", "8000", "expected a port other than PORT's"),
{%- endif %}
    ],
)
def test_bad_settings_stop_the_master(monkeypatch, name, value, allowed):
    """The app's settings too: checked here, before gunicorn forks a worker."""
{%- if cookiecutter.metrics == "prometheus" %}
    monkeypatch.delenv("PORT", raising=False)  # METRICS_PORT=8000 is the default PORT
{%- endif %}
    with pytest.raises(SystemExit) as stopped:
        load_conf(monkeypatch, **{name: value})
    assert str(stopped.value).startswith(f"{name}={value!r}: {allowed}")
    assert "\n" not in str(stopped.value)


def test_real_gunicorn_refuses_bad_settings_before_any_worker():
    # gunicorn itself would read these two first, and answer "abc" with a traceback.
    env = {**os.environ, "WEB_CONCURRENCY": "abc", "FORWARDED_ALLOW_IPS": "nope"}
    env["LOG_LEVEL"] = "loud"
    started = time.monotonic()
    result = subprocess.run(START, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "WEB_CONCURRENCY='abc': expected a whole number from 1 up",
        "LOG_LEVEL='loud': expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        "FORWARDED_ALLOW_IPS='nope': expected *, or IP addresses or networks",
    ]
    assert "Booting worker" not in result.stdout + result.stderr
    print(f"refused in {time.monotonic() - started:.2f} s")


def test_the_launcher_passes_help_to_gunicorn():
    """--help reads no settings, so the launcher asks for no --config."""
    help_only = [sys.executable, "-m", START[2], "--help"]
    result = subprocess.run(help_only, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ")


@pytest.mark.parametrize(
    ("files", "limit"),
    [
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
        # What no kernel writes, but a sandbox's stand-in files may: read as no quota.
        ({"cpu.max": ""}, None),
        ({"cpu.max": "150000 0\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
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
    assert conf["usable_cpus"](tmp_path) == conf["available_cpus"]()


@pytest.mark.parametrize("python", ["3.13", "3.11"])
def test_the_config_loads_without_linux_calls(monkeypatch, tmp_path, python):
    """os on macOS: no sched_getaffinity; process_cpu_count from 3.13, where it
    is cpu_count."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    if python == "3.13":
        monkeypatch.setattr(os, "process_cpu_count", os.cpu_count, raising=False)
    else:
        monkeypatch.delattr(os, "process_cpu_count", raising=False)
    conf = load_conf(monkeypatch, WEB_CONCURRENCY="")
    assert conf["usable_cpus"](tmp_path) == os.cpu_count()
    assert conf["workers"] >= 1


def test_worker_sizing():
    conf = runpy.run_path(str(CONF))
    assert conf["default_workers"]("sync", 2) == 5
    assert conf["default_workers"]("gthread", 2) == 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (local http only)
    with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
        return response.status, response.read()


@contextlib.contextmanager
def gunicorn(cpus: set[int] | None = None, args: tuple[str, ...] = (), **environ):
    """A real gunicorn serving the app (or the one `args` names) until the block
    ends, on the CPUs `cpus` if given; yields its port and pid and, once
    stopped, fills `log` with everything it wrote."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "2", **environ}
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    command, output = [*START, *args], subprocess.PIPE
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, preexec_fn=pin
    )
    run = {"port": port, "pid": server.pid, "log": ""}
    output = []  # read as it comes: a full pipe would stop gunicorn's writes
    reader = threading.Thread(target=lambda: output.append(server.stdout.read()), daemon=True)
    reader.start()
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
        server.wait(timeout=30)
        reader.join()
        run["log"] = output[0].decode()
    assert server.returncode == 0, run["log"]


def test_real_gunicorn_serves_healthz(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # where gunicorn's control socket would go
    agent = 'probe "quoted" \\ agent'
    with gunicorn() as server:
        url = f"http://127.0.0.1:{server['port']}/healthz?from=test"
        status, body = get(url, **{"User-Agent": agent, "X-Request-ID": "req-3"})
    assert status == 200
    assert b'"ok"' in body
    # The access log reaches the output, header values escaped inside their quotes.
    (line,) = [line for line in server["log"].splitlines() if line.endswith(" req-3")]
    assert '"GET /healthz?from=test HTTP/1.1" 200 ' in line
    assert ' "probe \\"quoted\\" \\\\ agent" ' in line
    assert "[ERROR]" not in server["log"] and "Traceback" not in server["log"]
    assert list(tmp_path.iterdir()) == []  # no control socket unless asked for


{%- if cookiecutter.worker_class == "gevent" %}


def test_gevent_worker_takes_connections_in_turn():
    """One client pipelines many requests; another's single request is answered
    among them, not after them all (gunicorn's own gevent worker serves the
    first connection until its buffer is empty)."""
    pipelined = 400
    with gunicorn(WEB_CONCURRENCY="1") as server:
        busy = socket.create_connection(("127.0.0.1", server["port"]))
        request = "GET /healthz?busy={} HTTP/1.1\r\nHost: test\r\n\r\n"
        busy.sendall("".join(request.format(n) for n in range(pipelined)).encode())
        get(f"http://127.0.0.1:{server['port']}/healthz?single")
        received = b""
        while received.count(b"HTTP/1.1 200") < pipelined:
            received += busy.recv(65536)
        busy.close()
    served = [line for line in server["log"].splitlines() if "GET /healthz?" in line]
    position = next(i for i, line in enumerate(served) if "?single " in line)
    assert position < pipelined // 2, f"answered after {position} pipelined requests"


class RecordedSocket:
    """One end of a real socket pair, noting what each sendall sent."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.sends = sock, []

    def sendall(self, data) -> None:
        self.sends.append(bytes(data))
        self.sock.sendall(data)

    def fileno(self) -> int:
        return self.sock.fileno()


def test_a_response_leaves_in_one_send():
    from {{ cookiecutter.package_name }}.workers import OneSend

    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    near, far = socket.socketpair()
    with near, far:
        sent = RecordedSocket(near)
        response = OneSend(sent)
        response.sendall(head)
        assert sent.sends == []  # the headers wait for the body
        response.sendall(b"ok")
        assert sent.sends == [head + b"ok"]
        response = OneSend(sent)
        response.sendall(chunked)  # a stream's headers go at once: its body may wait
        assert sent.sends[-1] == chunked
        response = OneSend(sent)
        response.sendall(head)
        assert response.fileno() == near.fileno()  # as sendfile would use it
        assert sent.sends[-1] == head  # the headers went first
        response = OneSend(sent)
        response.sendall(head)
        response.flush()  # a HEAD request's answer has no body
        assert sent.sends[-1] == head
        assert far.recv(4096) == head + b"ok" + chunked + head + head


def test_the_gevent_worker_internals_keep_their_shape():
    """workers.py overrides this method and hands it a wrapped socket: a new
    gunicorn that renames or reshapes it must fail here, not in production."""
    from gunicorn.workers import ggevent

    expected = ["listener_name", "req", "sock", "addr"]
    assert parameters(ggevent.GeventWorker.handle_request) == expected
{%- endif %}


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)[1:]  # after self


def test_the_logger_internals_keep_their_shape():
    """logs.py subclasses gunicorn's Logger: these are the calls it overrides."""
    from gunicorn.glogging import Logger

    assert parameters(Logger.access) == ["resp", "req", "environ", "request_time"]
    assert parameters(Logger.setup) == ["cfg"]
    assert parameters(Logger.__init__) == ["cfg"]


def access_logger(stream, errors):
    """The service's access logger, as gunicorn makes it, writing to `stream`."""
    from gunicorn.config import Config

    from {{ cookiecutter.package_name }}.logs import AccessLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    logger = AccessLogger(cfg)
    # gunicorn's own handlers: pytest may have added its capture handlers before them.
    for log, to in ((logger.access_log, stream), (logger.error_log, errors)):
        (handler,) = [handler for handler in log.handlers if getattr(handler, "_gunicorn", 0)]
        handler.setStream(to)
    return logger


def test_a_log_stream_without_a_file_descriptor_still_gets_the_line():
    """A handler a team adds (logconfig_dict, a capture in tests) may write to a
    stream that has no file descriptor: the line goes through `logging`."""
    import io
    from datetime import timedelta
    from types import SimpleNamespace

    logger = access_logger(io.StringIO(), io.StringIO())
    captured = io.StringIO()
    logger.access_log.addHandler(logging.StreamHandler(captured))
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/healthz", "SERVER_PROTOCOL": "HTTP/1.1"}
    logger.access(SimpleNamespace(status="200 OK", sent=2), None, environ, timedelta(0))
    assert '"GET /healthz HTTP/1.1" 200 2 ' in captured.getvalue()


def test_a_full_log_pipe_drops_lines_and_never_raises():
    """A real pipe, non-blocking and full: gunicorn calls access() before it
    closes the response, so a raise there would skip the close."""
    import io
    from datetime import timedelta
    from types import SimpleNamespace

    read, write = os.pipe()
    os.set_blocking(write, False)
    with open(read, "rb") as reader, open(write, "wb", buffering=0) as writer:
        with contextlib.suppress(BlockingIOError):
            while True:
                os.write(write, b"x" * 4096)
        errors = io.StringIO()
        logger = access_logger(writer, errors)
        response = SimpleNamespace(status="200 OK", sent=2)
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/healthz", "SERVER_PROTOCOL": "HTTP/1.1"}
        for _ in range(3):
            logger.access(response, None, environ, timedelta(milliseconds=1))
        assert logger.dropped == 3
        while select.select([reader], [], [], 0)[0]:
            os.read(read, 1 << 16)  # the reader catches up
        logger.access(response, None, environ, timedelta(milliseconds=1))
        assert os.read(read, 1 << 16).count(b"GET /healthz") == 1
    assert "3 access log lines dropped" in errors.getvalue()
    assert logger.dropped == 0


@pytest.mark.parametrize("config", ["missing.py", "."])
def test_a_config_that_is_no_file_is_one_line(config):
    command = [*START[:-1], config]
    started = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert started.returncode == 1
    assert started.stderr.splitlines() == [f"Error: {config!r} is not a file"]


def test_access_lines_escape_bytes_that_are_not_ascii():
    """Bytes past ASCII arrive as latin-1 characters; the C1 ones would reach the
    line as controls (NEL ends a line for some readers), so each is written as
    the byte it was."""
    import io
    from datetime import timedelta
    from types import SimpleNamespace

    read, write = os.pipe()
    with open(read, "rb") as reader, open(write, "wb", buffering=0) as writer:
        logger = access_logger(writer, io.StringIO())
        environ = {"RAW_URI": "/\xff", "HTTP_USER_AGENT": "a\x85b\x9b31m"}
        environ["HTTP_REFERER"] = "\xc3\xa9"  # UTF-8 "é", as WSGI hands it on
        logger.access(SimpleNamespace(status="200 OK", sent=2), None, environ, timedelta(0))
        line = reader.read1(1 << 16).decode("ascii")
    assert '"- /\\xff -" ' in line
    assert '"\\xc3\\xa9" "a\\x85b\\x9b31m"' in line
    assert line.count("\n") == 1


def test_an_access_log_format_is_refused_at_start():
    """This logger writes its own line: a format it would ignore stops gunicorn."""
    command = [*START, "--access-logformat", "%(h)s"]
    started = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert started.returncode == 1
    assert "Error: access_log_format is not used" in started.stderr
    assert "Traceback" not in started.stderr


def test_one_connection_serves_every_kind_of_answer():
    """Keep-alive after answers with a body, without one, and errors."""
    with gunicorn() as server:
        connection = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=5)
        answers = []
        for method, path in [("GET", "/healthz"), ("HEAD", "/healthz"), ("GET", "/nowhere")]:
            connection.request(method, path)
            response = connection.getresponse()
            answers.append((response.status, response.read()))
        connection.close()
    assert answers == [(200, b'{"status":"ok"}\n'), (200, b""), (404, answers[2][1])]
    assert json.loads(answers[2][1])["status"] == 404


def test_access_log_lines_stay_whole_under_load():
    """Lines from two workers, many written at once, never cut into each other,
    even for a client's 6,000-byte User-Agent (cut to fit one atomic write)."""
    requests, long_agent = 400, "U" * 6000
    with gunicorn(WEB_CONCURRENCY="2") as server:
        url = f"http://127.0.0.1:{server['port']}/healthz?n="
        headers = [
            {"X-Request-ID": f"id-{n}", "User-Agent": long_agent if n % 2 else "short"}
            for n in range(requests)
        ]
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            list(pool.map(lambda n: get(f"{url}{n}", **headers[n]), range(requests)))
    request, agent = r'"GET /healthz\?n=(\d+) HTTP/1\.1"', r'"(short|U+\.\.\.\(cut\))"'
    whole = rf"^\S+ - - \[[^]]+\] {request} 200 \d+ \"-\" {agent} [\d.]+ id-(\d+)$"
    lines = [text for text in server["log"].splitlines() if "/healthz?n=" in text]
    served = [re.match(whole, text) for text in lines]
    assert all(served) and sorted(int(m[1]) for m in served) == list(range(requests))
    assert all(m[1] == m[3] for m in served)
    assert max(len(text.encode()) for text in lines) < select.PIPE_BUF


def test_access_lines_are_written_in_whole_lines():
    from {{ cookiecutter.package_name }}.logs import whole_lines

    lines = [f"line {n} " + "x" * 100 for n in range(100)] + ["y" * 5000, "last"]
    chunks = list(whole_lines(lines, 4096))
    assert b"".join(chunks).decode().splitlines() == lines
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    assert [len(chunk) <= 4096 for chunk in chunks].count(False) == 1  # the long line alone
    assert b"y" * 5000 + b"\n" in chunks


def workers_of(master: int, expected: int) -> list[int]:
    """The master's child processes, once `expected` of them run (5 s at most)."""
    deadline = time.monotonic() + 5
    while True:
        children = []
        for process in Path("/proc").iterdir():
            with contextlib.suppress(OSError):  # a process may end while it is read
                status = (process / "status").read_text() if process.name.isdigit() else ""
                if re.search(rf"^PPid:\s+{master}$", status, re.M):
                    children.append(int(process.name))
        if len(children) >= expected or time.monotonic() > deadline:
            return children
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform != "linux", reason="Linux-only by nature: CPU affinity, /proc")
def test_one_cpu_gets_the_default_worker_count():
    """Pinned to one CPU, as a quota of one CPU or a cpuset limits a container,
    gunicorn runs {{ "(2 x 1) + 1 sync workers" if cookiecutter.worker_class == "sync" else "one worker" }}, whatever the host's CPU count."""
    expected = {{ 3 if cookiecutter.worker_class == "sync" else 1 }}
    with gunicorn(cpus={min(os.sched_getaffinity(0))}, WEB_CONCURRENCY="") as server:
        workers = workers_of(server["pid"], expected)
        time.sleep(0.5)  # time for an extra worker to show, were there one
        workers = workers_of(server["pid"], expected)
    assert len(workers) == expected, server


@pytest.mark.skipif(sys.platform != "linux", reason="Linux-only by nature: reads /proc")
def test_heartbeats_go_to_shared_memory():
    """Each worker's heartbeat file (open, already unlinked) lives in RAM, in
    /dev/shm where there is one: on a disk-backed /tmp a slow disk delays the
    heartbeat and the master kills a healthy worker."""
    with gunicorn(WEB_CONCURRENCY="1") as server:
        (worker,) = workers_of(server["pid"], 1)
        opened = []
        for fd in Path(f"/proc/{worker}/fd").iterdir():
            with contextlib.suppress(OSError):  # an fd may close while it is read
                opened.append(os.readlink(fd))
    heartbeats = [Path(name).parent for name in opened if "/wgunicorn-" in name]
    assert heartbeats, opened
    shm = Path("/dev/shm")  # noqa: S108 (read, not written)
    assert all(folder == shm for folder in heartbeats) == shm.is_dir()


def test_empty_worker_count_means_the_default():
    with gunicorn(WEB_CONCURRENCY="") as server:
        status, _ = get(f"http://127.0.0.1:{server['port']}/healthz")
    assert status == 200


def test_malformed_request_is_a_400_and_logged():
    with gunicorn() as server, socket.create_connection(("127.0.0.1", server["port"])) as sock:
        lengths = b"Content-Length: 1\r\nContent-Length: 2\r\n"
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + lengths + b"\r\nab")
        answer = sock.recv(1024)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert "Traceback" not in server["log"]


def test_json_logs_one_object_per_line():
    agent = 'probe "quoted" \\ agent'
    with gunicorn(LOG_FORMAT="json") as server:
        url = f"http://127.0.0.1:{server['port']}/healthz"
        get(url, **{"User-Agent": agent, "X-Request-ID": "req-7"})
    entries = [json.loads(line) for line in server["log"].splitlines()]
    (access,) = [e for e in entries if e.get("request_id") == "req-7"]
    assert access["logger"] == "gunicorn.access" and access["path"] == "/healthz"
    assert (access["status"], access["user_agent"]) == (200, agent)
    assert any(
        e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in entries
    )


def test_control_socket_when_asked_for(tmp_path):
    path = tmp_path / "gunicorn.ctl"
    with gunicorn(GUNICORN_CONTROL_SOCKET=str(path)):
        deadline = time.monotonic() + 5
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

{%- if cookiecutter.metrics == "prometheus" %}


# The worker classes this project can run (gevent needs its answer).
INSTALLED_WORKERS = [{% if cookiecutter.worker_class == "gevent" %}"gevent", {% endif %}"gthread", "sync"]
# Served with a route that takes a value, to see its template as the label.
ITEMS_APP = """
from {{ cookiecutter.package_name }}.app import create_app

app = create_app()


@app.get("/items/<int:item>")
def item(item):
    return {"item": item}
"""


@pytest.mark.parametrize("worker_class", INSTALLED_WORKERS)
def test_metrics_add_up_every_worker(tmp_path, metric_samples, worker_class):
    """Two workers count apart, in files of their own, and a scrape (served by
    either) adds them up, those of a worker that has exited included; the
    files go when gunicorn stops."""
    (tmp_path / "items_app.py").write_text(ITEMS_APP)
    paths = {f"/items/{n}?page={n}": 200 for n in range(20)} | {f"/no/{n}": 404 for n in range(10)}
    environ = {"TMPDIR": str(tmp_path), "GUNICORN_WORKER_CLASS": worker_class}
    with gunicorn(args=("items_app:app",), PYTHONPATH=str(tmp_path), **environ) as server:
        url = f"http://127.0.0.1:{server['port']}"

        def answered(path: str) -> int:
            try:
                return get(url + path)[0]
            except urllib.error.HTTPError as error:
                return error.code

        def send_all() -> None:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                assert dict(zip(paths, pool.map(answered, paths), strict=True)) == paths

        send_all()
        (folder,) = tmp_path.glob("metrics-*")  # PROMETHEUS_MULTIPROC_DIR
        counted = {int(file.stem.split("_")[1]) for file in folder.glob("counter_*.db")}
        assert counted and counted <= set(workers_of(server["pid"], 2))
        os.kill(min(counted), signal.SIGTERM)  # a worker that counted: gunicorn replaces it
        deadline = time.monotonic() + 10
        while min(counted) in (workers := workers_of(server["pid"], 2)) or len(workers) < 2:
            assert time.monotonic() < deadline, "the worker was not replaced"
            time.sleep(0.05)
        send_all()
        status, text = get(url + "/metrics")
        counted_by = list(folder.glob("counter_*.db"))
    assert status == 200 and len(counted_by) >= 2  # the exited worker's, the others'
    counts = metric_samples(text.decode(), "http_requests_total")
    assert counts[("GET", "/items/<int:item>", "200")] == 40
    assert counts[("GET", "unmatched", "404")] == 20
    assert [route for _, route, _ in counts if route.startswith(("/items/", "/no/"))] == [
        "/items/<int:item>"
    ]
    timed = metric_samples(text.decode(), "http_request_duration_seconds_count")
    assert timed[("GET", "/items/<int:item>")] == 40
    assert list(tmp_path.glob("metrics-*")) == []


def test_metrics_on_their_own_port(metric_samples):
    """gunicorn tells the app which of its ports a request came in on; a Host
    header naming the metrics port changes nothing."""
    metrics_port = free_port()
    with gunicorn(METRICS_PORT=str(metrics_port)) as server:
        with pytest.raises(urllib.error.HTTPError) as public:
            get(f"http://127.0.0.1:{server['port']}/metrics", Host=f"x:{metrics_port}")
        status, text = get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert (public.value.code, status) == (404, 200)
    counts = metric_samples(text.decode(), "http_requests_total")
    assert counts[("GET", "unmatched", "404")] == 1  # the public /metrics; no scrape counted
    assert not [labels for labels in counts if labels[1] == "/metrics"]


def test_no_writable_temp_dir_is_one_line(tmp_path):
    """A read-only root with no tmpfs on /tmp leaves the metrics' files nowhere to go."""
    # Python's temp dir set to one that is missing: what it finds when none is writable.
    code = "import runpy, sys, tempfile; tempfile.tempdir = sys.argv.pop(1); "
    code += "runpy.run_module('{{ cookiecutter.package_name }}.start', run_name='__main__')"
    command = [sys.executable, "-c", code, str(tmp_path / "missing"), *START[3:]]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "METRICS=on needs a writable temporary directory (a tmpfs on /tmp) or METRICS=off: "
    )


def test_metrics_off(tmp_path):
    with gunicorn(METRICS="off", TMPDIR=str(tmp_path)) as server:
        with pytest.raises(urllib.error.HTTPError) as answer:
            get(f"http://127.0.0.1:{server['port']}/metrics")
        assert list(tmp_path.iterdir()) == []  # no metrics files
    assert answer.value.code == 404
{%- endif %}

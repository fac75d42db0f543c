"""gunicorn settings for running in a container.

Every value can be changed with an environment variable at `docker run` time;
the defaults suit a container with a CPU limit behind a load balancer. Every
variable, the app's included, is checked here, and a bad one stops the start
with one line per problem. The launcher, `python -m {{ cookiecutter.package_name }}.start`,
runs this file before it imports gunicorn, which reads WEB_CONCURRENCY on
import; gunicorn then loads it again, in the same process.
"""

{% if cookiecutter.worker_class == "gevent" -%}
import importlib.util
{% endif -%}
import math
import os
{%- if cookiecutter.metrics == "prometheus" %}
import shutil
import tempfile
{%- endif %}
{%- if cookiecutter.tracing == "opentelemetry" %}
import urllib.parse
{%- endif %}
from pathlib import Path

from {{ cookiecutter.package_name }}.settings import Environment, Settings, SettingsError

CGROUP = Path("/sys/fs/cgroup")
# GUNICORN_WORKER_CLASS -> the class gunicorn loads.
WORKER_CLASSES = {
{%- if cookiecutter.worker_class == "gevent" %}
    # gunicorn's gevent worker, taking its connections in turn (workers.py).
    "gevent": "{{ cookiecutter.package_name }}.workers.GeventWorker",
{%- endif %}
    "gthread": "gthread",
    "sync": "sync",
{%- if cookiecutter.worker_class != "gevent" %}
    # gevent needs the gevent answer, which installs it.
{%- endif %}
}

{%- if cookiecutter.worker_class == "gevent" %}
# GEVENT_RESOLVER's short names -> a module each cannot run without: the c-ares one needs
# its compiled part, and the dnspython one needs dnspython.
GEVENT_RESOLVERS = {
    "thread": "gevent.resolver.thread",
    "block": "gevent.resolver.blocking",
    "dnspython": "dns",
    "ares": "gevent.resolver.cares",
}
{%- endif %}

env = Environment()


def cgroup_cpu_limit(root: Path = CGROUP) -> float | None:
    """The CPU quota of this container in CPUs, or None when it has none."""
    # A sandbox's stand-in files may be unreadable or odd: a guess of no quota beats a traceback.
    try:
        return read_cpu_quota(root)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def read_cpu_quota(root: Path) -> float | None:
    v2 = root / "cpu.max"  # cgroup v2: "<quota> <period>" or "max <period>"
    if v2.is_file():
        quota, period = v2.read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    quota_v1, period_v1 = root / "cpu" / "cpu.cfs_quota_us", root / "cpu" / "cpu.cfs_period_us"
    if quota_v1.is_file() and period_v1.is_file():
        quota = int(quota_v1.read_text())
        return None if quota <= 0 else quota / int(period_v1.read_text())
    return None


def available_cpus() -> int:
    """CPUs this process may run on: its affinity, where the OS keeps one."""
    # sched_getaffinity is Linux-only (macOS lacks it); process_cpu_count is 3.13+.
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def usable_cpus(root: Path = CGROUP) -> int:
    """CPUs this process may run on, bounded by the cgroup quota.

    os.cpu_count() reports the host's CPUs, which overstates what a limited
    container gets and would start too many workers.
    """
    cpus = available_cpus()
    limit = cgroup_cpu_limit(root)
    if limit is not None:
        cpus = min(cpus, math.ceil(limit))
    return max(cpus, 1)


def default_workers(worker: str, cpus: int) -> int:
    # Sync workers block on I/O, hence gunicorn's (2 x CPUs) + 1; gevent and gthread
    # overlap it themselves, and a second one per CPU served less (docs/configuration.md).
    return 2 * cpus + 1 if worker == "sync" else cpus


{%- if cookiecutter.worker_class == "gevent" %}


def resolver_found(name: str) -> bool:
    """Whether the image holds the resolver a GEVENT_RESOLVER entry names: a short
    name or module.Class. Found, not imported: gevent's dnspython resolver patches
    dnspython as it imports."""
    name = name.strip()
    module = GEVENT_RESOLVERS.get(name, name.rpartition(".")[0])
    try:
        return bool(module) and importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing, or ".x"
        return False
{%- endif %}


wsgi_app = "{{ cookiecutter.package_name }}.wsgi:app"
# Containers must listen on all interfaces to be reachable through a port mapping.
port = env.number("PORT", 8000, minimum=1, maximum=65535)
bind = [f"0.0.0.0:{port}"]
# gevent serves waiting requests as greenlets, thousands per worker; gthread suits blocking
# libraries gevent cannot patch (docs/configuration.md, "Choosing a worker class").
worker = env.choice("GUNICORN_WORKER_CLASS", "{{ cookiecutter.worker_class }}", tuple(WORKER_CLASSES))
worker_class = WORKER_CLASSES[worker]
workers = env.number("WEB_CONCURRENCY", default_workers(worker, usable_cpus()), minimum=1)
# gthread only: each thread serves one request at a time, so 16 threads serve
# at most 160 requests/s that wait 100 ms; more threads cost CPU on every request.
threads = env.number("GUNICORN_THREADS", 16, minimum=1)
if worker != "gthread":
    threads = 1  # gunicorn would turn sync into gthread with threads > 1
# gevent only: requests in flight per worker; past it, connections wait in the backlog.
worker_connections = env.number("GUNICORN_WORKER_CONNECTIONS", 1000, minimum=1)
{%- if cookiecutter.worker_class == "gevent" %}
# gevent imports its resolver at a worker's first lookup, where a missing one fails that
# request: one of those named must be here (the image has no c-ares: docs/image.md).
resolvers = os.environ.get("GEVENT_RESOLVER", "")
if worker == "gevent" and resolvers and not any(map(resolver_found, resolvers.split(","))):
    allowed = "thread, block, or dnspython with dnspython installed"
    env.problems.append(f"GEVENT_RESOLVER={resolvers!r}: expected {allowed}")
{%- endif %}

# Heartbeats are file writes, which a disk-backed /tmp can stall until the worker is
# killed; /dev/shm is RAM, and only gunicorn's own private files go there.
SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHM if os.path.isdir(SHM) else None

# The container's log is its output: access log to stdout, errors to stderr.
# ACCESS_LOG=off when a proxy in front already logs each request.
accesslog = "-" if env.choice("ACCESS_LOG", "on", ("on", "off")) == "on" else None
errorlog = "-"
# The app's settings, checked here too; LOG_LEVEL and LOG_FORMAT serve both.
settings = Settings.read(env)
loglevel = settings.log_level.lower()
# gunicorn's logger with a cheaper access line (logs.py); LOG_FORMAT=json makes
# access and error logs one JSON object per line.
logs = "JsonLogger" if settings.log_format == "json" else "AccessLogger"
logger_class = f"{{ cookiecutter.package_name }}.logs.{logs}"
{%- if cookiecutter.metrics == "prometheus" %}

# METRICS_PORT: /metrics on a port of its own, where the workers answer with the metrics alone.
if settings.metrics_port is not None:
    given = f"METRICS_PORT={str(settings.metrics_port)!r}"
    if not settings.metrics:
        env.problems.append(f"{given}: expected METRICS=on with it")
    elif settings.metrics_port == port:
        env.problems.append(f"{given}: expected a port other than PORT's")
    else:
        bind.append(f"0.0.0.0:{settings.metrics_port}")
{%- endif %}

# gunicorn 25+ opens its control socket under $XDG_RUNTIME_DIR or $HOME, unwritable here
# (an ERROR each start): off unless GUNICORN_CONTROL_SOCKET names a path, e.g. in /tmp.
control_socket = env.matching("GUNICORN_CONTROL_SOCKET", "", r"/\S+", "an absolute path")
control_socket_disable = not control_socket

# On SIGTERM, finish in-flight requests for up to graceful_timeout seconds.
graceful_timeout = env.number("GRACEFUL_TIMEOUT", 20, minimum=0)
timeout = env.number("TIMEOUT", 30, minimum=1)
keepalive = env.number("KEEPALIVE", 5, minimum=0)

# Trust X-Forwarded-* only from these proxies (comma-separated, "*" for any).
forwarded_allow_ips = env.addresses("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Off: each restart re-imports the app, which costs throughput and latency. Set it to
# contain a leak you cannot fix yet; the 10% jitter keeps workers from restarting at once.
max_requests = env.number("MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = max_requests // 10

{% if cookiecutter.tracing == "opentelemetry" -%}
# OpenTelemetry (tracing.py): on while an OTLP endpoint is set.
for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
    endpoint = env.matching(name, "", r"https?://\S+", "an http:// or https:// URL")
    # Parsed as the exporter will, which would otherwise fail at every export.
    try:
        parts = urllib.parse.urlsplit(endpoint)
        usable = bool(parts.hostname) and parts.port != 0  # .port raises on a bad one
    except ValueError:
        usable = False
    if endpoint and not usable:
        env.problems.append(f"{name}={endpoint!r}: expected an http:// or https:// URL")


def post_worker_init(worker) -> None:
    # Each worker exports its own spans, from a thread started after gevent's patching
    # (post_fork is before it); imported here, so the master never loads the SDK.
    from {{ cookiecutter.package_name }} import tracing

    tracing.start(settings.service_name, worker.log.error_log)


def worker_exit(server, worker) -> None:
    from {{ cookiecutter.package_name }} import tracing

    tracing.stop()  # sends the spans still queued


{% endif -%}
try:
    env.check()
except SettingsError as error:
    # One line per bad variable, exit status 1, before gunicorn forks a worker.
    raise SystemExit(str(error)) from None
{%- if cookiecutter.metrics == "prometheus" %}


def on_starting(server) -> None:
    """Each worker keeps its metrics in files of a fresh directory in /tmp (the
    image's tmpfs), set before any worker imports prometheus-client, which reads it then."""
    if settings.metrics:
        try:
            folder = tempfile.mkdtemp(prefix="metrics-")
        except OSError as error:  # e.g. --read-only without --tmpfs /tmp
            needs = "METRICS=on needs a writable temporary directory (a tmpfs on /tmp)"
            needs += " or METRICS=off"
            raise SystemExit(f"{needs}: {error}") from None
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def child_exit(server, worker) -> None:
    """A worker's counts outlive it; only its live gauges, were there any, go."""
    if settings.metrics:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if settings.metrics:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
{%- endif %}

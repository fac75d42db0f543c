"""docs/reliability.md from the reliability cases' figures."""

import platform
import subprocess

from images import DOCKER


def machine() -> str:
    engine = subprocess.run(
        [DOCKER, "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True
    ).stdout.strip()
    cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{cpus} CPUs, Linux {platform.release()}, Docker engine {engine}"


def render(rows: list[tuple[str, str, str]], args: tuple[str, ...]) -> str:
    table = "\n".join(f"| {case} | {what} | {measured} |" for case, what, measured in rows)
    return f"""# Reliability

Written by `nox -s reliability` (`pytest {" ".join(args)}`) on {machine()}.
The default image ran as production runs it (`--read-only --tmpfs /tmp
--cap-drop ALL --security-opt no-new-privileges`) with `--cpus 1`, so one
gevent worker; load came from Python threads on this machine,
each keeping one keep-alive connection busy. The tests assert the outcomes
(no failed request, no 5xx, no worker lost), not the timings, except the
bounds the cases are about: a killed worker replaced within a second, a bad
setting refused within a second. The memory case asserts on what gunicorn's
processes hold; the cgroup's figure beside it also counts page cache and
kernel memory, which grew by a few MiB over such runs while the processes'
memory stayed flat, and which the kernel reclaims under pressure.

| case | what was done | what was measured |
|---|---|---|
{table}
"""

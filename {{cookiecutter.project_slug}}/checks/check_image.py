"""Check a built image the way production runs it:

    python checks/check_image.py IMAGE [--platform linux/arm64] [--minimal]

Inspects what is inside with the image's own Python (checks/probe_image.py:
no shell needed; every module of the venv imported), starts the image
hardened (read-only root, no capabilities, no privilege gain), waits for it
to serve, to count what it served in /metrics and to turn healthy, stops it
with SIGTERM, and prints one line per finding. --minimal: the image must have
no shell and no package manager, and a dpkg status entry per package.
--platform: the image's platform, when it is not this machine's (run through
emulation, with longer waits). Exits 1 on the first failed check. Uses only
the standard library and the docker CLI ($DOCKER).
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DOCKER = os.environ.get("DOCKER", "docker")
HARDENED = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"]
HARDENED += ["--security-opt", "no-new-privileges"]
# A clean start logs none of these (gunicorn's and the app's level names).
LOG_PROBLEM = re.compile(r"\b(ERROR|CRITICAL)\b|^Traceback \(most recent call last\)", re.M)
# Run inside the image by its own Python, as its own user.
PROBE = Path(__file__).with_name("probe_image.py")
# This machine's architecture as Docker names it.
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
# Emulated Python (qemu) is one to two orders of magnitude slower: waits scale by this.
EMULATED_SLOWER = 20
# `docker run` options for the image's platform, and how much longer to wait (--platform).
RUN: list[str] = []
SLOWER = 1


def use_platform(name: str) -> None:
    global RUN, SLOWER
    RUN = ["--platform", name]
    if name.rpartition("/")[2] != HOST_ARCH:
        SLOWER = EMULATED_SLOWER
        # The HEALTHCHECK's own 3 s timeout is for native speed.
        RUN += ["--health-timeout", f"{3 * SLOWER}s"]


def docker(*args: str, check: bool = True) -> str:
    result = subprocess.run([DOCKER, *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        fail(f"{DOCKER} {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def fail(message: str) -> None:
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def logs(container: str) -> str:
    """What the container wrote to stdout and stderr."""
    result = subprocess.run([DOCKER, "logs", container], capture_output=True, text=True)
    return result.stdout + result.stderr


def wait_until(predicate, timeout: float, what: str) -> float:
    timeout *= SLOWER
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            fail(f"not {what} after {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


def serves_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (local http)
            return response.status == 200
    except OSError:
        return False


def check_metrics(url: str) -> None:
    """/metrics, where the service has it on its port, counts the /healthz requests
    just served: the workers can write their counts under the read-only root."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (local http)
            text = response.read().decode()
    except urllib.error.HTTPError as error:
        if error.code != 404:
            fail(f"/metrics answered {error.code}")
        print("no /metrics on the service's port (no metrics, METRICS=off or METRICS_PORT)")
        return
    pattern = r'^http_requests_total\{[^}]*route="/healthz"[^}]*\} (\S+)$'
    counted = sum(float(value) for value in re.findall(pattern, text, re.M))
    if not counted:
        fail("/metrics counts no request to /healthz")
    print(f"/metrics counts the /healthz requests served: {counted:.0f}")


def engine_host() -> str:
    """Where published ports are: this machine, or the host of an engine reached
    over TCP (DOCKER_HOST=tcp://docker:2376 for CI's docker-in-docker service)."""
    url = urllib.parse.urlsplit(os.environ.get("DOCKER_HOST", ""))
    if url.scheme != "tcp" or not url.hostname:
        return "127.0.0.1"
    return f"[{url.hostname}]" if ":" in url.hostname else url.hostname


def probe(image: str) -> dict:
    """What checks/probe_image.py finds, run hardened by the image's Python."""
    command = [DOCKER, "run", "--rm", "--interactive", *RUN, *HARDENED, "--entrypoint", "python"]
    result = subprocess.run(
        [*command, image, "-"], input=PROBE.read_text(), capture_output=True, text=True
    )
    if result.returncode != 0:
        fail(f"the probe failed inside the image:\n{result.stderr.strip()}")
    return json.loads(result.stdout.splitlines()[-1])


def main(image: str, minimal: bool) -> None:
    shape = "{{.Os}}/{{.Architecture}} {{len .RootFS.Layers}} {{.Size}}"
    found, layers, stored = docker("image", "inspect", "-f", shape, image).split()
    if RUN and RUN[1] != found:
        fail(f"{image} is for {found}, not {RUN[1]}")
    unpacked, stored_mb = exported_size(image) / 1e6, int(stored) / 1e6
    print(f"image {image}: {found}, {unpacked:.1f} MB, {layers} layers ({stored_mb:.1f} MB stored)")
    check_contents(probe(image), minimal)
    check_serving(image)


def exported_size(image: str) -> int:
    """The bytes of the image's files, as `docker export` streams them: the
    containerd image store's inspect Size is the compressed one."""
    # Never started: a command is named only so that an image without one is sized too.
    container = docker("create", *RUN, "--entrypoint", "/unused", image)
    try:
        export = subprocess.Popen([DOCKER, "export", container], stdout=subprocess.PIPE)
        size = sum(len(chunk) for chunk in iter(lambda: export.stdout.read(1 << 20), b""))
        if export.wait() != 0:
            fail(f"{DOCKER} export failed for {image}")
        return size
    finally:
        docker("rm", container, check=False)


def check_contents(inside: dict, minimal: bool) -> None:
    if inside["uid"] == 0:
        fail("the image runs as root")
    if inside["found"]:
        fail(f"found in the image: {', '.join(inside['found'])}")
    if inside["writable"]:
        fail(f"the app user can write to {', '.join(inside['writable'])}")
    print(f"user {inside['uid']}, no compiler, make or pip, venv not writable by that user")
    if minimal:
        if inside["shells"]:
            fail(f"a minimal image has no shell or installer: found {', '.join(inside['shells'])}")
        entries = [e for e in inside["status_entries"] if not e.endswith(".md5sums")]
        if not any(e.startswith(("libc6", "libpython", "python")) for e in entries):
            fail("no dpkg status entries for libc6 or Python: scanners would see no packages")
        print(f"no shell, no apt or dpkg; {len(entries)} packages in var/lib/dpkg/status.d")
    if inside["extension_failures"]:
        fail(
            "compiled files in the venv that do not load (a library the image lacks):\n"
            + "\n".join(inside["extension_failures"])
        )
    venv = inside["venv_imports"]
    if venv["failures"]:
        left_out = " (or STDLIB_LEFT_OUT in docker/runtime_root.py left it out)" if minimal else ""
        fail(f"modules of the venv that do not import{left_out}:\n" + "\n".join(venv["failures"]))
    if inside["authorities"] < 100:
        fail(
            f"TLS trusts {inside['authorities']} certificate authorities: the CA bundle is missing"
        )
    print(
        f"Python {inside['python']}; the venv's {venv['modules']} modules import; "
        f"TLS trusts {inside['authorities']} CAs"
    )


def check_serving(image: str) -> None:
    """Up, healthy, stopped by SIGTERM with exit code 0, and a clean log."""
    started = time.monotonic()
    host = engine_host()
    # A local engine publishes on loopback only; a remote one where this job can reach it.
    publish = "127.0.0.1::8000" if host == "127.0.0.1" else "8000"
    container = docker("run", "--detach", "--publish", publish, *RUN, *HARDENED, image)
    try:
        port = docker("port", container, "8000/tcp").splitlines()[0].rsplit(":", 1)[1]
        url = f"http://{host}:{port}/healthz"
        ready = wait_until(lambda: serves_200(url), 30, "serving /healthz")
        print(f"serving /healthz with 200 in {ready:.2f} s, under {' '.join(HARDENED)}")
        check_metrics(f"http://{host}:{port}/metrics")

        def healthy() -> bool:
            state = docker("inspect", "-f", "{{.State.Health.Status}}", container)
            if state == "unhealthy":
                fail("HEALTHCHECK reports unhealthy")
            return state == "healthy"

        wait_until(healthy, 60, "healthy")
        print(f"HEALTHCHECK healthy {time.monotonic() - started:.1f} s after start")

        stopping = time.monotonic()
        docker("stop", container)
        code = docker("inspect", "-f", "{{.State.ExitCode}}", container)
        if code != "0":
            fail(f"exit code {code} after SIGTERM:\n{logs(container)}")
        print(f"stopped by SIGTERM with exit code 0 in {time.monotonic() - stopping:.2f} s")
        log = logs(container)
        problems = [line for line in log.splitlines() if LOG_PROBLEM.search(line)]
        if problems:
            fail("the log from start to stop is not clean:\n" + "\n".join(problems))
        print(f"log from start to stop: {len(log.splitlines())} lines, no error")
    finally:
        docker("rm", "--force", container, check=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].rstrip(":") + ".")
    parser.add_argument("image", help="the image to check, e.g. my-service:dev")
    parser.add_argument(
        "--minimal",
        action="store_true",
        help="the minimal runtime: no shell, no package manager, dpkg status entries",
    )
    parser.add_argument("--platform", help="the image's platform, e.g. linux/arm64")
    options = parser.parse_args()
    if options.platform:
        use_platform(options.platform)
    main(options.image, minimal=options.minimal)

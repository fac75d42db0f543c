"""Check a built image the way production runs it: `python scripts/check_image.py IMAGE`.

Starts the image hardened (read-only root, no capabilities, no privilege
gain), waits for it to serve and to turn healthy, inspects what is inside,
stops it with SIGTERM, and prints one line per finding. Exits 1 on the first
failed check. Uses only the standard library and the docker CLI ($DOCKER).
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

DOCKER = os.environ.get("DOCKER", "docker")
HARDENED = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"]
HARDENED += ["--security-opt", "no-new-privileges"]
VENV = "/opt/app/venv"
# A clean start logs none of these (gunicorn's and the app's level names).
LOG_PROBLEM = re.compile(r"\b(ERROR|CRITICAL)\b|^Traceback \(most recent call last\)", re.M)
# Run inside the image as its own user: tools that must not be there, and
# whether that user could change the installed code.
INSPECT = f"""
import json, os, shutil
venv = {VENV!r}
tools = ["gcc", "cc", "make", "pip", "pip3"]
found = [t for t in tools if shutil.which(t)]
found += [n for n in os.listdir(venv + "/bin") if n.startswith("pip")]
writable = [r for r, _, _ in os.walk(venv) if os.access(r, os.W_OK)]
print(json.dumps({{"uid": os.getuid(), "found": found, "writable": writable[:3]}}))
"""


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
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            fail(f"not {what} after {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (local http)
            return response.status == 200
    except OSError:
        return False


def engine_host() -> str:
    """Where published ports are: this machine, or the host of an engine reached
    over TCP (DOCKER_HOST=tcp://docker:2376 for CI's docker-in-docker service)."""
    url = urllib.parse.urlsplit(os.environ.get("DOCKER_HOST", ""))
    if url.scheme != "tcp" or not url.hostname:
        return "127.0.0.1"
    return f"[{url.hostname}]" if ":" in url.hostname else url.hostname


def main(image: str) -> None:
    shape = docker("image", "inspect", "-f", "{{.Size}} {{len .RootFS.Layers}}", image)
    size, layers = shape.split()
    print(f"image {image}: {int(size) / 1e6:.1f} MB, {layers} layers")

    probe = docker("run", "--rm", "--entrypoint", "python", image, "-c", INSPECT)
    inside = json.loads(probe)
    if inside["uid"] == 0:
        fail("the image runs as root")
    if inside["found"]:
        fail(f"found in the image: {', '.join(inside['found'])}")
    if inside["writable"]:
        fail(f"the app user can write to {', '.join(inside['writable'])}")
    print(f"user {inside['uid']}, no compiler, make or pip, venv not writable by that user")

    started = time.monotonic()
    host = engine_host()
    # A local engine publishes on loopback only; a remote one where this job can reach it.
    publish = "127.0.0.1::8000" if host == "127.0.0.1" else "8000"
    container = docker("run", "--detach", "--publish", publish, *HARDENED, image)
    try:
        port = docker("port", container, "8000/tcp").splitlines()[0].rsplit(":", 1)[1]
        url = f"http://{host}:{port}/healthz"
        ready = wait_until(lambda: answers(url), 30, "serving /healthz")
        print(f"serving /healthz with 200 in {ready:.2f} s, under {' '.join(HARDENED)}")

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
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[0])
    main(sys.argv[1])

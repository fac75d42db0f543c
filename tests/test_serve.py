"""`nox -s serve` in the default project, as a developer runs it (marked `docker`):
the image, and the dev loop of `-- --reload` on the project's own src/."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from images import TEST_IMAGES, docker, nox

pytestmark = pytest.mark.docker

# The index route's return value in the generated app.py, which the tests edit.
INDEX = '"version": __version__}'
# "Within a few seconds": gunicorn polls each second, then a worker starts.
RELOAD_WITHIN = 5
# gunicorn's log line as a worker process starts.
BOOTING = "Booting worker with pid"
# Ctrl-C to nox's exit, container removed (GRACEFUL_TIMEOUT is 20 s in the image).
STOPS_WITHIN = 10


@pytest.fixture(scope="module")
def dev_stage(default_image, docker_env) -> str:
    """The default project's dev stage, built as its docs say."""
    tag = default_image["tag"] + "-dev"
    nox(default_image["project"], docker_env, "-s", "image", "--", "--target", "dev", "--tag", tag)
    return tag


@pytest.fixture
def app_py(default_image) -> Iterator[Path]:
    """The project's app.py, put back as it was: other tests build this project."""
    path = default_image["project"] / "src" / "image_debian_trixie" / "app.py"
    original = path.read_text()
    assert original.count(INDEX) == 1
    try:
        yield path
    finally:
        save(path, original)


def save(path: Path, text: str) -> None:
    """As editors save: a complete new file renamed over the old one."""
    temporary = path.with_name(f".{path.name}.saving")
    temporary.write_text(text)
    os.replace(temporary, path)


@dataclass
class Served:
    process: subprocess.Popen
    port: int
    log: Path
    tag: str

    def get(self, path: str = "/") -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def until(self, seen, within: float) -> float:
        """Seconds until a response satisfies `seen(status, body)`, failing after `within`."""
        started = time.monotonic()
        while True:
            try:
                if seen(*self.get()):
                    return time.monotonic() - started
            except OSError:
                pass  # between workers, or not listening yet
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() - started < within, self.log.read_text()[-3000:]
            time.sleep(0.05)

    def stop(self) -> float:
        """Ctrl-C, as a terminal sends it (to nox and the docker client); seconds to exit."""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)
        return time.monotonic() - started

    def containers(self) -> list[str]:
        return docker("ps", "--all", "--quiet", "--filter", f"ancestor={self.tag}").stdout.split()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(project: Path, env: dict, log: Path, tag: str, *options: str) -> Iterator[Served]:
    """`nox -s serve -- --tag TAG --port P OPTIONS` in the background until / answers."""
    port = free_port()
    command = [sys.executable, "-m", "nox", "-s", "serve", "--", "--tag", tag]
    command += ["--port", str(port), *options]
    with log.open("w") as out:
        # A session of its own: Ctrl-C's signal goes to its whole process group.
        process = subprocess.Popen(
            command,
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(process, port, log, tag)
    try:
        served.until(lambda status, body: status == 200, within=60)
        yield served
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for container in served.containers():  # left by a failed test
            docker("rm", "--force", container, check=False)


def hardened(served: Served) -> bool:
    [container] = served.containers()
    config = json.loads(docker("inspect", "--format", "{{json .HostConfig}}", container).stdout)
    return config["ReadonlyRootfs"] and config["CapDrop"] == ["ALL"]


def test_serve_runs_the_image_hardened(default_image, docker_env, tmp_path):
    tag = default_image["tag"]
    with serving(default_image["project"], docker_env, tmp_path / "serve.log", tag) as served:
        status, body = served.get("/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert hardened(served)
        stopped = served.stop()
        assert served.process.returncode == 0, served.log.read_text()[-3000:]
        assert served.containers() == []
        assert stopped < STOPS_WITHIN
    print(f"\n[debian-trixie] nox -s serve: stopped by Ctrl-C in {stopped:.1f} s")
    assert f"serving {tag} on http://127.0.0.1:{served.port}/" in served.log.read_text()


def test_reload_serves_an_edit_and_survives_a_syntax_error(
    default_image, docker_env, dev_stage, app_py, tmp_path
):
    project, log = default_image["project"], tmp_path / "serve.log"
    original = app_py.read_text()
    with serving(project, docker_env, log, dev_stage, "--reload") as served:
        assert hardened(served)
        status, body = served.get()
        assert status == 200 and b"edited" not in body

        save(app_py, original.replace(INDEX, '"version": __version__, "edited": "first"}'))
        reloaded = served.until(lambda status, body: b'"edited":"first"' in body, RELOAD_WITHIN)

        # An unclosed brace: gunicorn answers with the traceback and watches the file.
        save(app_py, original.replace(INDEX, '"version": __version__'))
        served.until(lambda status, body: status == 500 and b"SyntaxError" in body, RELOAD_WITHIN)
        save(app_py, original.replace(INDEX, '"version": __version__, "edited": "fixed"}'))
        fixed = served.until(lambda status, body: b'"edited":"fixed"' in body, RELOAD_WITHIN)

        # Ctrl-C while a worker restarts, before it has gunicorn's signal handlers.
        booted = log.read_text().count(BOOTING)
        save(app_py, original.replace(INDEX, '"version": __version__, "edited": "last"}'))
        deadline = time.monotonic() + RELOAD_WITHIN
        while log.read_text().count(BOOTING) == booted:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.005)
        stopped = served.stop()
        assert served.process.returncode == 0, log.read_text()[-3000:]
        assert served.containers() == []
        assert stopped < STOPS_WITHIN
    print(
        f"\n[debian-trixie] nox -s serve -- --reload: an edit served in {reloaded:.1f} s, "
        f"the fix of a syntax error in {fixed:.1f} s; stopped by Ctrl-C in {stopped:.1f} s"
    )
    output = log.read_text()
    assert f"on http://127.0.0.1:{served.port}/; reload on" in output
    assert "/opt/app/src/image_debian_trixie/app.py modified" in output


def test_reload_stops_on_an_import_error(default_image, docker_env, dev_stage, app_py, tmp_path):
    """What the README says gunicorn cannot recover from: the session fails, naming it."""
    log = tmp_path / "serve.log"
    with serving(default_image["project"], docker_env, log, dev_stage, "--reload") as served:
        save(app_py, app_py.read_text() + "\nundefined_name\n")
        served.process.wait(timeout=30)
        assert served.process.returncode != 0
        assert served.containers() == []
    output = log.read_text()
    assert "NameError: name 'undefined_name' is not defined" in output


def test_reload_without_the_dev_stage_names_the_command(default_image, docker_env):
    absent = f"{TEST_IMAGES}/never-built:dev-stage"
    result = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "serve", "--", "--reload", "--tag", absent],
        cwd=default_image["project"],
        env=docker_env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    expected = f"no image {absent}: build it with `nox -s image -- --target dev`"
    assert expected in result.stdout + result.stderr

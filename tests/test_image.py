"""Generated images built and run on a real Docker engine (marked `docker`).

Each base is baked, locked, built with `nox -s image` (which runs the image
checks of checks/check_image.py), then probed further here.
"""

import ast
import base64
import contextlib
import csv
import hashlib
import http.server
import io
import json
import os
import posixpath
import re
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import template_repo
from answers import AWKWARD
from images import (
    BASES,
    DOCKER,
    HARDENED,
    TEST_IMAGES,
    build,
    container,
    docker,
    exported,
    exported_files,
    nox,
    require_images,
    run,
)
from sdists import write_cext_sdist
from tooling import wheelhouse

pytestmark = pytest.mark.docker


@pytest.fixture(scope="session", params=BASES, ids=list(BASES))
def built(request, build_base):
    return build_base(request.param)


# The lines of check_image.py's report, shown in the test log.
CHECK_LINES = ("image ", "user ", "no shell", "Python ", "serving ")
CHECK_LINES += ("/metrics ", "no /metrics ", "HEALTHCHECK ", "stopped ")


def test_image_checks_pass(built):
    output = built["output"]
    for line in output.splitlines():
        if line.startswith(CHECK_LINES):
            print(f"[{built['name']}] {line}")
    assert "no compiler, make or pip, venv not writable" in output
    loaded = r"Python 3\.1\d\.\d+; the venv's \d{3} modules import; TLS trusts \d{3} CAs"
    assert re.search(loaded, output)
    minimal = BASES[built["name"]][0].get("runtime", "minimal") == "minimal"
    assert ("no shell, no apt or dpkg" in output) == minimal
    assert re.search(r"user 10001\b", output)
    # The workers' metrics files in the read-only root's /tmp, added up at a scrape.
    counted = re.search(r"/metrics counts the /healthz requests served: [1-9]", output)
    metrics = BASES[built["name"]][0].get("metrics", "prometheus") == "prometheus"
    assert bool(counted) == metrics
    assert ("no /metrics on the service's port" in output) != metrics
    assert "stopped by SIGTERM with exit code 0" in output
    size = float(re.search(r"image \S+: linux/amd64, ([\d.]+) MB, (\d+) layers", output)[1])
    assert size < built["budget"], f"{size} MB is over the {built['budget']} MB budget"


def test_the_arm64_image_is_built_and_checked_under_emulation(default_image, docker_env):
    """`nox -s image -- --platform linux/arm64` on this amd64 machine: the
    arm64 wheelhouse, every RUN step through qemu, and every check."""
    tag = f"{TEST_IMAGES}/debian-trixie:arm64"
    started = time.monotonic()
    output = nox(
        default_image["project"],
        docker_env,
        "-s",
        "image",
        "--",
        "--platform",
        "linux/arm64",
        "--tag",
        tag,
    )
    print(
        f"\n[debian-trixie] nox -s image -- --platform linux/arm64: "
        f"{time.monotonic() - started:.0f} s"
    )
    for line in output.splitlines():
        if line.startswith(CHECK_LINES):
            print(f"[debian-trixie arm64] {line}")
    assert "Python 3.13" in output and "no shell, no apt or dpkg" in output
    assert "stopped by SIGTERM with exit code 0" in output
    size = float(re.search(r"image \S+: linux/arm64, ([\d.]+) MB", output)[1])
    assert size < default_image["budget"]
    architecture = docker("image", "inspect", "-f", "{{.Architecture}}", tag).stdout.strip()
    assert architecture == "arm64"


PROBE = Path(__file__).with_name("runtime_probe.py")


def probe_root(tag: str, left_out: Iterable[str] = ()) -> dict:
    """What tests/runtime_probe.py finds in the image, run hardened by its Python."""
    command = ["run", "--rm", "--interactive", *HARDENED, "--entrypoint", "python", tag, "-"]
    output = docker(*command, *left_out, input=PROBE.read_text()).stdout
    return json.loads(output.splitlines()[-1])


def stdlib_left_out(project: Path) -> set[str]:
    """The minimal runtime's STDLIB_LEFT_OUT (none for the slim runtime)."""
    script = project / "docker" / "runtime_root.py"
    if not script.exists():
        return set()
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "STDLIB_LEFT_OUT":
            return ast.literal_eval(node.value)
    raise AssertionError(f"{script} has no STDLIB_LEFT_OUT")


def test_the_runtime_root_is_complete(built):
    """Every standard-library module imports (a library the root lacks shows
    here, named), none that the minimal runtime leaves out is there or needed,
    and the files Python reads from the OS are there."""
    left_out = stdlib_left_out(built["project"])
    found = probe_root(built["tag"], sorted(left_out))
    print(f"[{built['name']}] {found['modules']} standard-library modules import")
    assert found["import_failures"] == []
    assert found["left_out_present"] == []
    assert found["modules"] > 300
    assert found["locale"] == "C.UTF-8"
    assert found["woff2_type"] == "font/woff2"  # /etc/mime.types
    assert found["paris_summer"] == "2:00:00"  # tzdata
    assert re.fullmatch(r"3\.\d+\.\d+", found["sqlite"])


def test_labels_and_user(built):
    inspect = docker(
        "image",
        "inspect",
        "-f",
        '{{.Config.User}} {{index .Config.Labels "org.opencontainers.image.revision"}}',
        built["tag"],
    ).stdout.split()
    assert inspect[0] == "10001:10001"
    assert re.fullmatch(r"[0-9a-f]{40}", inspect[1])


def test_labels_keep_awkward_text(build_base):
    """The renamed package built (its wheel found), and Docker unescaped the LABEL."""
    renamed = build_base("debian-trixie-gthread")
    key = "org.opencontainers.image.description"
    label = docker(
        "image", "inspect", "-f", f'{{{{index .Config.Labels "{key}"}}}}', renamed["tag"]
    )
    assert label.stdout.rstrip("\n") == AWKWARD["description"]


def test_default_image_pins_the_plugin_from_git(default_image, template_git):
    pyproject = (default_image["project"] / "pyproject.toml").read_text()
    commit = template_repo.git(template_git, "rev-parse", "HEAD")
    assert f"git+{template_git.as_uri()}@{commit}#subdirectory=hatch_plugin" in pyproject


def test_source_change_keeps_dependencies_cached(default_image, docker_env):
    project = default_image["project"]
    app = project / "src" / "image_debian_trixie" / "app.py"
    # Unique per run: wheels are reproducible, so a repeated edit would give
    # bytes BuildKit has already cached from an earlier run.
    app.write_text(app.read_text() + f"\n# a source-only change {time.time_ns()}\n")
    run(
        ["hatch", "build", "-t", "wheel"],
        project,
        {**docker_env, "PATH": f"{project / '.nox' / 'image' / 'bin'}:{docker_env['PATH']}"},
    )
    started = time.monotonic()
    log = build(project, docker_env, default_image["tag"])
    print(f"\n[debian-trixie] source-only rebuild: {time.monotonic() - started:.1f} s")
    assert step_cached(log, "-r /wheelhouse/requirements.txt"), log[-4000:]
    assert not step_cached(log, "-r /project/requirements.txt"), log[-4000:]


def test_scanners_see_the_files_that_are_there(default_image):
    """What was removed in the build is gone from the records too: every
    RECORD line of the venv and every dpkg md5sums line names a file of the
    image with that content, and no test suite or C source is left."""
    contents, problems = {}, []
    with exported(default_image["tag"]) as members:
        for member, tar in members:
            if member.isfile():
                contents[member.name] = tar.extractfile(member).read()
            elif member.issym():
                contents[member.name] = member
    site = next(n for n in contents if n.endswith("/site-packages/flask/__init__.py"))
    site = site.removesuffix("flask/__init__.py")
    for name in [n for n in contents if n.startswith(site) and n.endswith(".dist-info/RECORD")]:
        for row in csv.reader(io.StringIO(contents[name].decode())):
            path = posixpath.normpath(site + row[0])
            if path not in contents:
                problems.append(f"{name}: {row[0]} is not in the image")
            elif row[1]:
                digest = hashlib.sha256(contents[path]).digest()
                if row[1] != "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode():
                    problems.append(f"{name}: {row[0]} has another hash")
    for name in [n for n in contents if n.endswith(".md5sums")]:
        for line in contents[name].decode().splitlines():
            digest, path = line.split("  ", 1)
            top, _, rest = path.partition("/")
            if isinstance(contents.get(top), tarfile.TarInfo):  # merged /usr: lib -> usr/lib
                path = f"{contents[top].linkname}/{rest}"
            data = contents.get(path)
            if not isinstance(data, bytes) or hashlib.md5(data).hexdigest() != digest:
                problems.append(f"{name}: {path} is not in the image with that checksum")
    assert not problems, "\n".join(problems[:20])
    never_run = re.compile(r"/tests/|\.(c|h|cpp)$")
    leftovers = [n for n in contents if n.startswith(site) and never_run.search(n)]
    assert not leftovers, leftovers[:20]
    assert len(contents) > 1000  # the export was read


def test_two_clean_builds_give_the_same_digest(default_image, docker_env, tmp_path):
    """Same commit, same lock, two builds with no cache: the same image digest.
    SOURCE_DATE_EPOCH (the commit's time, as nox sets it) dates the image, and
    rewrite-timestamp clamps every file's time to it. This engine's BuildKit
    can do that only for an OCI archive, not for an image it stores or pushes."""
    project = default_image["project"]
    epoch = template_repo.git(project, "log", "-1", "--format=%ct")
    digests = []
    for run_number in (1, 2):
        archive = tmp_path / f"build{run_number}.tar"
        output = f"type=oci,dest={archive},rewrite-timestamp=true"
        build_args = ["--build-arg", f"SOURCE_DATE_EPOCH={epoch}", "--platform", "linux/amd64"]
        export(project, docker_env, "--no-cache", *build_args, "--output", output)
        digests.append(oci_digest(archive))
    print(f"\n[debian-trixie] two --no-cache builds: {digests[0]}, {digests[1]}")
    assert digests[0] == digests[1]


def export(project: Path, env: dict, *options: str) -> None:
    result = subprocess.run(
        [DOCKER, "build", "--progress=plain", *options, "."],
        cwd=project,
        env={**env, "DOCKER_BUILDKIT": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-5000:]


def oci_digest(archive: Path) -> str:
    """The digest an OCI archive's image has: its one entry in index.json."""
    with tarfile.open(archive) as tar:
        [top] = json.load(tar.extractfile("index.json"))["manifests"]
    return top["digest"]


def step_cached(log: str, needle: str) -> bool:
    """Whether the BuildKit step whose command contains `needle` was CACHED."""
    step = re.search(rf"^#(\d+) \[[^\]]+\] RUN .*{re.escape(needle)}", log, flags=re.M)
    assert step, f"no build step running {needle!r}"
    return re.search(rf"^#{step[1]} CACHED$", log, flags=re.M) is not None


def test_context_leaves_out_git_env_and_tests(default_image, docker_env):
    project = default_image["project"]
    (project / ".env").write_text("SECRET=do-not-ship\n")
    build(project, docker_env, default_image["tag"] + "-ctx")
    unwanted = {".git", ".env", "test_app.py", "pylock.toml", "noxfile.py"}
    names = exported_files(default_image["tag"] + "-ctx")
    found = [name for name in names if Path(name).name in unwanted]
    assert found == []


SLOW_APP = """
import time
from image_debian_trixie.app import create_app

app = create_app()


@app.get("/slow")
def slow():
    time.sleep(2)
    return {"slept": 2}
"""


def test_sigterm_lets_the_in_flight_request_finish(default_image, docker_env, tmp_path):
    (tmp_path / "slowapp.py").write_text(SLOW_APP)
    tmp_path.chmod(0o755)
    (tmp_path / "slowapp.py").chmod(0o644)
    mount = ("--volume", f"{tmp_path}:/opt/slow:ro", "--env", "PYTHONPATH=/opt/slow")
    with container(default_image["tag"], *mount, command=("slowapp:app",)) as running:
        result = {}

        def slow_request():
            with urllib.request.urlopen(running.url("/slow"), timeout=10) as response:
                result["status"], result["body"] = response.status, response.read()

        client = threading.Thread(target=slow_request)
        client.start()
        time.sleep(0.5)  # the request is in flight
        started = time.monotonic()
        docker("stop", "--time", "10", running.id)
        stopped = time.monotonic() - started
        client.join(timeout=10)
        exit_code = docker("inspect", "-f", "{{.State.ExitCode}}", running.id).stdout.strip()
    print(f"\n[debian-trixie] SIGTERM with a request in flight: stopped in {stopped:.2f} s")
    assert result.get("status") == 200 and b'"slept":2' in result["body"]
    assert exit_code == "0"
    assert stopped < 5


def test_dev_stage_runs_the_tests_inside(default_image, docker_env):
    tag = default_image["tag"] + "-dev"
    output = nox(
        default_image["project"], docker_env, "-s", "image", "--", "--target", "dev", "--tag", tag
    )
    assert re.search(r"=+ \d+ passed", output), output[-3000:]
    assert docker("run", "--rm", tag, "pytest", "--version").returncode == 0


def test_build_without_wheelhouse_stops_with_the_fix(cookies_session, docker_env):
    require_images("debian:trixie-slim")
    project = cookies_session.bake(extra_context={"project_name": "No Wheelhouse"}).project_path
    started = time.monotonic()
    result = subprocess.run(
        [DOCKER, "build", "--progress=plain", "."],
        cwd=project,
        env={**docker_env, "DOCKER_BUILDKIT": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "no wheelhouse for no-wheelhouse in dist/: run 'nox -s image'" in result.stderr
    # It stops before any Python package is installed.
    assert "Successfully installed" not in result.stderr
    print(
        f"\n[debian-trixie] build without a wheelhouse failed after "
        f"{time.monotonic() - started:.1f} s"
    )


@contextlib.contextmanager
def otlp_receiver() -> Iterator[tuple[int, list[bytes]]]:
    """An OTLP/HTTP endpoint on loopback: its port, and the bodies sent to it."""
    bodies = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port, bodies
    finally:
        server.shutdown()
        server.server_close()


# Run by the image's Python: the exported bodies (hex, on stdin) decoded with the
# protobuf modules the exporter brought into the venv.
DECODE_SPANS = """
import json, sys
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

spans = []
for body in json.load(sys.stdin):
    for batch in ExportTraceServiceRequest.FromString(bytes.fromhex(body)).resource_spans:
        resource = {a.key: a.value.string_value for a in batch.resource.attributes}
        for scope in batch.scope_spans:
            spans += [
                {
                    "name": span.name,
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "service": resource["service.name"],
                }
                for span in scope.spans
            ]
print(json.dumps(spans))
"""


def test_the_tracing_image_sends_its_spans(build_base):
    """tracing=opentelemetry, run hardened on the host's network with an OTLP
    endpoint on loopback: a request with a caller's `traceparent` is served,
    and `docker stop` makes the worker send its span, which continues that
    trace; the JSON access line names the same span."""
    traced = build_base("debian-trixie-tracing")
    trace_id, parent_id = os.urandom(16).hex(), os.urandom(8).hex()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with otlp_receiver() as (collector, bodies):
        options = ["--network", "host", "--env", f"PORT={port}", "--env", "LOG_FORMAT=json"]
        options += ["--env", f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{collector}"]
        with container(traced["tag"], *options, at=("127.0.0.1", port)) as running:
            headers = {"traceparent": f"00-{trace_id}-{parent_id}-01"}
            request = urllib.request.Request(running.url("/"), headers=headers)
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
            docker("stop", running.id)
            log = docker("logs", running.id)
    command = ["run", "--rm", "--interactive", *HARDENED, "--entrypoint", "python", traced["tag"]]
    decoded = docker(*command, "-c", DECODE_SPANS, input=json.dumps([b.hex() for b in bodies]))
    # Only the request: the probes on /healthz are not traced.
    [span] = json.loads(decoded.stdout)
    assert span["name"] == "GET /"
    assert (span["trace_id"], span["parent_span_id"]) == (trace_id, parent_id)
    assert span["service"] == "image-debian-trixie-tracing"
    lines = [json.loads(line) for line in log.stdout.splitlines()]
    [access] = [line for line in lines if line.get("path") == "/"]
    assert (access["trace_id"], access["span_id"]) == (trace_id, span["span_id"])
    print(f"\n[debian-trixie-tracing] span {span['span_id']} of trace {trace_id} received")


# What a user adds to ship a dependency that has only an sdist (vendor/ holds it).
NATIVE_SDIST_EDITS = (
    ('"flask>=3.1",', '"flask>=3.1",\n    "cext==0.1",'),
    ('lint = ["ruff==0.17.6"]', 'lint = ["ruff==0.17.6"]\nsdist-build = ["setuptools>=61"]'),
    ('lock-file = "pylock.toml"', 'sdists = "include"\nlock-file = "pylock.toml"'),
)


def test_a_native_sdist_is_built_in_the_image_only(cookies_session, docker_env):
    """A locked C extension with no wheel, `sdists = "include"`: the builder stage
    compiles it offline from the shipped sdist and its locked build requirements,
    against libyaml's headers that a build argument adds; the minimal runtime
    gets libyaml's package (found by ldd) and no compiler."""
    require_images("debian:trixie-slim")
    project = cookies_session.bake(extra_context={"project_name": "Native Sdist"}).project_path
    write_cext_sdist(project / "vendor")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    for old, new in NATIVE_SDIST_EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    pyproject.write_text(text + '\n[tool.uv.pip]\nfind-links = ["vendor"]\n')
    nox(project, docker_env, "-s", "lock")
    tag = f"{TEST_IMAGES}/native-sdist:latest"
    packages = "SDIST_BUILD_PACKAGES=gcc libc6-dev python3-dev libyaml-dev"
    started = time.monotonic()
    try:
        output = nox(
            project, docker_env, "-s", "image", "--", "--tag", tag, "--build-arg", packages
        )
        print(f"\n[debian-trixie] nox -s image with a C sdist: {time.monotonic() - started:.1f} s")
        probe = "import cext; print(cext.add(2, 3), cext.yaml(), cext.__file__)"
        added = docker("run", "--rm", "--entrypoint", "python", tag, "-c", probe).stdout.split()
        files = exported_files(tag, ("var/lib/dpkg/status.d/", "usr/include/"))
    finally:
        docker("image", "rm", tag, check=False)
    house = wheelhouse(project)
    assert (house / "dependencies" / "cext-0.1.tar.gz").is_file()
    assert not list(house.rglob("cext-*.whl")), "built on the host, not in the image"
    build_requirements = (house / "build" / "requirements.txt").read_text()
    assert re.search(r"^setuptools==\S+ --hash=sha256:[0-9a-f]{64}$", build_requirements, re.M)
    assert re.search(r"Building wheel for cext\b", output), output[-5000:]
    assert added[0] == "5"
    assert re.fullmatch(r"0\.2\.\d+", added[1])
    assert re.fullmatch(r"/opt/app/venv/lib/python3\.13/site-packages/cext\..*\.so", added[2])
    assert "var/lib/dpkg/status.d/libyaml-0-2" in files
    assert not [name for name in files if name.startswith("usr/include/")], "headers shipped"
    assert "no compiler, make or pip" in output


# (file taken out of the default image, what check_image.py says, the line naming it):
# the check loads the venv's compiled files (greenlet, under the default gevent
# worker, is C++) and counts the CAs TLS trusts.
MISSING_FILES = {
    "libstdc++": (
        "libstdc++.so",
        "compiled files in the venv that do not load",
        r"/greenlet/_greenlet\.\S+\.so: libstdc\+\+\.so\.6: cannot open shared object",
    ),
    "ca-bundle": (
        "etc/ssl/certs/ca-certificates.crt",
        "TLS trusts 0 certificate authorities",
        r"the CA bundle is missing$",
    ),
    "venv-module": (
        "site-packages/itsdangerous/signer.py",
        "modules of the venv that do not import",
        r"^itsdangerous: ModuleNotFoundError: No module named 'itsdangerous\.signer'",
    ),
    # A standard-library module a dependency needs is no optional dependency.
    "stdlib-module": (
        "lib/python3.13/email/",
        "modules of the venv that do not import",
        r": ModuleNotFoundError: No module named 'email\.utils'",
    ),
}


@contextlib.contextmanager
def image_without(image: str, removed: str, tmp_path: Path) -> Iterator[str]:
    """`image` with every file whose name holds `removed` taken out."""
    stripped = tmp_path / "stripped.tar"
    with exported(image) as members, tarfile.open(stripped, "w") as target:
        for member, source in members:
            if removed not in member.name:
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
    tag = f"{TEST_IMAGES}/without-a-file:latest"
    config = ["--change", "USER 10001:10001", "--change", "ENV PATH=/opt/app/venv/bin"]
    docker("import", *config, str(stripped), tag)
    try:
        yield tag
    finally:
        docker("image", "rm", tag, check=False)


@pytest.mark.parametrize("missing", MISSING_FILES)
def test_the_image_check_finds_a_missing_file(default_image, docker_env, tmp_path, missing):
    """What a team's change can lose: check_image.py must fail, naming it."""
    removed, finding, named = MISSING_FILES[missing]
    with image_without(default_image["tag"], removed, tmp_path) as tag:
        check = subprocess.run(
            [sys.executable, "checks/check_image.py", tag, "--minimal"],
            cwd=default_image["project"],
            env=docker_env,
            capture_output=True,
            text=True,
        )
    assert check.returncode == 1
    assert finding in check.stderr
    assert re.search(named, check.stderr, re.M), check.stderr


def test_the_runtime_probe_finds_a_missing_library(default_image, tmp_path):
    with image_without(default_image["tag"], "libsqlite3.so", tmp_path) as tag:
        failures = probe_root(tag)["import_failures"]
    assert any(
        re.match(r"_sqlite3: libsqlite3\.so\.0: cannot open shared object", line)
        for line in failures
    ), failures

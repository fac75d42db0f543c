"""The projects the benchmarks measure: baked from the template with two extra
routes, locked, and built into images as a user would (`nox -s image`, then
`hatch build` and `docker build` for the timed rebuilds)."""

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import tooling  # shared with the tests: how generated projects' tools run
from cookiecutter.main import cookiecutter
from images import DOCKER  # the tests' Docker client

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
# Where this run's images are tagged: another prefix keeps runs that share an engine apart.
TAG_PREFIX = os.environ.get("BENCH_TAG_PREFIX", "slipway-bench/")


@dataclass
class Variant:
    name: str
    answers: dict = field(default_factory=dict)
    build_args: list[str] = field(default_factory=list)
    naive: bool = False


DEFAULT, GTHREAD = "default (debian trixie, gevent)", "default, gthread workers"
IO_PATH = "/bench/io"
# Appended to each baked app.py, for the benchmark only: a request that waits
# (?ms=10 by default), as one querying a database would, and one that computes
# for about a millisecond. They show how each worker setting copes with both.
BENCH_ROUTES = f"""

import time  # noqa: E402


@routes.get("{IO_PATH}")
def bench_io():
    waited = int(request.args.get("ms", "10"))
    time.sleep(waited / 1000)
    return {{"waited_ms": waited}}


@routes.get("/bench/cpu")
def bench_cpu():
    items = [{{"id": i, "score": i * 7919 % 1000 / 10}} for i in range(2000)]
    return {{"top": sorted(items, key=lambda item: item["score"])[:10]}}
"""


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def sh(*command: str, cwd: Path | None = None, env: dict | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"[bench] failed: {' '.join(command)}\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout + result.stderr


def timed(*command: str, **kwargs) -> float:
    started = time.monotonic()
    sh(*command, **kwargs)
    return time.monotonic() - started


def tool_env() -> dict:
    env = tooling.tool_env()
    return {**env, "DOCKER": DOCKER, "DOCKER_BUILDKIT": "1"}


def bake(variant: Variant, workdir: Path) -> Path:
    out = workdir / re.sub(r"\W+", "-", variant.name).strip("-")
    project = Path(
        cookiecutter(str(ROOT), no_input=True, output_dir=str(out), extra_context=variant.answers)
    )
    app = next(project.glob("src/*/app.py"))
    app.write_text(app.read_text() + BENCH_ROUTES)
    env = tool_env()
    sh("git", "init", "-q", cwd=project)
    sh("git", "add", "-A", cwd=project)
    sh(
        "git",
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@slipway.invalid",
        "commit",
        "-qm",
        "bench",
        cwd=project,
    )
    sh(sys.executable, "-m", "nox", "-s", "lock", cwd=project, env=env)
    return project


def build(variant: Variant, project: Path, tag: str, no_cache: bool) -> float:
    """Time one image build; ours include writing the wheelhouse (`hatch build`)."""
    env = tool_env()
    cache = ["--no-cache"] if no_cache else []
    if variant.naive:
        for name in ("naive.Dockerfile", "naive.Dockerfile.dockerignore"):
            shutil.copyfile(BENCH / name, project / name)
        return timed(
            DOCKER,
            "build",
            *cache,
            "--secret",
            f"id=ca,src={HOST_CA}",
            "-f",
            "naive.Dockerfile",
            "-t",
            tag,
            ".",
            cwd=project,
            env=env,
        )
    hatch = project / ".nox" / "image" / "bin" / "hatch"
    if not hatch.exists():  # the first build goes through `nox -s image`, with its checks
        args = [arg for value in variant.build_args for arg in ("--build-arg", value)]
        sh(
            sys.executable,
            "-m",
            "nox",
            "-s",
            "image",
            "--",
            "--tag",
            tag,
            *args,
            cwd=project,
            env=env,
        )
    args = [arg for value in variant.build_args for arg in ("--build-arg", value)]
    started = time.monotonic()
    sh(str(hatch), "build", "-t", "wheel", cwd=project, env=env)
    sh(DOCKER, "build", *cache, *args, "-t", tag, ".", cwd=project, env=env)
    return time.monotonic() - started


def touch_source(project: Path) -> None:
    app = next(project.glob("src/*/app.py"))
    app.write_text(app.read_text() + f"\n# edited at {time.time_ns()}\n")


def image_tag(name: str) -> str:
    return TAG_PREFIX + re.sub(r"\W+", "-", name).strip("-").lower()

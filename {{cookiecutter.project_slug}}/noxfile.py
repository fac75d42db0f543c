"""Development sessions.

`nox` runs lint, typecheck and tests; `nox -s lock` pins the dependencies;
`nox -s audit` checks the locked packages for known vulnerabilities; `nox -s
image` builds the container image and checks it; `nox -s serve` runs it
locally (`-- --reload`: on this checkout's source, reloading on edits);
`nox -s release` builds, checks and pushes what a version tag ships.
"""

import argparse
import json
import os
import platform
import re
import runpy
import shutil
import subprocess
import tempfile
import tomllib
import urllib.parse
from pathlib import Path

import nox
import packaging.tags
import packaging.version

PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
PYPROJECT = nox.project.load_toml("pyproject.toml")
SLUG = PYPROJECT["project"]["name"]
VERSION = PYPROJECT["project"]["version"]
WHEELHOUSE = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["wheelhouse"]
IMAGE_PYTHON = WHEELHOUSE["python-version"]
# Docker's names for the architectures of the hook's manylinux platform tags.
DOCKER_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# The Docker CLI to use; BuildKit is required (cache and bind mounts).
DOCKER = os.environ.get("DOCKER", "docker")
# How production should run the image: nothing writable but /tmp, no
# privileges. checks/check_image.py holds the flags and checks the image under them.
HARDENED = runpy.run_path("checks/check_image.py")["HARDENED"]
# Seconds `nox -s serve` waits after Ctrl-C for gunicorn to stop and Docker to remove
# the container (nox's own wait is too short): more than GRACEFUL_TIMEOUT's default.
STOP_WAIT = 30

# What the template's answers fixed.
# minimal: no shell or package manager in the image; slim: the base's whole OS.
RUNTIME = "{{ cookiecutter.runtime }}"
# The stage that installs Debian's security updates: a refresh rebuilds it uncached.
UPGRADED_STAGE = "{% if cookiecutter.base == "source" %}os{% else %}base{% endif %}"
# The official base comes in every Python (--python); Debian's and a source build fix one.
PYTHON_CHOICE = {{ cookiecutter.base == "official" }}


def docker_platform(tag: str) -> str:
    """manylinux_2_40_aarch64 -> linux/arm64"""
    arch = next((arch for arch in DOCKER_ARCHES if tag.lower().endswith(arch)), None)
    if arch is None:
        raise ValueError(f"no Docker platform for {tag}: add its architecture to DOCKER_ARCHES")
    return f"linux/{DOCKER_ARCHES[arch]}"


# The image's platforms (linux/amd64, linux/arm64): one wheelhouse each.
PLATFORMS = {docker_platform(tag): tag for tag in WHEELHOUSE["platforms"]}
# Built when none is asked for: this machine's, so the image runs natively.
HOST_PLATFORM = docker_platform(platform.machine())
DEFAULT_PLATFORM = HOST_PLATFORM if HOST_PLATFORM in PLATFORMS else next(iter(PLATFORMS))

nox.needs_version = ">=2025.5.1"  # download_python
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
# Test on every supported Python this machine has (none is downloaded); CI
# pins one per job.
nox.options.error_on_missing_interpreters = False
nox.options.download_python = "never"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite against an installed copy of the service, with coverage."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "test"))
    # What counts, and the threshold: [tool.coverage] in pyproject.toml.
    session.run("pytest", "--cov", *session.posargs)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict, over src/ ([tool.mypy] in pyproject.toml)."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "typecheck"))
    session.run("mypy", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Lock the dependencies in pylock.toml (PEP 751, with hashes).

    The lock is universal: one version per package with the wheels for every
    supported Python and platform, so any image target installs from it. It
    holds the extras the wheelhouse hook's `extras` names, and nothing else.
    The `sdist-build` dependency group, when there is one, is locked apart in
    pylock.build.toml: the build requirements of packages that ship only an
    sdist. `-- --upgrade` moves every package to its newest version, and
    never lower (with `--exclude-newer "7 days"`, say, the newest a week
    old); `-- --check` fails when a lock no longer matches pyproject.toml.
    Other options go to `uv pip compile`.
    """
    # One uv version (pyproject.toml's lock group), so every developer writes the same lock.
    session.install(*nox.project.dependency_groups(PYPROJECT, "lock"))
    check = "--check" in session.posargs
    lock_all(session, check, [arg for arg in session.posargs if arg != "--check"])


def lock_all(session: nox.Session, check: bool, extra: list[str]) -> None:
    """Both locks, where the wheelhouse hook reads them."""
    extras = [f"--extra={name}" for name in WHEELHOUSE.get("extras", [])]
    lockfile = Path(WHEELHOUSE.get("lock-file", "pylock.toml"))
    lock_pylock(session, lockfile, check, ["pyproject.toml", *extras, *extra])
    build_lock = Path(WHEELHOUSE.get("build-lock-file", "pylock.build.toml"))
    if "sdist-build" in PYPROJECT.get("dependency-groups", {}):
        lock_pylock(session, build_lock, check, ["--group=pyproject.toml:sdist-build", *extra])
    elif WHEELHOUSE.get("sdists", "error") != "error":
        session.error(
            "sdists = 'build' or 'include' needs the build requirements of those sdists "
            "in a `sdist-build` dependency group (docs/wheelhouse.md: Packages without wheels)"
        )
    elif build_lock.exists():
        session.error(f"{build_lock} is left from a removed sdist-build group: delete it")


def lock_pylock(session: nox.Session, lockfile: Path, check: bool, args: list[str]) -> None:
    if check and not lockfile.exists():
        session.error(f"{lockfile} is missing: run `nox -s lock`")
    command = ["uv", "pip", "compile", *args, "--universal", "--generate-hashes"]
    command += ["--quiet", "--no-header"]
    previous = lockfile.read_text() if lockfile.exists() else ""
    with tempfile.TemporaryDirectory() as tmp:
        # --check locks a copy (uv keeps the versions it finds there) and compares.
        out = Path(tmp, lockfile.name) if check else lockfile
        if check:
            shutil.copyfile(lockfile, out)
        session.run(*command, "--output-file", str(out))
        if check and out.read_text() != lockfile.read_text():
            session.error(f"{lockfile} is stale: run `nox -s lock` and commit the result")
    # An upgrade lowers a version only where the lock holds a release that its
    # options leave out (--exclude-newer): keep the lock rather than go back.
    lowered = lowered_versions(previous, lockfile.read_text()) if "--upgrade" in args else []
    if lowered:
        lockfile.write_text(previous)
        session.error(f"{lockfile} kept as it was: the upgrade would lower {', '.join(lowered)}")


def lowered_versions(before: str, after: str) -> list[str]:
    """Packages whose version in the lock `after` is lower than in `before`."""

    def versions(text: str) -> dict[str, packaging.version.Version]:
        packages = tomllib.loads(text).get("packages", []) if text else []
        return {p["name"]: packaging.version.Version(p["version"]) for p in packages}

    old, new = versions(before), versions(after)
    common = sorted(old.keys() & new.keys())
    return [f"{name} {old[name]} -> {new[name]}" for name in common if new[name] < old[name]]


@nox.session
def audit(session: nox.Session) -> None:
    """pip-audit: every package the locks pin, against known vulnerabilities.

    It reads pylock.toml (and pylock.build.toml) as they are, resolving nothing,
    and fails when any package could not be checked. PyPI's advisories by default;
    `-- --vulnerability-service osv` asks OSV instead.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "audit"))
    session.run("pip-audit", "--strict", "--locked", *session.posargs, ".")


def image_options(session: nox.Session, release: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"nox -s {session.name} --")
    if not release:  # a release builds the runtime, tagged from --image and the version
        parser.add_argument(
            "--tag",
            help=f"image name (default {SLUG}:dev, or {SLUG}:dev-stage for --target dev; "
            "-arm64 and the like added for another platform)",
        )
        parser.add_argument(
            "--target", choices=["runtime", "dev"], default="runtime", help="Dockerfile stage"
        )
        parser.add_argument(
            "--platform",
            choices=PLATFORMS,
            default=DEFAULT_PLATFORM,
            help=f"another is built and checked under emulation (default {DEFAULT_PLATFORM})",
        )
    if PYTHON_CHOICE:
        parser.add_argument("--python", default=IMAGE_PYTHON, help="Python version in the image")
    parser.add_argument(
        "--build-arg", action="append", default=[], metavar="NAME=VALUE", help="for docker build"
    )
    # BuildKit's layer cache outside the engine, e.g. type=gha in GitHub Actions.
    for cache in ("--cache-from", "--cache-to"):
        parser.add_argument(
            cache, action="append", default=[], metavar="SPEC", help="for docker buildx build"
        )
    if release:
        parser.add_argument("--image", required=True, help="repository, e.g. ghcr.io/org/app")
        parser.add_argument("--version-tag", required=True, help="the git tag, e.g. v1.2.0")
        parser.add_argument(
            "--platform",
            dest="platforms",
            action="append",
            choices=PLATFORMS,
            help="build only this platform (repeatable; default: every one of the hook's)",
        )
        parser.add_argument("--push", action="store_true", help="push with provenance")
        parser.add_argument(
            "--refresh", action="store_true", help="fresh base layers; push if packages changed"
        )
    options = parser.parse_args(session.posargs)
    if release:
        options.target = "runtime"
        options.platforms = list(dict.fromkeys(options.platforms or PLATFORMS))  # each once
    else:
        # Apart by default, so building the dev stage never replaces the image `serve` runs.
        stage = "dev" if options.target == "runtime" else "dev-stage"
        # Nor does another platform's build replace the one this machine runs natively.
        arch = "" if options.platform == HOST_PLATFORM else f"-{options.platform.split('/')[1]}"
        options.tag = options.tag or f"{SLUG}:{stage}{arch}"
    return options


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def source_url() -> str:
    """The repository's address for the image's label, without the credentials a
    CI runner may have put in the remote URL (they would ship in the image)."""
    url = urllib.parse.urlsplit(git("remote", "get-url", "origin"))
    return urllib.parse.urlunsplit(url._replace(netloc=url.netloc.rpartition("@")[2]))


def image_python(options: argparse.Namespace) -> str:
    return options.python if PYTHON_CHOICE else IMAGE_PYTHON


def build_dist(session: nox.Session, python: str, *targets: str) -> None:
    """hatch build, whose hook writes dist/wheelhouse for the image's Python."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "build"))
    lock_all(session, check=True, extra=[])
    # The wheelhouse for the image's Python; the lock covers every supported one.
    # UV_PYTHON is nox's pointer to this session's venv: hatch must pick its own.
    env = {"HATCH_WHEELHOUSE_PYTHON_VERSION": python, "UV_PYTHON": None}
    session.run("hatch", "build", *(f"--target={target}" for target in targets), env=env)


def build_image(
    session: nox.Session, options: argparse.Namespace, tags: list[str], platforms: str, *extra: str
) -> None:
    """The one `docker build` of every session: the image and release pipelines
    differ only in the platforms (comma-separated) and `extra` (push,
    provenance, fresh base layers)."""
    build_args = {  # the OCI labels, and the time BuildKit dates the image by
        "VERSION": VERSION,
        "REVISION": git("rev-parse", "HEAD"),
        "CREATED": git("log", "-1", "--format=%cI"),  # the commit's time: reproducible
        "SOURCE": source_url(),
    }
    if PYTHON_CHOICE:
        build_args["PYTHON_VERSION"] = options.python
    epoch = git("log", "-1", "--format=%ct")
    if epoch.isdigit():
        # BuildKit 0.11+ dates the image, and 0.13+ can date every layer's files, by this.
        build_args["SOURCE_DATE_EPOCH"] = epoch
    args = [arg for item in build_args.items() for arg in ("--build-arg", "=".join(item))]
    args += [arg for value in options.build_arg for arg in ("--build-arg", value)]
    args += [arg for spec in options.cache_from for arg in ("--cache-from", spec)]
    args += [arg for spec in options.cache_to for arg in ("--cache-to", spec)]
    args += ["--target", options.target, "--platform", platforms]
    args += [arg for tag in tags for arg in ("--tag", tag)]
    if has_buildx():
        # The selected builder (CI sets up one that can push attestations and
        # export caches) may keep its result to itself: load it or push it.
        command = [DOCKER, "buildx", "build", "--push" if "--push" in extra else "--load"]
        extra = tuple(arg for arg in extra if arg != "--push")
    elif extra or options.cache_from or options.cache_to:
        session.error(f"caches, pushes and --refresh need docker buildx: {DOCKER} has none")
    else:
        command = [DOCKER, "build"]  # the engine's own BuildKit
    session.run(*command, *args, *extra, ".", env={"DOCKER_BUILDKIT": "1"}, external=True)


def has_buildx() -> bool:
    return subprocess.run([DOCKER, "buildx", "version"], capture_output=True).returncode == 0


def check_image(session: nox.Session, tag: str, platform: str) -> None:
    minimal = ["--minimal"] if RUNTIME == "minimal" else []
    command = ["python", "checks/check_image.py", tag, "--platform", platform, *minimal]
    session.run(*command, env={"DOCKER": DOCKER})


@nox.session
def image(session: nox.Session) -> None:
    """Build the image from a fresh wheelhouse, then check it runs as production does."""
    options = image_options(session)
    python = image_python(options)
    build_dist(session, python, "wheel")
    if options.target == "dev":
        download_devtools(session, python, PLATFORMS[options.platform])
    build_image(session, options, [options.tag], options.platform)
    if options.target == "dev":
        # The project's tests, inside the image, against the installed service.
        tests = f"{Path('tests').resolve()}:/opt/app/tests:ro"
        run = [DOCKER, "run", "--rm", "--platform", options.platform, "--volume", tests]
        session.run(*run, options.tag, external=True)
    else:
        check_image(session, options.tag, options.platform)


@nox.session
def release(session: nox.Session) -> None:
    """What a version tag ships: dist/ (wheel, sdist, wheelhouse, SBOMs) and the image.

    `-- --image REPO --version-tag vX.Y.Z` builds and checks the image for
    every platform (REPO:X.Y.Z-amd64, ... on this machine only) and writes an
    SBOM for each; `--push` then pushes them all as one multi-platform
    REPO:X.Y.Z and REPO:sha-COMMIT, with a provenance attestation, and writes
    the index digest to dist/image-digest. `--refresh` first reads the Debian
    packages of the published REPO:X.Y.Z, rebuilds on fresh base layers, and
    pushes only when a package changed on some platform. The release
    pipelines run exactly this.
    """
    options = image_options(session, release=True)
    if options.version_tag != f"v{VERSION}":
        session.error(
            f"tag {options.version_tag} does not match version {VERSION} in pyproject.toml: "
            f"tag v{VERSION}, or change the version and tag again"
        )
    # What a previous push wrote must not outlive a release that pushes nothing.
    for stale in ("dist/image-digest", "dist/image-metadata.json"):
        Path(stale).unlink(missing_ok=True)
    build_dist(session, image_python(options), "wheel", "sdist")
    session.install(*nox.project.dependency_groups(PYPROJECT, "release"), *syft_platform(session))
    published = f"{options.image}:{VERSION}"
    # --pull: the newest base image; also when pushing, so that the push finds
    # the layers checked here in the cache.
    fresh = ["--pull"] if options.refresh else []
    changed = False
    for platform_name in options.platforms:
        local = f"{published}-{platform_name.rpartition('/')[2]}"
        if options.refresh:
            # --pull below: a BASE_IMAGE build argument must name an image a registry serves.
            pull = [DOCKER, "pull", "--quiet", "--platform", platform_name, published]
            session.run(*pull, external=True)
            try:
                before = packages(published, platform_name)
            except subprocess.CalledProcessError as failed:
                reason = (failed.stderr.strip().splitlines() or ["no output"])[0]
                session.error(f"{published} ({platform_name}): cannot read its packages: {reason}")
        again = ["--no-cache-filter", UPGRADED_STAGE] if options.refresh else []
        build_image(session, options, [local], platform_name, *fresh, *again)
        check_image(session, local, platform_name)
        write_sbom(session, local, published, platform_name)
        if options.refresh:
            changes = package_changes(before, packages(local, platform_name))
            session.log(f"{platform_name}: " + ("; ".join(changes) or "no package changed"))
            changed = changed or bool(changes)
    if options.refresh and not changed:
        session.log(f"{published} is up to date: nothing to push")
        return
    if options.push:
        tags = [published, f"{options.image}:sha-{git('rev-parse', 'HEAD')}"]
        metadata = Path("dist/image-metadata.json")
        attest = ["--provenance=mode=max", "--metadata-file", str(metadata)]
        # Every platform from the cache of the builds checked above: no --pull
        # and no uncached upgrade again, which could give other packages.
        platforms = ",".join(options.platforms)
        build_image(session, options, tags, platforms, "--push", *attest)
        digest = json.loads(metadata.read_text())["containerimage.digest"]
        # A file changed during the release would have been read again: what was
        # pushed must be, layer for layer, what was checked.
        pushed = pushed_layers(f"{options.image}@{digest}", options.platforms)
        for platform_name in options.platforms:
            local = f"{published}-{platform_name.rpartition('/')[2]}"
            if pushed[platform_name] != local_layers(local):
                session.error(
                    f"{options.image}@{digest}: its {platform_name} image is not the one checked "
                    "(did a file change during the release?); release again"
                )
        Path("dist/image-digest").write_text(digest + "\n")
        session.log(f"pushed {', '.join(tags)} for {platforms} at {digest}")
    else:
        session.log("built and checked; nothing pushed (no --push)")


def local_layers(image: str) -> list[str]:
    """The image's layers, by the digest of their content."""
    inspect = [DOCKER, "image", "inspect", "--format", "{{ '{{json .RootFS.Layers}}' }}", image]
    return json.loads(subprocess.run(inspect, capture_output=True, text=True, check=True).stdout)


def pushed_layers(reference: str, platforms: list[str]) -> dict[str, list[str] | None]:
    """Each platform's layers in a pushed index, as its registry serves them."""
    inspect = [DOCKER, "buildx", "imagetools", "inspect", reference]
    inspect += ["--format", "{{ '{{json .Image}}' }}"]
    result = subprocess.run(inspect, capture_output=True, text=True, check=True)
    images = json.loads(result.stdout)
    if "rootfs" in images:  # one platform: its configuration itself
        images = {platforms[0]: images}
    return {name: images.get(name, {}).get("rootfs", {}).get("diff_ids") for name in platforms}


def syft_platform(session: nox.Session) -> list[str]:
    """syft is one static binary: on musl (Alpine's docker image), where it has
    no wheel, its manylinux wheel runs too."""
    musl = any(tag.platform.startswith("musllinux") for tag in packaging.tags.sys_tags())
    if not musl or session.venv_backend != "uv":
        return []
    return ["--python-platform", f"{platform.machine()}-manylinux_2_28"]


def write_sbom(session: nox.Session, image: str, published: str, platform_name: str) -> None:
    """dist/sbom-linux-ARCH.cdx.json (CycloneDX), by syft from the image checked:
    the Debian packages (dpkg's status entries) and the venv's packages."""
    out = Path("dist", f"sbom-{platform_name.replace('/', '-')}.cdx.json")
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp, "image.tar")
        session.run(DOCKER, "save", "--output", str(archive), image, external=True)
        scan = ["syft", "scan", "--quiet", f"docker-archive:{archive}"]
        # Named for what ships, not for the archive it was read from.
        name, _, version = published.rpartition(":")
        scan += ["--source-name", name, "--source-version", f"{version} {platform_name}"]
        scan += ["--output", f"cyclonedx-json={out}"]
        session.run(*scan, env={"SYFT_CHECK_FOR_APP_UPDATE": "false"})
    session.log(f"SBOM for {platform_name} in {out}")


def packages(image: str, platform_name: str) -> dict[str, str]:
    """The image's Debian packages and versions, read by its own Python (no shell
    needed): from dpkg's status file, or the minimal image's status.d entries."""
    read = """
from pathlib import Path
entries = [p for p in Path("/var/lib/dpkg/status.d").glob("*") if p.suffix != ".md5sums"]
print("\\n\\n".join(p.read_text() for p in entries or [Path("/var/lib/dpkg/status")]))
"""
    run = [DOCKER, "run", "--rm", "--platform", platform_name, "--entrypoint", "python"]
    result = subprocess.run([*run, image, "-c", read], capture_output=True, text=True, check=True)
    installed = {}
    for stanza in result.stdout.split("\n\n"):
        fields = dict(re.findall(r"^(Package|Version): (.+)$", stanza, re.M))
        if "Package" in fields:
            installed[fields["Package"]] = fields["Version"]
    return installed


def package_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [
        f"{name}: {before.get(name, '(none)')} -> {after.get(name, '(removed)')}"
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def download_devtools(session: nox.Session, python: str, platform_tag: str) -> None:
    """Wheels of the test group for the dev stage, fetched here: its build stays offline."""
    devtools = Path("dist/devtools")
    shutil.rmtree(devtools, ignore_errors=True)
    requirements = nox.project.dependency_groups(PYPROJECT, "test")
    session.install("pip")
    target = ["--python-version", python, "--platform", platform_tag]
    download = ["pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(devtools)]
    session.run(*download, *target, *requirements)
    (devtools / "requirements.txt").write_text("\n".join(requirements) + "\n")


@nox.session(venv_backend="none")
def serve(session: nox.Session) -> None:
    """Run the image on localhost, hardened as in production (Ctrl-C stops it).

    `-- --reload` runs the dev stage (`nox -s image -- --target dev` builds it)
    on this checkout's src/ instead, and gunicorn restarts its workers when a
    file they loaded changes: an edit is served without a rebuild.
    """
    parser = argparse.ArgumentParser(prog="nox -s serve --")
    parser.add_argument(
        "--tag", help=f"image to run (default {SLUG}:dev, or {SLUG}:dev-stage with --reload)"
    )
    parser.add_argument("--port", type=int, default=8000, help="host port")
    parser.add_argument(
        "--reload", action="store_true", help="serve ./src from the dev stage, reloading on edits"
    )
    options = parser.parse_args(session.posargs)
    url = f"http://127.0.0.1:{options.port}/"
    run = [DOCKER, "run", "--rm", "--publish", f"127.0.0.1:{options.port}:8000", *HARDENED]
    if options.reload:
        tag = options.tag or f"{SLUG}:dev-stage"
        if subprocess.run([DOCKER, "image", "inspect", tag], capture_output=True).returncode:
            session.error(f"no image {tag}: build it with `nox -s image -- --target dev`")
        session.log(f"serving ./src in {tag} on {url}; reload on: an edit restarts the workers")
        # A worker still starting when Ctrl-C comes misses gunicorn's stop signal and is
        # waited for GRACEFUL_TIMEOUT; a dev loop has no requests worth that wait.
        run += [*source_mounts(), "--env", "GRACEFUL_TIMEOUT=2", "--entrypoint", "python", tag]
        run += ["-m", "{{ cookiecutter.package_name }}.start", "--config", "gunicorn.conf.py"]
        # poll: a stat of each loaded file every second; inotify would need another package.
        run += ["--reload", "--reload-engine", "poll"]
    else:
        tag = options.tag or f"{SLUG}:dev"
        session.log(f"serving {tag} on {url}")
        run.append(tag)
    session.run(*run, external=True, interrupt_timeout=STOP_WAIT)


def source_mounts() -> list[str]:
    """This checkout's package, ahead of the venv's copy on sys.path, and its
    gunicorn.conf.py, both read-only."""
    src, config = Path("src").resolve(), Path("gunicorn.conf.py").resolve()
    mounts = ["--volume", f"{src}:/opt/app/src:ro", "--env", "PYTHONPATH=/opt/app/src"]
    return [*mounts, "--volume", f"{config}:/opt/app/gunicorn.conf.py:ro"]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting, of the files named (pre-commit names them) or all."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    # Named files too keep to the exclusions of [tool.ruff].
    paths = ["--force-exclude", *(session.posargs or ["."])]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)

"""The release path, for real: `nox -s release -- --push` to the registry that
.ci/provision runs on 127.0.0.1:5000, both platforms (arm64 under qemu), a
pull by digest of each, the SBOMs, and the weekly `--refresh` with and
without a changed Debian package.
"""

import hashlib
import json
import re
import subprocess
import sys
import time

import pytest
from images import docker, nox

pytestmark = pytest.mark.docker

PLATFORMS = ["linux/amd64", "linux/arm64"]
ATTESTATION = "attestation-manifest"


def skopeo_raw(reference: str) -> dict:
    command = ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{reference}"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def image_manifests(index: dict) -> dict[str, str]:
    """platform -> manifest digest, for the index's images (not its attestations)."""
    return {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
        for m in index["manifests"]
        if m.get("annotations", {}).get("vnd.docker.reference.type") != ATTESTATION
    }


@pytest.fixture(scope="module")
def released(default_image, docker_env, registry):
    """The default project released as v0.1.0, both platforms pushed."""
    project = default_image["project"]
    image = f"{registry}/slipway-test/release-{time.time_ns()}"
    started = time.monotonic()
    output = nox(
        project,
        docker_env,
        "-s",
        "release",
        "--",
        "--image",
        image,
        "--version-tag",
        "v0.1.0",
        "--push",
    )
    print(
        f"\n[release] nox -s release -- --push, both platforms: {time.monotonic() - started:.0f} s"
    )
    for line in output.splitlines():
        if line.startswith(("image ", "nox > pushed", "nox > SBOM")):
            print(f"[release] {line}")
    digest = (project / "dist" / "image-digest").read_text().strip()
    return {"project": project, "image": image, "digest": digest, "output": output}


def test_release_pushes_one_index_for_both_platforms(released):
    index = skopeo_raw(f"{released['image']}@{released['digest']}")
    print(f"\n[release] skopeo inspect --raw:\n{json.dumps(index, indent=2)}")
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    images = image_manifests(index)
    assert sorted(images) == PLATFORMS
    # Everything else is an attestation of one of them: registry UIs hide
    # those, so no unknown/unknown "image" is listed.
    for manifest in index["manifests"]:
        annotations = manifest.get("annotations", {})
        if annotations.get("vnd.docker.reference.type") == ATTESTATION:
            assert annotations["vnd.docker.reference.digest"] in images.values()
        else:
            assert "unknown" not in manifest["platform"].values()
    # Provenance (mode=max) is attached to each image.
    attested = [
        m
        for m in index["manifests"]
        if m.get("annotations", {}).get("vnd.docker.reference.type") == ATTESTATION
    ]
    assert len(attested) == len(PLATFORMS)
    # The commit's tag names the same index.
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=released["project"], capture_output=True, text=True
    ).stdout.strip()
    assert skopeo_raw(f"{released['image']}:sha-{head}") == index
    assert skopeo_raw(f"{released['image']}:0.1.0") == index


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_pull_by_digest_passes_the_image_checks(released, docker_env, platform):
    """What a node of each architecture gets: local copies deleted, pulled by
    digest from the registry, run hardened and checked (arm64 through qemu)."""
    index = skopeo_raw(f"{released['image']}@{released['digest']}")
    pulled = f"{released['image']}@{image_manifests(index)[platform]}"
    arch = platform.rpartition("/")[2]
    for tag in (f"{released['image']}:0.1.0-{arch}", pulled):
        docker("image", "rm", "--force", tag, check=False)
    docker("pull", "--quiet", "--platform", platform, pulled)
    started = time.monotonic()
    check = subprocess.run(
        [sys.executable, "checks/check_image.py", pulled, "--platform", platform, "--minimal"],
        cwd=released["project"],
        env=docker_env,
        capture_output=True,
        text=True,
    )
    print(f"\n[release] {platform} pulled and checked in {time.monotonic() - started:.0f} s:")
    print(check.stdout)
    assert check.returncode == 0, check.stdout + check.stderr
    assert re.search(rf"image \S+: {platform}, [\d.]+ MB", check.stdout)
    assert "serving /healthz with 200" in check.stdout
    assert "stopped by SIGTERM with exit code 0" in check.stdout


# Read inside the image by its own Python: dpkg's status entries and the venv's packages.
INSIDE = """
import importlib.metadata, json, pathlib, re
debs = {}
for entry in pathlib.Path("/var/lib/dpkg/status.d").iterdir():
    if entry.suffix != ".md5sums":
        fields = dict(re.findall(r"^(Package|Version): (.+)$", entry.read_text(), re.M))
        debs[fields["Package"]] = fields["Version"]
venv = {d.metadata["Name"].lower(): d.version for d in importlib.metadata.distributions()}
print(json.dumps({"deb": debs, "pypi": venv}))
"""


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_sbom_lists_every_package(released, platform):
    """dist/sbom-linux-ARCH.cdx.json names every Debian package in status.d
    and every package in the venv, at the version installed."""
    sbom = json.loads(
        (released["project"] / "dist" / f"sbom-{platform.replace('/', '-')}.cdx.json").read_text()
    )
    assert sbom["bomFormat"] == "CycloneDX"
    subject = sbom["metadata"]["component"]
    assert (subject["name"], subject["version"]) == (released["image"], f"0.1.0 {platform}")
    listed = {}
    for component in sbom["components"]:
        purl = component.get("purl", "")
        kind = purl[4:].split("/", 1)[0] if purl.startswith("pkg:") else None
        listed.setdefault(kind, {})[normalized(component["name"])] = component.get("version")
    index = skopeo_raw(f"{released['image']}@{released['digest']}")
    pulled = f"{released['image']}@{image_manifests(index)[platform]}"
    docker("pull", "--quiet", "--platform", platform, pulled)
    run = ["run", "--rm", "--platform", platform, "--entrypoint", "python", pulled, "-c", INSIDE]
    inside = json.loads(docker(*run, timeout=600).stdout)
    assert len(inside["deb"]) > 10 and "flask" in inside["pypi"]
    for kind in ("deb", "pypi"):
        missing = {
            name: version
            for name, version in inside[kind].items()
            if listed.get(kind, {}).get(normalized(name)) != version
        }
        assert missing == {}, f"{kind} packages not in the SBOM at their version: {missing}"


def normalized(name: str) -> str:
    """zope.event and zope-event are one name (PEP 503); Debian's are lower case."""
    return re.sub(r"[-_.]+", "-", name).lower()


# A base image with tzdata held at bookworm's version by an apt pin, so that the
# image's `apt-get upgrade` keeps it: what "a package has an update" looks like.
HELD_BACK = """
FROM debian:trixie-slim
RUN echo "deb http://deb.debian.org/debian bookworm main" > /etc/apt/sources.list.d/old.list \\
 && printf 'Package: tzdata\\nPin: version /deb12/\\nPin-Priority: 1001\\n' \\
      > /etc/apt/preferences.d/held-back \\
 && apt-get update -qq && apt-get install -y -qq --allow-downgrades tzdata \\
 && rm /etc/apt/sources.list.d/old.list && rm -rf /var/lib/apt/lists/*
"""


def test_refresh_pushes_only_when_a_package_changed(default_image, docker_env, registry, tmp_path):
    """A release built on a base that holds tzdata back; a refresh with nothing
    new pushes nothing; once the base moves on, the refresh logs the change
    and pushes a new digest. amd64 only: arm64 takes the same path through
    the same session, at an emulated build's cost each time."""
    project = default_image["project"]
    stamp = time.time_ns()
    base = f"{registry}/slipway-test/base-{stamp}:trixie"
    image = f"{registry}/slipway-test/refresh-{stamp}"
    (tmp_path / "Dockerfile").write_text(HELD_BACK)
    docker(
        "buildx",
        "build",
        "--quiet",
        "--platform",
        "linux/amd64",
        "--provenance=false",
        "--tag",
        base,
        "--push",
        str(tmp_path),
        timeout=900,
    )
    held = docker("run", "--rm", base, "dpkg-query", "--showformat=${Version}", "-W", "tzdata")
    assert "deb12" in held.stdout  # the pin holds, or nothing below tests a change
    release = ["-s", "release", "--", "--image", image, "--version-tag", "v0.1.0"]
    release += ["--platform", "linux/amd64", "--build-arg", f"BASE_IMAGE={base}", "--push"]
    digest_file = project / "dist" / "image-digest"

    nox(project, docker_env, *release)
    first = digest_file.read_text().strip()

    digest_file.write_text("sha256:stale\n")  # a refresh that pushes nothing leaves none
    unchanged = nox(project, docker_env, *release, "--refresh")
    assert "linux/amd64: no package changed" in unchanged
    assert f"{image}:0.1.0 is up to date: nothing to push" in unchanged
    assert not digest_file.exists()
    assert docker_digest(image) == first

    # The base moves on: the same tag, now without the pin.
    docker("tag", "debian:trixie-slim", base)
    docker("push", "--quiet", base, timeout=600)
    changed = nox(project, docker_env, *release, "--refresh")
    lines = [line for line in changed.splitlines() if "linux/amd64: " in line and "->" in line]
    assert len(lines) == 1, changed[-4000:]
    [line] = lines
    print(f"\n[refresh] {line.strip()}")
    assert re.search(r"linux/amd64: .*\btzdata: \S+deb12\S* -> \S+", line), line
    second = digest_file.read_text().strip()
    assert second != first
    assert docker_digest(image) == second


def docker_digest(image: str) -> str:
    """The digest the registry serves for IMAGE:0.1.0: the sha256 of its index."""
    command = ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{image}:0.1.0"]
    result = subprocess.run(command, capture_output=True)
    assert result.returncode == 0, result.stderr
    return f"sha256:{hashlib.sha256(result.stdout).hexdigest()}"

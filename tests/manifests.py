"""A generated project's Kubernetes manifests, rendered and checked without a cluster.

`render` does what `kubectl kustomize` does with the parts of a kustomization
the template uses (resources, namespace, images, strategic-merge patches),
because kustomize cannot be installed from the registries these machines
reach. A kustomization using anything else is refused rather than half-read.
test_deploy.py compares the two wherever kubectl is on the PATH.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

import kubernetes_validate
import yaml
from answers import ROOT

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
# The oldest Kubernetes the manifests claim (the preStop sleep action is on by
# default from 1.30) and the newest kubernetes-validate ships schemas for.
KUBERNETES_VERSIONS = ("1.30", "1.37")
(CHECKOV,) = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["manifests"]


def render(folder: Path) -> list[dict]:
    """The resources `kubectl kustomize folder` would print, in file order."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    assert not unknown, f"{folder}: render() does not implement {sorted(unknown)}"
    resources = []
    for entry in kustomization.get("resources", []):
        path = folder / entry
        if path.is_dir():
            resources += render(path)
        else:
            resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for patch in kustomization.get("patches", []):
        change = yaml.safe_load((folder / patch["path"]).read_text())
        merge(find(resources, change["kind"], change["metadata"]["name"]), change)
    if namespace := kustomization.get("namespace"):
        for resource in resources:
            if resource["kind"] != "Namespace":
                resource["metadata"]["namespace"] = namespace
    for image in kustomization.get("images", []):
        for container in containers(resources):
            if container["image"].split("@")[0].split(":")[0] == image["name"]:
                reference = image.get("newName", image["name"])
                reference += f":{image['newTag']}" if "newTag" in image else ""
                reference += f"@{image['digest']}" if "digest" in image else ""
                container["image"] = reference
    return resources


def merge(target: dict, change: dict) -> None:
    """A strategic merge patch: maps merge, lists of named items merge by name,
    other lists and values are replaced."""
    for key, value in change.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merge(current, value)
        elif isinstance(value, list) and isinstance(current, list) and named(value + current):
            by_name = {item["name"]: item for item in current}
            for item in value:
                if item["name"] in by_name:
                    merge(by_name[item["name"]], item)
                else:
                    current.append(item)
        else:
            target[key] = value


def named(items: list) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def find(resources: list[dict], kind: str, name: str) -> dict:
    matches = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, f"{len(matches)} resources are {kind}/{name}"
    return matches[0]


def containers(resources: list[dict]) -> list[dict]:
    pods = [r["spec"]["template"]["spec"] for r in resources if r["kind"] == "Deployment"]
    return [c for pod in pods for c in pod["containers"]]


def schema_errors(resources: list[dict]) -> list[str]:
    """Each resource against the strict schemas of every pinned Kubernetes version."""
    errors = []
    for version in KUBERNETES_VERSIONS:
        for resource in resources:
            try:
                kubernetes_validate.validate(resource, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                what = f"{resource['kind']}/{resource['metadata']['name']}"
                errors.append(f"Kubernetes {version}: {what}: {exc.message} at {exc.path}")
    return errors


def checkov(folder: Path) -> dict:
    """checkov's Kubernetes checks over the YAML files in `folder`, as its JSON report.

    checkov pins libraries the tests also use, so it runs in an environment of
    its own; --skip-download keeps it from asking its vendor's API for guidance.
    """
    command = [sys.executable, "-m", "uv", "tool", "run", "-p", sys.executable]
    command += ["--from", CHECKOV, "checkov", "--directory", str(folder)]
    command += ["--framework", "kubernetes", "--skip-download", "--output", "json"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.stdout.startswith("{"), result.stderr[-3000:]
    return yaml.safe_load(result.stdout)


# Kubernetes quantities as `docker run` takes them, for the forms the template writes.
BINARY_UNITS = {"Mi": "m", "Gi": "g"}


def docker_size(quantity: str) -> str:
    number, unit = quantity[:-2], quantity[-2:]
    assert number.isdigit() and unit in BINARY_UNITS, f"unexpected quantity {quantity!r}"
    return number + BINARY_UNITS[unit]


def docker_cpus(quantity: str) -> str:
    return str(int(quantity[:-1]) / 1000) if quantity.endswith("m") else quantity


def docker_options(deployment: dict) -> list[str]:
    """The pod's security settings and limits as `docker run` options: what the
    kubelet asks of the container runtime for this Deployment's one container."""
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = {**pod["securityContext"], **container["securityContext"]}
    options = ["--user", f"{security['runAsUser']}:{security['runAsGroup']}"]
    if security.get("readOnlyRootFilesystem"):
        options.append("--read-only")
    if security.get("allowPrivilegeEscalation") is False:
        options += ["--security-opt", "no-new-privileges"]
    for capability in security.get("capabilities", {}).get("drop", []):
        options += ["--cap-drop", capability]
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        empty_dir = volumes[mount["name"]]["emptyDir"]
        assert empty_dir.get("medium") == "Memory", "only RAM-backed emptyDirs are translated"
        options += ["--tmpfs", f"{mount['mountPath']}:size={docker_size(empty_dir['sizeLimit'])}"]
    limits = container["resources"]["limits"]
    options += ["--cpus", docker_cpus(limits["cpu"]), "--memory", docker_size(limits["memory"])]
    for variable in container.get("env", []):
        options += ["--env", f"{variable['name']}={variable['value']}"]
    return options

"""The generated Kubernetes manifests: valid, policy-clean, and true to the image.

No cluster runs on these machines, so the manifests are checked against the
Kubernetes schemas and checkov, then read together with the built image, and
the image is run in Docker the way the kubelet would run this pod.
"""

import json
import math
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml
from images import container, docker
from manifests import checkov, docker_options, find, render, schema_errors

OVERLAY = "deploy/overlays/production"


def deployment_of(project) -> tuple[dict, dict, dict]:
    """The production Deployment, its pod spec and its one container."""
    (deployment,) = [r for r in render(project / OVERLAY) if r["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (app,) = pod["containers"]
    return deployment, pod, app


def test_default_manifests_validate_and_keep_the_image_guarantees(cookies):
    project = cookies.bake().project_path
    resources = render(project / OVERLAY)
    kinds = sorted(r["kind"] for r in resources)
    assert kinds == sorted(
        [
            "Namespace",
            "ServiceAccount",
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
        ]
    )
    assert schema_errors(resources) == []
    assert schema_errors(render(project / "deploy/base")) == []
    # The production patch reached the autoscaler; everything is in the namespace.
    assert find(resources, "HorizontalPodAutoscaler", "my-service")["spec"]["minReplicas"] == 3
    assert {r["metadata"].get("namespace") for r in resources if r["kind"] != "Namespace"} == {
        "my-service"
    }
    for resource in resources:  # RFC 1123 labels: the API server refuses longer ones
        assert len(resource["metadata"]["name"]) <= 63
        assert all(len(v) <= 63 for v in resource["metadata"].get("labels", {}).values())
    deployment, pod, app = deployment_of(project)
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["automountServiceAccountToken"] is False
    assert app["image"] == "registry.example.com/my-service:0.1.0"
    assert app["lifecycle"]["preStop"]["sleep"]["seconds"] > 0
    limits, requests = app["resources"]["limits"], app["resources"]["requests"]
    assert limits == requests, "Guaranteed QoS: the CPU gunicorn sizes from is promised"
    # Scraped at the metrics port, which the pod opens and the Service leaves out.
    ports = {port["name"]: port["containerPort"] for port in app["ports"]}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["metrics"])
    assert {e["name"]: e["value"] for e in app["env"]}["METRICS_PORT"] == str(ports["metrics"])
    (service,) = [r for r in resources if r["kind"] == "Service"]
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]
    (policy,) = [r for r in resources if r["kind"] == "NetworkPolicy"]
    opened = [port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]]
    assert sorted(opened) == ["http", "metrics"]


def test_checkov_finds_nothing_to_fix(cookies, tmp_path):
    project = cookies.bake().project_path
    resources = render(project / OVERLAY)
    rendered = tmp_path / "rendered"  # apart from the baked project (in tmp_path too)
    rendered.mkdir()
    (rendered / "production.yaml").write_text(yaml.safe_dump_all(resources))
    report = checkov(rendered)
    summary = report["summary"]
    print(f"checkov {summary['checkov_version']}: {summary}")
    failed = report["results"]["failed_checks"]
    assert [(c["check_id"], c["resource"]) for c in failed] == []
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= len(resources)  # it counts the pod template too
    assert summary["passed"] > 50
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 20, skipped["check_id"]


@pytest.mark.skipif(not shutil.which("kubectl"), reason="a cross-check: needs kubectl on PATH")
def test_render_matches_kubectl_kustomize(cookies):
    """render() against the real kustomize, where a machine has kubectl."""
    project = cookies.bake().project_path
    printed = subprocess.run(
        ["kubectl", "kustomize", str(project / OVERLAY)], capture_output=True, text=True
    )
    assert printed.returncode == 0, printed.stderr

    def by_name(resources):
        return {(r["kind"], r["metadata"]["name"]): r for r in resources}

    assert by_name(yaml.safe_load_all(printed.stdout)) == by_name(render(project / OVERLAY))


def test_no_manifests_without_the_answer(cookies):
    project = cookies.bake(extra_context={"deploy": "none"}).project_path
    assert not (project / "deploy").exists()
    assert not (project / "docs" / "kubernetes.md").exists()
    # Not a word of Kubernetes anywhere: README.md, docs/, comments.
    mentions = [
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and "kubectl" in path.read_text(encoding="utf-8")
    ]
    assert mentions == []


@pytest.mark.docker
def test_manifests_match_the_image(default_image):
    _, pod, app = deployment_of(default_image["project"])
    inspect = docker("image", "inspect", "-f", "{{json .Config}}", default_image["tag"])
    config = json.loads(inspect.stdout)
    security = pod["securityContext"]
    assert config["User"] == f"{security['runAsUser']}:{security['runAsGroup']}"
    (port,) = [port for port in app["ports"] if port["name"] == "http"]
    assert list(config["ExposedPorts"]) == [f"{port['containerPort']}/tcp"]
    assert {e["name"]: e["value"] for e in app.get("env", [])}.get("PORT") is None, (
        "the image's PORT is the container port"
    )


@pytest.mark.docker
def test_the_pod_settings_run_and_serve(default_image):
    """The image under the pod's user, read-only root, tmpfs, capabilities, limits
    and environment; its metrics scraped as the pod's annotations say."""
    deployment, _, app = deployment_of(default_image["project"])
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    metrics_port = annotations["prometheus.io/port"]
    options = [*docker_options(deployment), "--publish", f"127.0.0.1::{metrics_port}"]
    print("docker run", " ".join(options))
    started = time.monotonic()
    with container(default_image["tag"], *options, hardened=False) as running:
        print(f"serving /healthz {time.monotonic() - started:.2f} s after docker run")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            path = app[probe]["httpGet"]["path"]
            with urllib.request.urlopen(running.url(path), timeout=5) as response:
                assert response.status == 200, f"{probe} {path}"
        published = docker("port", running.id, f"{metrics_port}/tcp").stdout.split()[0]
        path = annotations["prometheus.io/path"]
        scrape = f"http://127.0.0.1:{published.rpartition(':')[2]}{path}"
        with urllib.request.urlopen(scrape, timeout=5) as response:
            text = response.read().decode()
        with pytest.raises(urllib.error.HTTPError) as public:  # not on the Service's port
            urllib.request.urlopen(running.url("/metrics"), timeout=5)
        assert public.value.code == 404
        # Counted in files in /tmp, the one place the read-only root lets the app write.
        counted = dict(re.findall(r"^http_requests_total\{(.*)\} (\S+)$", text, re.M))
        assert float(counted['method="GET",route="/readyz",status="200"']) == 1, text
        # The wait for the start, then the startup and liveness probes.
        assert float(counted['method="GET",route="/healthz",status="200"']) >= 3
        # One worker per CPU of the limit, as the Deployment's comment says.
        log = docker("logs", running.id).stderr
        workers = len(re.findall(r"Booting worker with pid", log))
        assert workers == math.ceil(float(app["resources"]["limits"]["cpu"]))
        assert not re.search(r"\b(ERROR|CRITICAL)\b|Traceback", log), log


@pytest.mark.docker
def test_probe_and_grace_arithmetic_holds(default_image):
    """Against gunicorn.conf.py's defaults, as the image computes them with no
    variables set: the preStop pause plus the drain end before the kubelet's
    SIGKILL, and liveness gives up only after gunicorn's own worker TIMEOUT."""
    _, pod, app = deployment_of(default_image["project"])
    read = "import runpy; c = runpy.run_path('/opt/app/gunicorn.conf.py'); "
    read += "print(c['graceful_timeout'], c['timeout'])"
    run = ("run", "--rm", "--entrypoint", "python", default_image["tag"], "-c", read)
    graceful_timeout, timeout = map(int, docker(*run).stdout.split())
    pause = app["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["terminationGracePeriodSeconds"]
    print(f"preStop {pause} s + graceful_timeout {graceful_timeout} s < grace period {grace} s")
    assert pause + graceful_timeout < grace
    liveness = app["livenessProbe"]
    patience = liveness["periodSeconds"] * liveness["failureThreshold"]
    print(f"liveness gives up after {patience} s; gunicorn's timeout is {timeout} s")
    assert patience > timeout

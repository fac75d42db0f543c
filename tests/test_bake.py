"""Baking the template: every supported combination, and every rejected one."""

import ast
import json
import py_compile
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime

import manifests
import pytest
from answers import AWKWARD, ROOT, combo_id, supported_combinations

COMBOS = supported_combinations()
UNRENDERED = ("{{ cookiecutter", "{{cookiecutter", "{%", "%}")
# The README is a quick start; the reference lives in docs/.
README_BUDGET = 8 * 1024
LINK = re.compile(r"\]\(([^)\s]+)\)")
# Generated code and config whose comments give the reason in a line or two, and no
# benchmark figures (those live in the template's docs/benchmarks.md).
COMMENTED = (
    "gunicorn.conf.py",
    "noxfile.py",
    "Dockerfile",
    "src/*/workers.py",
    "src/*/logs.py",
    "src/*/metrics.py",
    "src/*/tracing.py",
    "ci/*.py",
)
DIRECTIVE = re.compile(r"#\s*(hadolint|noqa|type:|pragma)")
FIGURE = re.compile(
    r"\bmeasured\b|\b\d+(\.\d+)?( times|x)\b|\bx\d+\.\d|\d%\s+(slower|faster)|\d minutes\b", re.I
)


def files_of(project):
    return sorted(p for p in project.rglob("*") if p.is_file())


def anchor(heading: str) -> str:
    """The fragment GitHub and GitLab give a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def broken_links(project) -> list[str]:
    """Relative links in README.md and docs/ that name no generated file or heading."""
    broken = []
    for page in [project / "README.md", *sorted((project / "docs").glob("*.md"))]:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.is_file():
                broken.append(f"{page.relative_to(project)}: {target}")
            elif fragment:
                headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.M)
                if fragment not in {anchor(h) for h in headings}:
                    broken.append(f"{page.relative_to(project)}: {target}")
    return broken


def comment_problems(project) -> list[str]:
    """Comment blocks longer than two lines, and comments or module docstrings quoting
    measured figures."""
    paths = [p for pattern in COMMENTED for p in project.glob(pattern)]
    paths += sorted((project / "deploy").rglob("*.yaml"))
    problems = []
    for path in paths:
        run = 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = line.strip()
            is_comment = text.startswith("#") and not DIRECTIVE.match(text)
            run = run + 1 if is_comment else 0
            where = f"{path.relative_to(project)}:{number}"
            if run == 3:
                problems.append(f"{where}: a comment of more than two lines")
            if is_comment and FIGURE.search(text):
                problems.append(f"{where}: a measured figure: {text}")
        if path.suffix == ".py":
            docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            problems += [
                f"{path.relative_to(project)}: a measured figure in the docstring: {line}"
                for line in docstring.splitlines()
                if FIGURE.search(line)
            ]
    return problems


def test_defaults(cookies):
    result = cookies.bake()
    assert result.exit_code == 0, result.exception
    project = result.project_path
    assert project.name == "my-service"
    names = {str(p.relative_to(project)) for p in files_of(project)}
    expected = {
        ".cookiecutter.json",
        ".dockerignore",
        ".gitignore",
        ".pre-commit-config.yaml",
        "Dockerfile",
        "checks/check_image.py",
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        ".github/workflows/rebuild.yml",
        ".github/workflows/updates.yml",
        ".github/dependabot.yml",
        "ci/propose.py",
        "renovate.json",
        "deploy/base/kustomization.yaml",
        "deploy/base/deployment.yaml",
        "deploy/overlays/production/kustomization.yaml",
        "LICENSE",
        "README.md",
        "docs/configuration.md",
        "docs/debugging.md",
        "docs/image.md",
        "docs/kubernetes.md",
        "docs/pipelines.md",
        "docs/release.md",
        "docs/updating.md",
        "docs/wheelhouse.md",
        "gunicorn.conf.py",
        "noxfile.py",
        "pyproject.toml",
        "src/my_service/__init__.py",
        "src/my_service/app.py",
        "src/my_service/metrics.py",
        "src/my_service/settings.py",
        "src/my_service/wsgi.py",
    }
    assert expected <= names
    recorded = json.loads((project / ".cookiecutter.json").read_text())
    assert recorded["base"] == "debian"
    assert recorded["python_version"] == "3.13"
    assert recorded["debian_release"] == "trixie"
    assert recorded["worker_class"] == "gevent"
    assert recorded["deploy"] == "kubernetes"
    assert recorded["tracing"] == "none"
    assert not (project / "src/my_service/tracing.py").exists()
    assert "opentelemetry" not in (project / "pyproject.toml").read_text()
    assert_docs_fit(project, recorded)


@pytest.mark.parametrize("answers", COMBOS, ids=[combo_id(a) for a in COMBOS])
def test_supported_combination(cookies, answers):
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    project = result.project_path
    for path in files_of(project):
        text = path.read_text(encoding="utf-8")
        for marker in UNRENDERED:
            assert marker not in text, f"{path.relative_to(project)} holds {marker!r}"
        if path.suffix == ".py":
            py_compile.compile(str(path), doraise=True)
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run([*ruff, "check", "--no-cache", "."], cwd=project, capture_output=True)
    assert check.returncode == 0, check.stdout.decode()
    fmt = subprocess.run([*ruff, "format", "--check", "--no-cache", "."], cwd=project)
    assert fmt.returncode == 0
    hadolint = subprocess.run(
        [shutil.which("hadolint") or "hadolint", "Dockerfile"], cwd=project, capture_output=True
    )
    assert hadolint.returncode == 0, hadolint.stdout.decode()
    assert (project / ".github").exists() == (answers["ci"] == "github")
    assert (project / ".gitlab-ci.yml").exists() == (answers["ci"] == "gitlab")
    for pipelines_only in ("ci", "renovate.json"):
        assert (project / pipelines_only).exists() == (answers["ci"] != "none")
    # Copied unrendered: test_workflows.py's and test_updates.py's checks of the
    # template's own files hold for every bake.
    copied = [*(project / ".github").rglob("*.yml"), project / ".gitlab-ci.yml"]
    for path in [*copied, *(project / "ci").glob("*.py"), project / "renovate.json"]:
        if path.exists():
            template = ROOT / "{{cookiecutter.project_slug}}" / path.relative_to(project)
            assert path.read_bytes() == template.read_bytes()
    assert (project / "deploy").exists() == (answers["deploy"] == "kubernetes")
    if answers["deploy"] == "kubernetes":
        for folder in ("deploy/base", "deploy/overlays/production"):
            assert manifests.schema_errors(manifests.render(project / folder)) == []
    assert (project / "LICENSE").exists() == (answers["license"] != "Proprietary")
    pyproject = (project / "pyproject.toml").read_text()
    assert ('"gunicorn[gevent]' in pyproject) == (answers["worker_class"] == "gevent")
    traced = answers["tracing"] == "opentelemetry"
    assert ('"opentelemetry-sdk' in pyproject) == traced
    assert len(list(project.glob("src/*/tracing.py"))) == traced
    assert (project / "tests/test_tracing.py").exists() == traced
    assert ("post_worker_init" in (project / "gunicorn.conf.py").read_text()) == traced
    metrics = answers["metrics"] == "prometheus"
    assert ('"prometheus-client' in pyproject) == metrics
    assert bool(list(project.glob("src/*/metrics.py"))) == metrics
    if answers["deploy"] == "kubernetes":  # no metrics port where nothing serves it
        deployment = (project / "deploy/base/deployment.yaml").read_text()
        assert ("METRICS_PORT" in deployment) == metrics
    assert_docs_fit(project, answers)


def assert_docs_fit(project, answers):
    """A short README whose links all resolve; a docs/ page for each selected part only."""
    readme = project / "README.md"
    assert readme.stat().st_size <= README_BUDGET, f"README.md is {readme.stat().st_size} bytes"
    assert broken_links(project) == []
    pages = {p.name for p in (project / "docs").iterdir()}
    assert ("pipelines.md" in pages) == (answers["ci"] != "none")
    assert ("kubernetes.md" in pages) == (answers["deploy"] == "kubernetes")
    assert ("debugging.md" in pages) == (answers["runtime"] == "minimal")
    assert ("tracing.md" in pages) == (answers["tracing"] == "opentelemetry")
    linked = set(re.findall(r"\]\(docs/([\w.-]+\.md)\)", readme.read_text()))
    assert linked == pages, "every docs/ page, and only those, is linked from the README"
    assert comment_problems(project) == []


def test_free_text_is_escaped_for_each_format(cookies):
    result = cookies.bake(extra_context=AWKWARD)
    assert result.exit_code == 0, result.exception
    project = result.project_path
    # slugify transliterates the name; the package name follows the slug.
    assert project.name == "cafe-orders"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["description"] == AWKWARD["description"]
    assert pyproject["authors"][0]["name"] == AWKWARD["author_name"]
    module = ast.parse((project / "src/cafe_orders/__init__.py").read_text())
    assert ast.get_docstring(module) == AWKWARD["description"]
    # Docker reads \\, \" and \$ inside double quotes as \, " and $ (checked
    # against a real engine in test_image.py).
    label = (
        'org.opencontainers.image.description="The \\"orders\\" API costs \\$5 \\\\ back\\\\slash"'
    )
    assert label in (project / "Dockerfile").read_text()


def test_mit_license_has_its_full_text(cookies):
    project = cookies.bake(extra_context={"license": "MIT", **AWKWARD}).project_path
    text = (project / "LICENSE").read_text()
    assert text.startswith(f'MIT License\n\nCopyright (c) {datetime.now(UTC).year} Renée O"Brien\n')
    assert "Permission is hereby granted, free of charge" in text
    assert text.endswith("OTHER DEALINGS IN THE\nSOFTWARE.\n")


def test_apache_license_has_its_full_text(cookies):
    project = cookies.bake(extra_context={"license": "Apache-2.0"}).project_path
    text = (project / "LICENSE").read_text()
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert f"   Copyright {datetime.now(UTC).year} Your Name\n" in text
    assert "[yyyy]" not in text and "[name of copyright owner]" not in text
    assert len(text.splitlines()) > 200


def test_workflow_keeps_github_expressions(cookies):
    result = cookies.bake()
    workflow = (result.project_path / ".github/workflows/ci.yml").read_text()
    assert "python-version: ${{ matrix.python }}" in workflow
    assert "PYTHON: ${{ matrix.python }}" in workflow


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"project_slug": "1bad"}, "project_slug"),
        ({"package_name": "class"}, "package_name"),
        ({"author_email": "nobody"}, "author_email"),
        ({"base": "debian", "python_version": "3.14"}, "python_version"),
        ({"base": "debian", "debian_release": "bookworm"}, "python_version"),
        ({"base": "source", "python_version": "3.11"}, "python_version"),
        ({"project_name": "Caf\u00e9 Orders", "project_slug": "Café"}, "project_slug"),
        ({"description": "two\nlines"}, "description"),
        ({"author_name": "tab\there"}, "author_name"),
        ({"author_email": 'a"b@example.com'}, "author_email"),
        ({"hatch_wheelhouse": "wheelhouse>=1"}, "hatch_wheelhouse"),
        ({"project_slug": "a" + "-b" * 32}, "project_slug"),
        ({"project_name": "Default"}, "project_slug"),
        ({"project_name": "Kube Proxy Cache"}, "project_slug"),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else v,
)
def test_rejected_on_the_command_line(tmp_path, answers, field):
    """What a user sees: a non-zero exit, one line naming the field, no project."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "cookiecutter", "--no-input", str(ROOT), "-o", str(out)]
    command += [f"{k}={v}" for k, v in answers.items()]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode != 0
    reasons = [line for line in result.stderr.splitlines() if line.startswith("slipway: ")]
    assert len(reasons) == 1, result.stderr
    assert reasons[0].startswith(f"slipway: {field} ")
    assert not out.exists() or list(out.iterdir()) == []

"""The hook scripts' functions, called directly."""

import json
from pathlib import Path

import pytest
from answers import CONTEXT, ROOT, post, pre


def answers(**overrides):
    base = {
        "project_name": "My Service",
        "description": "A service.",
        "author_name": "Your Name",
        "hatch_wheelhouse": "template",
        "project_slug": "my-service",
        "package_name": "my_service",
        "author_email": "you@example.com",
        "base": "debian",
        "debian_release": "trixie",
        "python_version": "3.13",
        "worker_class": "gevent",
        "runtime": "minimal",
        "deploy": "kubernetes",
        "tracing": "none",
        "_debian_pythons": CONTEXT["_debian_pythons"],
        "_source_pythons": CONTEXT["_source_pythons"],
    }
    return {**base, **overrides}


@pytest.mark.parametrize("slug", ["my-service", "svc", "orders2", "a-b-c"])
def test_good_slugs(slug):
    assert pre.check_slug(slug) is None


@pytest.mark.parametrize("slug", ["1bad", "My-Service", "-svc", "svc-", "a--b", "a_b", "", "a b"])
def test_bad_slugs(slug):
    assert pre.check_slug(slug).startswith(f"project_slug {slug!r}: ")


@pytest.mark.parametrize("name", ["my_service", "svc", "orders_2", "match"])
def test_good_packages(name):
    assert pre.check_package(name) is None


@pytest.mark.parametrize("name", ["class", "import", "async"])
def test_keywords_are_rejected(name):
    assert pre.check_package(name) == f"package_name {name!r}: a Python keyword cannot be imported"


@pytest.mark.parametrize("name", ["json", "email", "logging"])
def test_stdlib_names_are_rejected(name):
    assert "would shadow the standard library module" in pre.check_package(name)


@pytest.mark.parametrize("name", ["2fast", "MyService", "my-service", "_private", "naïve"])
def test_bad_package_names(name):
    assert "use lowercase letters, digits and underscores" in pre.check_package(name)


def test_email():
    assert pre.check_email("a@b.example") is None
    assert pre.check_email("nobody") == "author_email 'nobody': not an e-mail address"


def test_debian_base_needs_the_release_python():
    message = pre.check_base(answers(python_version="3.14"))
    assert message == (
        "python_version '3.14': Debian trixie ships Python 3.13; "
        "choose 3.13, another debian_release, or base=official"
    )
    assert pre.check_base(answers(debian_release="bookworm", python_version="3.11")) is None


def test_official_base_takes_any_offered_python():
    for python in CONTEXT["python_version"]:
        assert pre.check_base(answers(base="official", python_version=python)) is None


def test_source_base_needs_a_pinned_checksum():
    assert pre.check_base(answers(base="source", python_version="3.13")) is None
    assert "pinned source checksum only for 3.13" in pre.check_base(
        answers(base="source", python_version="3.12")
    )


def test_main_reports_every_problem(capsys):
    code = pre.main(answers(project_slug="1bad", package_name="class", author_email="x"))
    assert code == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 2)[1] for line in lines] == [
        "project_slug",
        "package_name",
        "author_email",
    ]


def test_derived_package_name_is_not_reported_twice():
    found = pre.problems(answers(project_slug="1bad", package_name="1bad"))
    assert len(found) == 1
    assert found[0].startswith("project_slug ")


def test_main_accepts_defaults(capsys):
    assert pre.main(answers()) == 0
    assert capsys.readouterr().err == ""


def selectable_files(project: Path) -> None:
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / "ci").mkdir()
    (project / "renovate.json").write_text("{}")
    (project / "deploy" / "base").mkdir(parents=True)
    (project / "LICENSE").write_text("x")
    (project / "src" / "shop").mkdir(parents=True)
    (project / "src" / "shop" / "workers.py").write_text("x")
    (project / "src" / "shop" / "tracing.py").write_text("x")
    (project / "tests").mkdir()
    (project / "tests" / "test_tracing.py").write_text("x")
    (project / "src" / "shop" / "metrics.py").write_text("x")
    (project / "docker").mkdir()
    (project / "docker" / "runtime_root.py").write_text("x")
    (project / "docs").mkdir()
    for page in ("pipelines.md", "kubernetes.md", "debugging.md", "tracing.md", "image.md"):
        (project / "docs" / page).write_text("x")


def test_prune_removes_unselected_files(tmp_path):
    selectable_files(tmp_path)
    answers = {"ci": "none", "deploy": "none", "license": "Proprietary", "worker_class": "sync"}
    answers |= {"runtime": "slim", "tracing": "none", "metrics": "none", "package_name": "shop"}
    removed = post.prune(tmp_path, answers)
    assert sorted(p.name for p in removed) == [
        ".github",
        "LICENSE",
        "ci",
        "debugging.md",
        "deploy",
        "kubernetes.md",
        "metrics.py",
        "pipelines.md",
        "renovate.json",
        "runtime_root.py",
        "test_tracing.py",
        "tracing.md",
        "tracing.py",
        "workers.py",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker", "docs", "src", "tests"]
    assert list((tmp_path / "src" / "shop").iterdir()) == []
    # Each page goes with what it documents; the others stay.
    assert [p.name for p in (tmp_path / "docs").iterdir()] == ["image.md"]


def test_prune_keeps_selected_files(tmp_path):
    selectable_files(tmp_path)
    answers = {"ci": "github", "deploy": "kubernetes", "license": "MIT", "worker_class": "gevent"}
    answers |= {"runtime": "minimal", "tracing": "opentelemetry", "metrics": "prometheus"}
    assert post.prune(tmp_path, {**answers, "package_name": "shop"}) == []
    assert (tmp_path / "src" / "shop" / "workers.py").exists()
    assert (tmp_path / "src" / "shop" / "tracing.py").exists()
    assert (tmp_path / "tests" / "test_tracing.py").exists()
    assert (tmp_path / "src" / "shop" / "metrics.py").exists()
    assert (tmp_path / "docker" / "runtime_root.py").exists()
    names = sorted(p.name for p in tmp_path.iterdir())
    expected = [".github", "LICENSE", "ci", "deploy", "docker", "docs", "renovate.json", "src"]
    assert names == [*expected, "tests"]
    assert len(list((tmp_path / "docs").iterdir())) == 5


@pytest.mark.parametrize("value", ['The "orders" API', "back\\slash", "Café $HOME"])
def test_text_that_is_escaped_is_accepted(value):
    assert pre.check_text("description", value) is None


@pytest.mark.parametrize("value", ["two\nlines", "tab\there", "bell\x07"])
def test_control_characters_are_refused(value):
    assert pre.check_text("description", value) == (
        f"description {value!r}: must be one line without control characters"
    )


def test_empty_text_is_refused():
    assert pre.check_text("author_name", "  ") == "author_name: must not be empty"


@pytest.mark.parametrize(
    "value",
    [
        "template",
        "hatch-wheelhouse>=0.1,<0.2",
        "hatch_wheelhouse",
        "Hatch.Wheelhouse ~= 0.1",
        "hatch-wheelhouse==0.1.0",
        "hatch-wheelhouse @ https://files.example/hatch_wheelhouse-0.1.0-py3-none-any.whl",
    ],
)
def test_plugin_answers_accepted(value):
    assert pre.check_plugin(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "wheelhouse",
        "hatch-wheelhousex",
        "templates",
        "hatch-wheelhouse-evil>=1",
        "hatch-wheelhouse>=0.1 garbage",
        'hatch-wheelhouse>=0.1"]',
    ],
)
def test_plugin_answers_refused(value):
    assert pre.check_plugin(value).startswith(f"hatch_wheelhouse {value!r}: use 'template'")


@pytest.mark.parametrize(
    ("location", "url"),
    [
        ("https://github.com/org/slipway.git", "https://github.com/org/slipway.git"),
        ("/srv/templates/slipway", "file:///srv/templates/slipway"),
        ("git@github.com:org/slipway.git", "ssh://git@github.com/org/slipway.git"),
    ],
)
def test_locations_become_urls_pip_accepts(location, url):
    assert post.as_url(location) == url


@pytest.mark.parametrize(
    ("template", "url"),
    [
        ("gh:org/slipway", "https://github.com/org/slipway.git"),
        ("git+file:///srv/slipway", "file:///srv/slipway"),
        ("https://gitlab.example/org/slipway.git", "https://gitlab.example/org/slipway.git"),
        ("git@github.com:org/slipway.git", "ssh://git@github.com/org/slipway.git"),
        ("/srv/slipway", None),
        ("slipway.zip", None),
    ],
)
def test_git_url_of_a_template(template, url):
    assert post.git_url(template) == url


def test_cruft_names_the_commit():
    source = post.template_source({"_template": "/srv/slipway", "_commit": "c0ffee"})
    assert source.plugin_requirement() == (
        "hatch-wheelhouse @ git+file:///srv/slipway@c0ffee#subdirectory=hatch_plugin"
    )


def baked_pyproject(folder):
    folder.mkdir()
    (folder / "pyproject.toml").write_text(f"[x]\n{post.PLUGIN_PLACEHOLDER}\n")
    return folder


def test_git_source_pins_the_plugin_and_writes_cruft_state(tmp_path):
    """As cruft bakes: the template's URL and the commit are in the context."""
    project = baked_pyproject(tmp_path / "project")
    url = "https://github.com/org/slipway.git"
    context = {**answers(), "ci": "github", "license": "MIT", "_output_dir": "/home/me"}
    assert post.main(project, {**context, "_template": url, "_commit": "c0ffee"}) == 0
    assert (project / "pyproject.toml").read_text() == (
        f'[x]\ndependencies = ["hatch-wheelhouse @ git+{url}@c0ffee#subdirectory=hatch_plugin"]\n'
    )
    recorded = json.loads((project / ".cookiecutter.json").read_text())
    assert "_output_dir" not in recorded and "_template" not in recorded
    assert recorded["project_slug"] == "my-service"
    cruft = json.loads((project / ".cruft.json").read_text())
    assert (cruft["template"], cruft["commit"]) == (url, "c0ffee")
    assert cruft["context"]["cookiecutter"] == {
        **recorded,
        "_debian_pythons": CONTEXT["_debian_pythons"],
        "_source_pythons": CONTEXT["_source_pythons"],
        "_template": url,
        "_commit": "c0ffee",
    }
    # In the order the answers came (the template's), as cruft writes them.
    assert list(cruft["context"]["cookiecutter"])[:3] == [
        "project_name",
        "description",
        "author_name",
    ]


def test_folder_source_pins_a_file_reference(tmp_path, capsys):
    project = baked_pyproject(tmp_path / "project")
    context = {**answers(), "ci": "none", "license": "MIT", "_template": str(ROOT)}
    post.main(project, {**context, "_repo_dir": str(ROOT)})
    plugin = (ROOT / "hatch_plugin").as_uri()
    assert (
        f'dependencies = ["hatch-wheelhouse @ {plugin}"]'
        in (project / "pyproject.toml").read_text()
    )
    assert "works on this machine only" in capsys.readouterr().out
    assert not (project / ".cruft.json").exists()


def test_a_teams_requirement_is_left_alone(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    text = 'dependencies = ["hatch-wheelhouse>=0.1"]\n'
    (project / "pyproject.toml").write_text(text)
    context = {**answers(hatch_wheelhouse="hatch-wheelhouse>=0.1"), "ci": "none"}
    post.main(project, {**context, "license": "MIT", "_template": "/x", "_repo_dir": "/x"})
    assert (project / "pyproject.toml").read_text() == text


def test_a_folder_without_the_plugin_is_refused(tmp_path):
    project = baked_pyproject(tmp_path / "project")
    context = {**answers(), "ci": "none", "license": "MIT", "_template": "x", "_repo_dir": "x"}
    with pytest.raises(SystemExit, match=r"hatch_wheelhouse: no hatch_plugin/ in /\S+/x; "):
        post.main(project, context)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (pre.check_slug, "my-service\n"),
        (pre.check_package, "my_service\n"),
        (pre.check_email, "you@example.com\n"),
        (pre.check_plugin, "hatch-wheelhouse>=0.1\n"),
        (pre.check_plugin, "hatch-wheelhouse\n>=0.1"),
    ],
)
def test_a_line_break_is_refused_where_a_pattern_would_end(check, value):
    """A `$`-anchored pattern accepts a trailing newline; the TOML then breaks."""
    assert check(value) is not None


def test_a_slug_is_short_enough_for_file_names():
    assert pre.check_slug("a" * 100) is None
    assert "at most 100 characters (240 here)" in pre.check_slug("a" * 240)


def test_kubernetes_names_limit_the_slug_only_with_manifests():
    longest = "a" + "-b" * 31  # 63 characters
    assert pre.check_kubernetes_name(answers(project_slug=longest)) is None
    too_long = longest + "c"
    assert "at most 63 characters (64 here)" in pre.check_kubernetes_name(
        answers(project_slug=too_long)
    )
    assert pre.check_kubernetes_name(answers(project_slug=too_long, deploy="none")) is None
    assert "belongs to the cluster" in pre.check_kubernetes_name(answers(project_slug="kube-dns"))

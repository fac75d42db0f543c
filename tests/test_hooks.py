"""The hook scripts' functions, called directly."""

import importlib.util
import json

import pytest
from conftest import CONTEXT, ROOT


def load_hook(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre = load_hook("pre_gen_project")
post = load_hook("post_gen_project")


def answers(**overrides):
    base = {
        "project_slug": "my-service",
        "package_name": "my_service",
        "author_email": "you@example.com",
        "base": "debian",
        "debian_release": "trixie",
        "python_version": "3.13",
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


def test_prune_removes_unselected_files(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "LICENSE").write_text("x")
    removed = post.prune(tmp_path, {"ci": "none", "license": "Proprietary"})
    assert sorted(p.name for p in removed) == [".github", "LICENSE"]
    assert list(tmp_path.iterdir()) == []


def test_prune_keeps_selected_files(tmp_path):
    (tmp_path / ".github").mkdir()
    (tmp_path / "LICENSE").write_text("x")
    assert post.prune(tmp_path, {"ci": "github", "license": "MIT"}) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".github", "LICENSE"]


def test_recorded_answers_leave_out_local_paths(tmp_path):
    context = {"project_slug": "s", "_template": "gh:org/slipway", "_output_dir": "/home/me"}
    post.main(tmp_path, {**context, "ci": "github", "license": "MIT"})
    recorded = json.loads((tmp_path / ".cookiecutter.json").read_text())
    assert recorded == {
        "project_slug": "s",
        "_template": "gh:org/slipway",
        "ci": "github",
        "license": "MIT",
    }

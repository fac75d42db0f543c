import pytest

from hatch_wheelhouse import target


def test_platform_tags_include_older_glibc_and_legacy_aliases():
    tags = target.platform_tags("manylinux_2_36_x86_64")
    assert tags[0] == "manylinux_2_36_x86_64"
    assert tags.index("manylinux_2_28_x86_64") < tags.index("manylinux2014_x86_64")
    assert {"manylinux2010_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert "manylinux_2_37_x86_64" not in tags


def test_aarch64_starts_at_2_17():
    tags = target.platform_tags("manylinux_2_28_aarch64")
    assert tags[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]


def test_wheel_tags_prefer_the_exact_interpreter():
    tags = [str(t) for t in target.wheel_tags("3.13", "manylinux_2_36_x86_64")]
    assert tags[0] == "cp313-cp313-manylinux_2_36_x86_64"
    assert "cp313-abi3-manylinux_2_17_x86_64" in tags
    assert "py3-none-any" in tags
    assert not any("cp312-cp312" in t for t in tags)


def test_marker_environment():
    env = target.marker_environment("3.12", "manylinux2014_aarch64")
    assert env["python_version"] == "3.12"
    assert env["platform_machine"] == "aarch64"
    assert env["sys_platform"] == "linux"


@pytest.mark.parametrize(
    "tag", ["win_amd64", "manylinux_2_36_x86_64\n", "manylinux_2_\u0663_x86_64"]
)
def test_unknown_platform(tag):
    with pytest.raises(ValueError, match="not a manylinux platform tag"):
        target.parse_platform(tag)

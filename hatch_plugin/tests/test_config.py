from pathlib import Path

import pytest

from hatch_wheelhouse.config import SECTION, ConfigError, parse, with_overrides


def problems_of(raw, root=Path(".")):
    with pytest.raises(ConfigError) as info:
        parse(raw, root)
    return info.value.problems


def test_defaults(tmp_path):
    config = parse({}, tmp_path)
    assert config.lock_file == tmp_path / "pylock.toml"
    assert config.python_version is None
    assert config.platforms == ()
    assert config.sdists == "error"
    assert config.cache_dir is None


def test_full_configuration(tmp_path):
    (tmp_path / "wheels").mkdir()
    config = parse(
        {
            "lock-file": "locks/pylock.prod.toml",
            "python-version": "3.12",
            "platforms": ["manylinux_2_36_x86_64", "manylinux2014_aarch64"],
            "extras": ["postgres"],
            "sdists": "include",
            "find-links": ["wheels"],
            "cache-dir": "cache",
            "enable-by-default": True,  # hatchling's own option
        },
        tmp_path,
    )
    assert config.lock_file == tmp_path / "locks/pylock.prod.toml"
    assert config.platforms == ("manylinux_2_36_x86_64", "manylinux2014_aarch64")
    assert config.find_links == (tmp_path / "wheels",)
    assert config.cache_dir == (tmp_path / "cache").resolve()


def test_bad_platform_names_its_index():
    assert problems_of({"platforms": ["manylinux_2_36_x86_64", "win_amd64"]}) == [
        f"{SECTION}.platforms[1]: 'win_amd64' is not a manylinux platform tag "
        "such as 'manylinux_2_36_x86_64'"
    ]


def test_every_problem_is_reported_at_once():
    problems = problems_of(
        {
            "python-version": "3",
            "sdists": "maybe",
            "platforms": "manylinux_2_36_x86_64",
            "lock-file": "",
            "find-links": ["missing-dir"],
            "extras": [1],
            "colour": "blue",
        }
    )
    assert problems == [
        f"{SECTION}.colour: unknown option (known: allow-file-urls, build-lock-file, cache-dir, "
        "download-timeout, extras, find-links, lock-command, lock-file, max-download-bytes, "
        "platforms, python-version, sdists)",
        f"{SECTION}.lock-file: expected a non-empty string, got ''",
        f"{SECTION}.python-version: expected 'X.Y' such as '3.13', got '3'",
        f"{SECTION}.platforms: expected a list of strings, got 'manylinux_2_36_x86_64'",
        f"{SECTION}.extras[0]: expected a non-empty string, got 1",
        f"{SECTION}.sdists: expected one of error, build, include, got 'maybe'",
        f"{SECTION}.find-links[0]: 'missing-dir' is not a directory",
    ]


def test_error_message_lists_problems():
    error = ConfigError(["a: one", "b: two"])
    assert str(error) == "invalid wheelhouse configuration:\n  a: one\n  b: two"


def test_empty_platform_list():
    assert problems_of({"platforms": []}) == [f"{SECTION}.platforms: name at least one platform"]


def test_environment_overrides_the_target():
    raw = {"python-version": "3.13", "platforms": ["manylinux_2_36_x86_64"], "sdists": "build"}
    environ = {
        "HATCH_WHEELHOUSE_PYTHON_VERSION": "3.12",
        "HATCH_WHEELHOUSE_PLATFORMS": "manylinux_2_36_x86_64,manylinux_2_36_aarch64",
    }
    merged, variables = with_overrides(raw, environ)
    assert merged == {
        "python-version": "3.12",
        "platforms": ["manylinux_2_36_x86_64", "manylinux_2_36_aarch64"],
        "sdists": "build",
    }
    assert variables == {
        "python-version": "HATCH_WHEELHOUSE_PYTHON_VERSION",
        "platforms": "HATCH_WHEELHOUSE_PLATFORMS",
    }
    assert with_overrides(raw, {"HATCH_WHEELHOUSE_PYTHON_VERSION": " "}) == (raw, {})


def test_a_bad_override_names_its_variable():
    raw = {"python-version": "3.13", "platforms": ["manylinux_2_36_x86_64"]}
    environ = {
        "HATCH_WHEELHOUSE_PYTHON_VERSION": "3.x",
        "HATCH_WHEELHOUSE_PLATFORMS": "manylinux_2_36_x86_64,win_amd64",
    }
    merged, variables = with_overrides(raw, environ)
    with pytest.raises(ConfigError) as info:
        parse(merged, Path("."), variables)
    assert info.value.problems == [
        "HATCH_WHEELHOUSE_PYTHON_VERSION: expected 'X.Y' such as '3.13', got '3.x'",
        "HATCH_WHEELHOUSE_PLATFORMS (item 2): 'win_amd64' is not a manylinux platform tag "
        "such as 'manylinux_2_36_x86_64'",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        {"python-version": "3.13\n"},  # `$` matches before a final newline
        {"python-version": "3.\u0661\u0663"},  # `\d` matches Arabic-Indic digits
        {"platforms": ["manylinux_2_36_x86_64\n"]},
        {"platforms": ["manylinux_2_\u0663\u0666_x86_64"]},
    ],
    ids=["python-newline", "python-digits", "platform-newline", "platform-digits"],
)
def test_a_value_must_match_as_a_whole(raw):
    [problem] = problems_of(raw)
    assert problem.startswith(f"{SECTION}.{next(iter(raw))}")


def test_a_platform_listed_twice_is_refused():
    platforms = ["manylinux_2_36_x86_64", "manylinux2014_x86_64", "manylinux_2_36_x86_64"]
    assert problems_of({"platforms": [*platforms, "manylinux_2_17_x86_64"]}) == [
        f"{SECTION}.platforms[2]: 'manylinux_2_36_x86_64' is the same platform as "
        f"{SECTION}.platforms[0] ('manylinux_2_36_x86_64'): list it once",
        # A legacy alias (PEP 600) names the same platform.
        f"{SECTION}.platforms[3]: 'manylinux_2_17_x86_64' is the same platform as "
        f"{SECTION}.platforms[1] ('manylinux2014_x86_64'): list it once",
    ]
    twice = "manylinux_2_28_aarch64,manylinux_2_28_aarch64"
    merged, variables = with_overrides({}, {"HATCH_WHEELHOUSE_PLATFORMS": twice})
    with pytest.raises(ConfigError) as info:
        parse(merged, Path("."), variables)
    assert info.value.problems == [
        "HATCH_WHEELHOUSE_PLATFORMS (item 2): 'manylinux_2_28_aarch64' is the same platform as "
        "HATCH_WHEELHOUSE_PLATFORMS (item 1) ('manylinux_2_28_aarch64'): list it once"
    ]


def test_an_item_is_named_by_its_own_index_after_a_bad_one(tmp_path):
    assert problems_of({"platforms": [1, "win_amd64"], "find-links": ["", "missing"]}) == [
        f"{SECTION}.platforms[0]: expected a non-empty string, got 1",
        f"{SECTION}.platforms[1]: 'win_amd64' is not a manylinux platform tag "
        "such as 'manylinux_2_36_x86_64'",
        f"{SECTION}.find-links[0]: expected a non-empty string, got ''",
        f"{SECTION}.find-links[1]: 'missing' is not a directory",
    ]


def test_a_string_with_a_control_character_is_refused():
    assert problems_of(
        {"lock-file": "pylock\0.toml", "lock-command": "nox -s lock\n", "extras": ["a\u202eb"]}
    ) == [
        f"{SECTION}.lock-file: 'pylock\\x00.toml' holds a control or formatting character",
        f"{SECTION}.extras[0]: 'a\\u202eb' holds a control or formatting character",
        f"{SECTION}.lock-command: 'nox -s lock\\n' holds a control or formatting character",
    ]


def test_download_limits_and_file_urls(tmp_path):
    defaults = parse({}, tmp_path)
    assert defaults.max_download_bytes == 4 << 30
    assert (defaults.download_timeout, defaults.allow_file_urls) == (900, False)
    assert defaults.project_dir == tmp_path  # a lock's paths stay inside it
    raw = {"max-download-bytes": 1024, "download-timeout": 2.5, "allow-file-urls": True}
    config = parse(raw, tmp_path)
    assert (config.max_download_bytes, config.download_timeout, config.allow_file_urls) == (
        1024,
        2.5,
        True,
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("max-download-bytes", 0, "expected a positive integer (bytes), got 0"),
        ("max-download-bytes", 1.5, "expected a positive integer (bytes), got 1.5"),
        ("max-download-bytes", True, "expected a positive integer (bytes), got True"),
        ("download-timeout", -1, "expected a positive number of seconds, got -1"),
        ("download-timeout", float("inf"), "expected a positive number of seconds, got inf"),
        ("download-timeout", float("nan"), "expected a positive number of seconds, got nan"),
        ("download-timeout", "60", "expected a positive number of seconds, got '60'"),
        ("allow-file-urls", "yes", "expected true or false, got 'yes'"),
    ],
)
def test_bad_download_options(key, value, expected):
    assert problems_of({key: value}) == [f"{SECTION}.{key}: {expected}"]

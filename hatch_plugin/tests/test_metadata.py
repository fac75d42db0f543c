"""Reading what distribution files say about themselves, including old and broken ones."""

import io
import tarfile
import time
import zipfile

import pytest
from distributions import sdist_bytes

from hatch_wheelhouse import metadata
from hatch_wheelhouse.errors import WheelhouseError


def test_a_zip_sdist_gives_its_build_requirements_and_its_newest_time(tmp_path):
    sdist = tmp_path / "docopt-0.6.1.zip"
    with zipfile.ZipFile(sdist, "w") as archive:
        for name, when in (
            ("PKG-INFO", (2014, 6, 16, 10, 0, 0)),
            ("setup.py", (2014, 6, 16, 11, 0, 0)),
        ):
            archive.writestr(
                zipfile.ZipInfo(f"docopt-0.6.1/{name}", when), "Metadata-Version: 1.1\n"
            )
    # The newer entry's time (zip times are local).
    newest = time.mktime((2014, 6, 16, 11, 0, 0, 0, 0, -1))
    assert metadata.source_date_epoch(sdist) == int(newest)
    # No pyproject.toml: what pip assumes, both of which must then be locked.
    assert [str(r) for r in metadata.build_requires(sdist)] == ["setuptools>=40.8.0", "wheel"]
    assert metadata.requires(sdist, is_wheel=False) is None  # metadata 1.1: ask the backend


def test_an_sdist_with_declared_metadata_is_read_without_building(tmp_path):
    sdist = tmp_path / "blinker-1.9.0.tar.gz"
    sdist.write_bytes(sdist_bytes(sdist.name, ["flask>=3; extra == 'flask'"]))
    assert metadata.source_date_epoch(sdist) == 1_700_000_000
    assert [str(r) for r in metadata.requires(sdist, is_wheel=False)] == [
        'flask>=3; extra == "flask"'
    ]


@pytest.mark.parametrize("name", ["broken-1.0-py3-none-any.whl", "broken-1.0.tar.gz"])
def test_a_broken_archive_is_one_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not an archive")
    with pytest.raises(WheelhouseError, match=rf"^{name} is not a readable archive"):
        metadata.requires(path, is_wheel=name.endswith(".whl"))


def test_a_pax_sdist_gives_whole_seconds(tmp_path):
    """Modern setuptools sdists are PAX tars with fractional times (zope.event
    6.2, markupsafe): setuptools' wheel writer refuses a fractional epoch."""
    sdist = tmp_path / "zope_event-6.2.tar.gz"
    with tarfile.open(sdist, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("zope_event-6.2/PKG-INFO")
        data = b"Metadata-Version: 2.4\nName: zope.event\nVersion: 6.2\n"
        info.size, info.mtime = len(data), 1777357445.0489714
        tar.addfile(info, io.BytesIO(data))
    epoch = metadata.source_date_epoch(sdist)
    assert epoch == 1777357445 and isinstance(epoch, int)


def test_a_metadata_bomb_is_refused_before_it_is_read(tmp_path):
    """A small wheel whose METADATA inflates to far more than any real one."""
    wheel = tmp_path / "bomb-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb-1.0.dist-info/METADATA", b"A" * (64 * 1024 * 1024))
    assert wheel.stat().st_size < 1024 * 1024
    with pytest.raises(WheelhouseError, match=r"METADATA is over 4 MiB"):
        metadata.requires(wheel, is_wheel=True)


LATIN1_PKG_INFO = "Metadata-Version: 2.4\nName: caf\nVersion: 1.0\nAuthor: Fran\xe7ois\n".encode(
    "latin-1"
)


def test_metadata_that_is_not_utf8_is_one_line(tmp_path):
    sdist = tmp_path / "caf-1.0.tar.gz"
    sdist.write_bytes(sdist_bytes(sdist.name, pkg_info=LATIN1_PKG_INFO))
    with pytest.raises(WheelhouseError) as info:
        metadata.requires(sdist, is_wheel=False)
    assert str(info.value) == (
        "caf-1.0.tar.gz: caf-1.0/PKG-INFO is not UTF-8 (invalid continuation byte at byte 57)"
    )
    wheel = tmp_path / "caf-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("caf-1.0.dist-info/METADATA", LATIN1_PKG_INFO)
    with pytest.raises(
        WheelhouseError, match=r"^caf-1\.0-py3-none-any\.whl: .*METADATA is not UTF-8"
    ):
        metadata.requires(wheel, is_wheel=True)


@pytest.mark.parametrize(
    ("pyproject", "error"),
    [
        ("[build-system\nrequires = []\n", "its pyproject.toml is not TOML: Expected ']'"),
        ("a = " + "[" * 100_000, "its pyproject.toml is not TOML: maximum recursion depth"),
        ('[build-system]\nrequires = "setuptools"\n', "build-system.requires is not a list"),
        ("build-system = 3\n", "build-system.requires is not a list of strings"),
        ("[build-system]\nrequires = [3]\n", "build-system.requires is not a list of strings"),
    ],
    ids=["syntax", "nesting", "a-string", "not-a-table", "not-strings"],
)
def test_a_bad_pyproject_toml_is_one_line(tmp_path, pyproject, error):
    sdist = tmp_path / "bad-1.0.tar.gz"
    sdist.write_bytes(sdist_bytes(sdist.name, pyproject=pyproject))
    with pytest.raises(WheelhouseError) as info:
        metadata.build_requires(sdist)
    message = str(info.value)
    assert message.startswith("bad-1.0.tar.gz: its pyproject.toml") and error in message
    assert "\n" not in message


def test_an_archive_damaged_past_its_header_is_one_line(tmp_path):
    """Errors that come while a member is read, not when the archive is opened."""
    sdist = tmp_path / "cut-1.0.tar.gz"
    whole = sdist_bytes(sdist.name, pyproject="# " + "".join(f"{i:x}" for i in range(200_000)))
    sdist.write_bytes(whole[: len(whole) // 2])  # a download cut short
    with pytest.raises(WheelhouseError, match=r"^cut-1\.0\.tar\.gz is not a readable archive: "):
        metadata.build_requires(sdist)
    wheel = tmp_path / "crc-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("crc-1.0.dist-info/METADATA", "Metadata-Version: 2.4\nName: crc\n")
    wheel.write_bytes(wheel.read_bytes().replace(b"Name: crc", b"Name: CRC"))
    with pytest.raises(WheelhouseError, match=r"^crc-1\.0-py3-none-any\.whl is not a readable "):
        metadata.requires(wheel, is_wheel=True)


def refused_requirement(tmp_path, requirement: str) -> str:
    sdist = tmp_path / "req-1.0.tar.gz"
    sdist.write_bytes(sdist_bytes(sdist.name, [requirement]))
    with pytest.raises(WheelhouseError) as info:
        metadata.requires(sdist, is_wheel=False)
    return str(info.value)


def test_a_requirement_is_shown_in_one_printable_line(tmp_path):
    assert refused_requirement(tmp_path, "flask>=3 x") == (
        "req-1.0.tar.gz: invalid requirement 'flask>=3 x' in its metadata: Expected comma "
        "(within version specifier), semicolon (after version specifier) or end"
    )
    # Valid, but a quoted marker value could reorder what a terminal shows.
    assert refused_requirement(tmp_path, "flask; platform_release == '\u202e6.1'") == (
        "req-1.0.tar.gz: the requirement 'flask; platform_release == \"\\u202e6.1\"' "
        "holds a control or formatting character"
    )

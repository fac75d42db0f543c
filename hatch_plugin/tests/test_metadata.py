"""Reading what distribution files say about themselves, including old and broken ones."""

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

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

"""Names from a lock that become paths or log lines: plain names only, refused
before anything is fetched or written, each in one line."""

import hashlib
import json

import pytest
from distributions import wheel_bytes

from hatch_wheelhouse.config import Config
from hatch_wheelhouse.errors import WheelhouseError
from hatch_wheelhouse.names import shown
from hatch_wheelhouse.wheelhouse import prepare

SHA256 = "0" * 64
NOWHERE = "http://127.0.0.1:9/files"  # never reached: the names are refused first


def write_lock(tmp_path, dist: dict, kind="wheels", version="3.1.3", sha256=SHA256):
    """A lock whose one package, flask, has one file; `dist`'s values are
    written as JSON strings, whose escapes TOML reads the same way."""
    fields = ", ".join(f"{key} = {json.dumps(value)}" for key, value in dist.items())
    entry = f'{{ {fields}, hashes = {{ sha256 = "{sha256}" }} }}'
    text = (
        'lock-version = "1.0"\ncreated-by = "tests"\nrequires-python = ">=3.13"\n\n'
        '[[packages]]\nname = "flask"\n'
        + (f'version = "{version}"\n' if version else "")
        + (f"wheels = [{entry}]\n" if kind == "wheels" else f"sdist = {entry}\n")
    )
    path = tmp_path / "pylock.toml"
    path.write_text(text)
    return path


def build(lock, tmp_path):
    config = Config(lock_file=lock, cache_dir=tmp_path / "cache")
    return prepare(config, ["flask"], {}, tmp_path / "dist", print)


# packaging.pylock takes each of these: a build tag is a digit and then anything.
HOSTILE_WHEELS = {
    "slash-in-build-tag": "flask-3.1.3-1/../../../x-py3-none-any.whl",
    "nul": "flask-3.1.3-1\0-py3-none-any.whl",
    "rtl-override": "flask-3.1.3-1\u202elmth.exe-py3-none-any.whl",
    "kelvin-sign": "flas\u212a-3.1.3-py3-none-any.whl",  # lower() is an ASCII k
    "platform-tag": "flask-3.1.3-py3-none-any\u2028.whl",
}
HOSTILE_SDISTS = {
    "newline": "flask-3.1.3\n.tar.gz",  # Version() strips the whitespace
    "space": "flask-3.1.3 .tar.gz",
    "kelvin-sign": "flas\u212a-3.1.3.tar.gz",
}


@pytest.mark.parametrize("filename", HOSTILE_WHEELS.values(), ids=HOSTILE_WHEELS.keys())
def test_a_wheel_name_that_is_not_plain_is_refused(tmp_path, filename):
    lock = write_lock(tmp_path, {"name": filename, "url": f"{NOWHERE}/x.whl"})
    with pytest.raises(WheelhouseError) as info:
        build(lock, tmp_path)
    message = str(info.value)
    assert message.startswith("pylock.toml: packages[0]: the file name ")
    assert message.endswith("is not a plain name (ASCII letters, digits and ._-+! only)")
    assert message.isprintable() and message.isascii()
    assert not (tmp_path / "cache").exists() and not (tmp_path / "dist").exists()


@pytest.mark.parametrize("filename", HOSTILE_SDISTS.values(), ids=HOSTILE_SDISTS.keys())
def test_an_sdist_name_that_is_not_plain_is_refused(tmp_path, filename):
    lock = write_lock(tmp_path, {"name": filename, "url": f"{NOWHERE}/x.tar.gz"}, kind="sdist")
    with pytest.raises(WheelhouseError, match=r"the file name .* is not a plain name") as info:
        build(lock, tmp_path)
    assert str(info.value).isprintable()


@pytest.mark.parametrize(
    "url",
    [
        f"{NOWHERE}/\u202e/flask-3.1.3-py3-none-any.whl",
        f"{NOWHERE}/\n/flask-3.1.3-py3-none-any.whl",
        "http://alice:s3cret@127.0.0.1:99999/flask-3.1.3-py3-none-any.whl",  # no such port
    ],
    ids=["rtl-override", "newline", "bad-port"],
)
def test_a_url_that_is_not_printable_ascii_is_refused_without_being_shown(tmp_path, url):
    with pytest.raises(WheelhouseError) as info:
        build(write_lock(tmp_path, {"url": url}), tmp_path)
    assert str(info.value) == (
        "pylock.toml: packages[0]: the url of flask-3.1.3-py3-none-any.whl is not a valid URL "
        "of printable ASCII (percent-encode the rest)"
    )


def test_a_path_with_a_control_character_is_refused(tmp_path):
    lock = write_lock(tmp_path, {"path": "files\0/flask-3.1.3-py3-none-any.whl"})
    with pytest.raises(WheelhouseError, match=r"the path of flask-3\.1\.3-py3-none-any\.whl "):
        build(lock, tmp_path)


def test_a_plain_name_with_every_allowed_character_is_taken(tmp_path):
    """Epochs (!), local versions (+) and build tags are plain."""
    filename = "flask-1!3.1.3+local.1-1_b-py3-none-any.whl"
    data = wheel_bytes(filename)
    (tmp_path / filename).write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    build(write_lock(tmp_path, {"path": filename}, version=None, sha256=sha256), tmp_path).commit()
    wheelhouse = tmp_path / "dist" / "wheelhouse" / "dependencies"
    assert (wheelhouse / filename).is_file()
    # A lock may leave a package's version out (PEP 751): the file name gives it.
    assert (wheelhouse / "requirements.txt").read_text().startswith("flask==1!3.1.3+local.1 ")


def test_a_message_shows_hidden_characters_escaped():
    """The last guard, as the hook prints every message: an escape sequence
    cannot clear the screen, nor an override reorder the line."""
    text = "fetched \x1b[2Jx\u202eb.whl\nnext"
    assert shown(text) == "fetched \\x1b[2Jx\\u202eb.whl\\nnext"
    assert shown(text, lines=True) == "fetched \\x1b[2Jx\\u202eb.whl\nnext"

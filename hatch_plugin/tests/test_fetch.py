"""Fetching over HTTP from a local server, credentials, and locks that lie."""

import base64
import contextlib
import hashlib
import http.server
import json
import os
import stat
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
from distributions import wheel_bytes

from hatch_wheelhouse.config import Config
from hatch_wheelhouse.errors import WheelhouseError
from hatch_wheelhouse.wheelhouse import prepare

WHEEL = "flask-3.1.3-py3-none-any.whl"
DATA = wheel_bytes(WHEEL)
SHA256 = hashlib.sha256(DATA).hexdigest()
SECRET = "s3cret-Pa55"  # noqa: S105 (the credential the test server wants)
LOGIN = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()


class Index(http.server.BaseHTTPRequestHandler):
    """/files/ is open, /private/ wants alice's password, /endless/ never stops,
    /short/ promises more than it sends, /to/PATH redirects to PATH on the
    same host, /away/PATH to PATH on another host name for the same server."""

    def do_GET(self):
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        kind, _, rest = self.path[1:].partition("/")
        if kind == "private" and self.headers.get("Authorization") != LOGIN:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.end_headers()
        elif kind in ("files", "private"):
            self.reply(DATA)
        elif kind == "endless":
            self.send_response(200)
            self.end_headers()
            for _ in range(64):  # 64 MiB unless the client stops reading
                self.wfile.write(b"x" * (1 << 20))
        elif kind == "short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(DATA)))
            self.end_headers()
            self.wfile.write(DATA[:5])
        elif kind in ("to", "away"):
            host = "127.0.0.1" if kind == "to" else "localhost"
            self.send_response(302)
            self.send_header("Location", f"http://{host}:{self.server.server_port}/{rest}")
            self.end_headers()
        else:
            self.send_error(404)

    def reply(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass

    def handle(self):
        # The client may stop reading (a download over its declared size).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()


@pytest.fixture(scope="module")
def index():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def lock_for(tmp_path: Path, url: str, sha256: str = SHA256, size: int = len(DATA), name=None):
    """A lock whose one package's wheel is at `url`."""
    named = f'name = "{name}", ' if name else ""
    wheel = f'{{ {named}url = "{url}", size = {size}, hashes = {{ sha256 = "{sha256}" }} }}'
    text = (
        'lock-version = "1.0"\ncreated-by = "tests"\nrequires-python = ">=3.13"\n\n'
        f'[[packages]]\nname = "flask"\nversion = "3.1.3"\nwheels = [{wheel}]\n'
    )
    path = tmp_path / "pylock.toml"
    path.write_text(text)
    return path


def build(lock: Path, tmp_path: Path) -> list[str]:
    """Prepare and commit a wheelhouse; the log lines."""
    messages = []
    config = Config(lock_file=lock, cache_dir=tmp_path / "cache")
    prepare(config, ["flask"], {}, tmp_path / "dist", messages.append).commit()
    return messages


def written(tmp_path: Path) -> str:
    """Everything the build left that a person or a tool might read."""
    house = tmp_path / "dist" / "wheelhouse"
    return "".join(p.read_text() for p in house.rglob("*.*") if p.suffix in (".txt", ".json"))


def url(index, path: str) -> str:
    return f"http://127.0.0.1:{index.server_port}/{path}"


def test_fetches_over_http_into_the_cache(index, tmp_path):
    messages = build(lock_for(tmp_path, url(index, f"files/{WHEEL}")), tmp_path)
    assert (
        messages[0]
        == f"fetched {WHEEL} ({len(DATA) / 1e3:,.0f} kB) from {url(index, f'files/{WHEEL}')}"
    )
    assert (tmp_path / "dist" / "wheelhouse" / "dependencies" / WHEEL).read_bytes() == DATA
    assert (tmp_path / "cache" / SHA256[:2] / SHA256).read_bytes() == DATA


def test_a_download_stops_at_the_declared_size(index, tmp_path):
    with pytest.raises(
        WheelhouseError, match=rf"more than the {len(DATA)} bytes the lock declares; stopped"
    ):
        build(lock_for(tmp_path, url(index, f"endless/{WHEEL}")), tmp_path)
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("path", "error"),
    [
        (f"missing/{WHEEL}", r"could not fetch .*/missing/.*: HTTP Error 404"),
        (f"short/{WHEEL}", rf"/short/.*: 5 bytes, the lock says {len(DATA)}"),
    ],
)
def test_http_failures_are_one_line(index, tmp_path, path, error):
    with pytest.raises(WheelhouseError, match=error) as info:
        build(lock_for(tmp_path, url(index, path)), tmp_path)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "dist" / "wheelhouse").exists()


def test_credentials_in_the_url_are_used_and_never_shown(index, tmp_path):
    private = f"http://alice:{SECRET}@127.0.0.1:{index.server_port}/private/{WHEEL}"
    messages = build(lock_for(tmp_path, private), tmp_path)
    assert (tmp_path / "dist" / "wheelhouse" / "dependencies" / WHEEL).read_bytes() == DATA
    assert SECRET not in "".join(messages) + written(tmp_path)
    assert f"http://***@127.0.0.1:{index.server_port}/private/{WHEEL}" in messages[0]


def test_wrong_credentials_fail_without_showing_them(index, tmp_path):
    private = f"http://alice:wrong-{SECRET}@127.0.0.1:{index.server_port}/private/{WHEEL}"
    with pytest.raises(WheelhouseError, match="HTTP Error 401") as info:
        build(lock_for(tmp_path, private), tmp_path)
    assert SECRET not in str(info.value) and "***@" in str(info.value)


def test_netrc_gives_the_credentials(index, tmp_path, monkeypatch):
    lock = lock_for(tmp_path, url(index, f"private/{WHEEL}"))
    monkeypatch.setenv("NETRC", str(tmp_path / "missing-netrc"))
    with pytest.raises(WheelhouseError, match="HTTP Error 401"):
        build(lock, tmp_path)
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login alice password {SECRET}\n")
    monkeypatch.setenv("NETRC", str(netrc))
    build(lock, tmp_path)
    assert SECRET not in written(tmp_path)


def test_credentials_follow_a_redirect_on_the_same_host_only(index, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login alice password {SECRET}\n")
    monkeypatch.setenv("NETRC", str(netrc))
    build(lock_for(tmp_path, url(index, f"to/private/{WHEEL}")), tmp_path)
    assert (f"/private/{WHEEL}", LOGIN) in index.seen
    (tmp_path / "cache").rename(tmp_path / "cache-before")
    build(lock_for(tmp_path, url(index, f"away/files/{WHEEL}")), tmp_path)
    assert (f"/away/files/{WHEEL}", LOGIN) in index.seen
    assert (f"/files/{WHEEL}", None) in index.seen  # at localhost: no credentials


@pytest.mark.parametrize(
    "sha256", ["../../../../etc/hostname", SHA256[:63], SHA256 + "0", "z" * 64, ""]
)
def test_a_sha256_that_is_not_64_hex_digits_is_refused(index, tmp_path, sha256):
    with pytest.raises(WheelhouseError, match="is not 64 hexadecimal digits"):
        build(lock_for(tmp_path, url(index, f"files/{WHEEL}"), sha256=sha256), tmp_path)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "dist" / "wheelhouse").exists()


def test_an_uppercase_sha256_is_read_as_lowercase(index, tmp_path):
    build(lock_for(tmp_path, url(index, f"files/{WHEEL}"), sha256=SHA256.upper()), tmp_path)
    assert f"--hash=sha256:{SHA256}" in written(tmp_path)


def test_a_file_name_with_a_path_is_refused(index, tmp_path):
    lock = lock_for(tmp_path, url(index, f"files/{WHEEL}"), name=f"../../{WHEEL}")
    with pytest.raises(WheelhouseError, match="not a valid PEP 751 lock: Invalid wheel filename"):
        build(lock, tmp_path)
    assert not list(tmp_path.rglob(WHEEL))


def test_wheelhouse_mode_follows_the_umask(index, tmp_path):
    previous = os.umask(0o022)
    try:
        build(lock_for(tmp_path, url(index, f"files/{WHEEL}")), tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "dist" / "wheelhouse").stat().st_mode) == 0o755


def test_leftovers_of_killed_builds_are_removed(index, tmp_path):
    dist = tmp_path / "dist"
    (dist / ".wheelhouse-k1ll3d").mkdir(parents=True)
    (dist / ".wheelhouse-k1ll3d" / WHEEL).write_bytes(DATA)
    folder = tmp_path / "cache" / SHA256[:2]
    folder.mkdir(parents=True)
    old, young = folder / ".part-old", folder / ".part-young"
    old.write_bytes(b"cut"), young.write_bytes(b"being written")
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    build(lock_for(tmp_path, url(index, f"files/{WHEEL}")), tmp_path)
    assert sorted(p.name for p in dist.iterdir()) == [".wheelhouse.lock", "wheelhouse"]
    assert sorted(p.name for p in folder.iterdir()) == [".part-young", SHA256]


def test_manifest_names_the_url_without_credentials(index, tmp_path):
    private = f"http://alice:{SECRET}@127.0.0.1:{index.server_port}/private/{WHEEL}"
    build(lock_for(tmp_path, private), tmp_path)
    manifest = json.loads((tmp_path / "dist" / "wheelhouse" / "manifest.json").read_text())
    [entry] = manifest["files"][:1]
    assert entry["origin"] == f"http://***@127.0.0.1:{index.server_port}/private/{WHEEL}"


def test_keyring_gives_the_credentials_when_installed(index, tmp_path, monkeypatch):
    import keyring  # in the test group: the plugin uses it when a project has it
    from keyring.backend import KeyringBackend
    from keyring.credentials import SimpleCredential

    class Vault(KeyringBackend):
        """A keyring backend holding one password, as a team's would."""

        priority = 1
        asked: ClassVar[list[str]] = []

        def get_credential(self, service, username):
            self.asked.append(service)
            host = f"127.0.0.1:{index.server_port}"
            return SimpleCredential("alice", SECRET) if service == host else None

        def get_password(self, service, username):
            return None

        def set_password(self, service, username, password):
            raise NotImplementedError

        def delete_password(self, service, username):
            raise NotImplementedError

    monkeypatch.setenv("NETRC", str(tmp_path / "missing-netrc"))
    previous = keyring.get_keyring()
    keyring.set_keyring(Vault())
    try:
        build(lock_for(tmp_path, url(index, f"private/{WHEEL}")), tmp_path)
        assert Vault.asked == [f"127.0.0.1:{index.server_port}"]
        # An open index answers without a 401: keyring is not asked.
        (tmp_path / "cache").rename(tmp_path / "cache-before")
        build(lock_for(tmp_path, url(index, f"files/{WHEEL}")), tmp_path)
        assert len(Vault.asked) == 1
    finally:
        keyring.set_keyring(previous)
    assert (tmp_path / "dist" / "wheelhouse" / "dependencies" / WHEEL).read_bytes() == DATA

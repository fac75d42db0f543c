"""Fetching over HTTP from a local server, credentials, and locks that lie."""

import base64
import contextlib
import hashlib
import http.server
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
import time
import urllib.parse
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
SIZE = len(DATA)
SECRET = "s3cret-Pa55"  # noqa: S105 (the credential the test server wants)
LOGIN = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()


class Index(http.server.BaseHTTPRequestHandler):
    """/files/ is open, /private/ wants alice's password, /endless/ never stops,
    /short/ promises more than it sends, /to/PATH redirects to PATH on the
    same host, /away/PATH to PATH on another host name for the same server,
    /redirect/URL (quoted) to URL, /loop/ to itself; /trickle/ sends its body
    and /slow-headers/ its headers a byte every 0.1 s; /garbled/ answers with a
    reason phrase holding a terminal escape. A request through it as a proxy
    (absolute URL) is served the same way."""

    def do_GET(self):
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        kind, _, rest = urllib.parse.urlsplit(self.path).path[1:].partition("/")
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
        elif kind in ("to", "away", "redirect", "loop"):
            host = "localhost" if kind == "away" else "127.0.0.1"
            location = f"{self.server.scheme}://{host}:{self.server.server_port}/{rest}"
            if kind == "redirect":
                location = urllib.parse.unquote(rest)
            elif kind == "loop":
                location = self.path
            self.send_response(302)
            self.send_header("Location", location)
            self.end_headers()
        elif kind == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", str(len(DATA)))
            self.end_headers()
            self.dribble(DATA)
        elif kind == "slow-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.dribble(b"X-Slow: " + b"z" * 600)
        elif kind == "garbled":
            self.send_response(500, "Broken\x1b[2J")
            self.end_headers()
        else:
            self.send_error(404)

    def reply(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def dribble(self, data: bytes) -> None:
        """One byte every 0.1 s: each resets a read timeout, none finishes soon."""
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            time.sleep(0.1)

    def log_message(self, *args):  # quiet
        pass

    def handle(self):
        # The client may stop reading (a download over its declared size).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
            super().handle()


def serve(context: ssl.SSLContext | None = None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    server.seen, server.scheme = [], "https" if context else "http"
    if context:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def index():
    server = serve()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def tls_index(tmp_path_factory):
    """The same index over https, with a certificate made for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    openssl = shutil.which("openssl")
    if openssl is None:  # skipped here and there, never in CI (.ci/provision installs it)
        (pytest.fail if os.environ.get("CI") else pytest.skip)("openssl makes the certificate")
    key_type = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [openssl, "req", "-x509", *key_type, *subject, "-days", "2", "-keyout", key, "-out", cert],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = serve(context)
    server.cert = cert
    yield server
    server.shutdown()


@pytest.fixture
def trust(tls_index, monkeypatch):
    """Clients trust the https index (and nothing else)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_index.cert))
    return tls_index


def lock_for(tmp_path: Path, url=None, sha256=SHA256, size=SIZE, name=WHEEL, path=None) -> Path:
    """A lock whose one package's wheel is at `url` (or `path`); size None: not given."""
    fields = {"name": name, "url": url, "path": path, "size": size}
    given = "".join(f"{key} = {json.dumps(value)}, " for key, value in fields.items() if value)
    wheel = f'{{ {given}hashes = {{ sha256 = "{sha256}" }} }}'
    text = (
        'lock-version = "1.0"\ncreated-by = "tests"\nrequires-python = ">=3.13"\n\n'
        f'[[packages]]\nname = "flask"\nversion = "3.1.3"\nwheels = [{wheel}]\n'
    )
    path = tmp_path / "pylock.toml"
    path.write_text(text)
    return path


def build(lock: Path, tmp_path: Path, **options) -> list[str]:
    """Prepare and commit a wheelhouse; the log lines."""
    messages = []
    config = Config(lock_file=lock, cache_dir=tmp_path / "cache", **options)
    prepare(config, ["flask"], {}, tmp_path / "dist", messages.append).commit()
    return messages


def written(tmp_path: Path) -> str:
    """Everything the build left that a person or a tool might read."""
    house = tmp_path / "dist" / "wheelhouse"
    return "".join(p.read_text() for p in house.rglob("*.*") if p.suffix in (".txt", ".json"))


def url(index, path: str) -> str:
    return f"{index.scheme}://127.0.0.1:{index.server_port}/{path}"


def netrc_file(tmp_path: Path, monkeypatch, text: str, mode: int = 0o600) -> Path:
    netrc = tmp_path / "netrc"
    netrc.write_text(text)
    netrc.chmod(mode)
    monkeypatch.setenv("NETRC", str(netrc))
    return netrc


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
    netrc_file(tmp_path, monkeypatch, f"machine 127.0.0.1 login alice password {SECRET}\n")
    build(lock, tmp_path)
    assert SECRET not in written(tmp_path)


def test_credentials_follow_a_redirect_on_the_same_host_only(index, tmp_path, monkeypatch):
    netrc_file(tmp_path, monkeypatch, f"machine 127.0.0.1 login alice password {SECRET}\n")
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


# A download's cost is bounded: its size and its time.


def test_a_download_without_a_declared_size_stops_at_max_download_bytes(index, tmp_path):
    lock = lock_for(tmp_path, url(index, f"endless/{WHEEL}"), size=None)
    with pytest.raises(WheelhouseError) as info:
        build(lock, tmp_path, max_download_bytes=1 << 20)
    assert str(info.value) == (
        f"{WHEEL} from {url(index, f'endless/{WHEEL}')}: more than 1,048,576 bytes "
        "(max-download-bytes) and the lock gives no size; stopped"
    )
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_a_local_file_stops_at_the_declared_size_too(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / WHEEL).write_bytes(DATA + b"x" * (2 << 20))
    lock = lock_for(tmp_path, path=f"files/{WHEEL}")
    with pytest.raises(WheelhouseError, match=f"size does not match, the lock says {len(DATA)}$"):
        build(lock, tmp_path)


@pytest.mark.parametrize("path", [f"trickle/{WHEEL}", f"slow-headers/{WHEEL}"])
def test_a_trickling_server_is_cut_at_the_download_timeout(index, tmp_path, path):
    start = time.monotonic()
    with pytest.raises(WheelhouseError) as info:
        build(lock_for(tmp_path, url(index, path)), tmp_path, download_timeout=1)
    assert time.monotonic() - start < 5
    assert str(info.value) == (
        f"{WHEEL} from {url(index, path)}: not received within 1 s (download-timeout); stopped"
    )


def test_the_download_timeout_cuts_https_too(trust, tmp_path):
    start = time.monotonic()
    with pytest.raises(WheelhouseError, match=r"not received within 0\.5 s"):
        build(lock_for(tmp_path, url(trust, f"trickle/{WHEEL}")), tmp_path, download_timeout=0.5)
    assert time.monotonic() - start < 5


def test_fetches_over_https(trust, tmp_path):
    build(lock_for(tmp_path, url(trust, f"to/files/{WHEEL}")), tmp_path)
    assert (tmp_path / "dist" / "wheelhouse" / "dependencies" / WHEEL).read_bytes() == DATA


# Redirects go to http(s) only, and never from https down to http.


@pytest.fixture
def listener():
    """A port where nothing answers: it only counts who connects."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(0.2)
        yield sock


def connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
    except TimeoutError:
        return False
    return True


@pytest.mark.parametrize("scheme", ["ftp", "file", "data", "gopher"])
def test_a_redirect_to_another_scheme_is_refused(index, tmp_path, listener, scheme):
    port = listener.getsockname()[1]
    target = {"file": "file:///etc/passwd", "data": "data:,hello"}.get(
        scheme, f"{scheme}://127.0.0.1:{port}/{WHEEL}"
    )
    path = "redirect/" + urllib.parse.quote(target, safe="")
    with pytest.raises(WheelhouseError) as info:
        build(lock_for(tmp_path, url(index, path)), tmp_path)
    assert str(info.value).endswith("only https and http are supported")
    assert f"redirects to {target}" in str(info.value)
    assert not connected(listener)


def test_a_redirect_from_https_to_http_is_refused(trust, index, tmp_path):
    seen = len(index.seen)
    path = "redirect/" + urllib.parse.quote(url(index, f"files/{WHEEL}"), safe="")
    with pytest.raises(WheelhouseError, match="from https to plain http is refused"):
        build(lock_for(tmp_path, url(trust, path)), tmp_path)
    assert len(index.seen) == seen


def test_a_redirect_loop_is_one_line(index, tmp_path):
    with pytest.raises(WheelhouseError, match="HTTP Error 302") as info:
        build(lock_for(tmp_path, url(index, f"loop/{WHEEL}")), tmp_path)
    assert "\n" not in str(info.value)


def test_a_servers_reason_phrase_reaches_no_terminal_raw(index, tmp_path):
    with pytest.raises(WheelhouseError, match="HTTP Error 500: Broken") as info:
        build(lock_for(tmp_path, url(index, f"garbled/{WHEEL}")), tmp_path)
    assert "\x1b" not in str(info.value)


# Secrets in URLs reach no message, log line or manifest.json.

TOKEN = "t0ken-0f-Bob"  # noqa: S105


def test_a_token_in_the_query_is_never_shown(index, tmp_path):
    lock = lock_for(tmp_path, url(index, f"files/{WHEEL}?private_token={TOKEN}&x"))
    messages = build(lock, tmp_path)
    assert TOKEN not in "".join(messages) + written(tmp_path)
    assert messages[0].endswith(f"/files/{WHEEL}?private_token=***&***")
    missing = lock_for(tmp_path, url(index, f"missing/{WHEEL}?private_token={TOKEN}"))
    with pytest.raises(WheelhouseError, match="HTTP Error 404") as info:
        build(missing, tmp_path / "again")
    assert TOKEN not in str(info.value) and "private_token=***" in str(info.value)


@pytest.mark.parametrize("userinfo", [f"alice:pa/{SECRET}", f"alice:pa?{SECRET}", f"{SECRET}#x"])
def test_a_url_with_malformed_userinfo_is_refused_unshown(index, tmp_path, userinfo):
    seen = len(index.seen)
    private = f"http://{userinfo}@127.0.0.1:{index.server_port}/private/{WHEEL}"
    # Refused where the lock is read (the URL unshown) or before the request
    # (shown redacted), by how far urllib gets with it.
    with pytest.raises(WheelhouseError, match="percent-encode") as info:
        build(lock_for(tmp_path, private), tmp_path)
    assert SECRET not in str(info.value)
    assert len(index.seen) == seen  # nothing was sent anywhere


def test_a_netrc_syntax_error_does_not_quote_the_file(index, tmp_path, monkeypatch):
    netrc = netrc_file(tmp_path, monkeypatch, f"machine 127.0.0.1 login alice {SECRET}\n")
    with pytest.raises(WheelhouseError) as info:
        build(lock_for(tmp_path, url(index, f"private/{WHEEL}")), tmp_path)
    assert str(info.value).startswith(f"cannot read the netrc file {netrc}: syntax error on line")
    assert SECRET not in str(info.value)


# netrc: only the user's own file, only machine entries, only over https or loopback.


def test_a_netrc_others_can_read_is_refused(index, tmp_path, monkeypatch):
    netrc = netrc_file(tmp_path, monkeypatch, "machine 127.0.0.1 login a password b\n", 0o644)
    with pytest.raises(WheelhouseError) as info:
        build(lock_for(tmp_path, url(index, f"private/{WHEEL}")), tmp_path)
    assert str(info.value) == (
        f"the netrc file {netrc} is open to other users (mode 644): run chmod 600 {netrc}"
    )
    # Refused only where it would be used: another host's download goes on.
    build(lock_for(tmp_path, f"http://localhost:{index.server_port}/files/{WHEEL}"), tmp_path)


def test_a_netrc_of_another_user_is_refused(index, tmp_path, monkeypatch):
    if os.getuid() == 0:
        netrc = netrc_file(tmp_path, monkeypatch, "machine 127.0.0.1 login a password b\n")
        os.chown(netrc, 65534, -1)
    else:  # a file root owns
        monkeypatch.setenv("NETRC", "/etc/passwd")
    with pytest.raises(WheelhouseError, match=r"belongs to another user \(uid \d+\)"):
        build(lock_for(tmp_path, url(index, f"private/{WHEEL}")), tmp_path)


def test_a_netrc_default_entry_is_never_sent(index, tmp_path, monkeypatch):
    netrc_file(tmp_path, monkeypatch, f"default login alice password {SECRET}\n")
    with pytest.raises(WheelhouseError, match="HTTP Error 401"):
        build(lock_for(tmp_path, url(index, f"private/{WHEEL}")), tmp_path)
    assert index.seen[-1] == (f"/private/{WHEEL}", None)


@pytest.fixture
def remote(index, monkeypatch):
    """http://index.example/ reached through the test server as a proxy: a
    host that is not this machine, as far as the client can tell."""
    for variable in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{index.server_port}")
    return "index.example"


def test_netrc_credentials_never_go_over_plain_http(index, remote, tmp_path, monkeypatch):
    netrc_file(tmp_path, monkeypatch, f"machine {remote} login alice password {SECRET}\n")
    with pytest.raises(WheelhouseError) as info:
        build(lock_for(tmp_path, f"http://{remote}/private/{WHEEL}"), tmp_path)
    assert str(info.value) == (
        f"could not fetch http://{remote}/private/{WHEEL}: HTTP Error 401 "
        "(credentials are sent only over https, or to this machine)"
    )
    assert index.seen[-1] == (f"http://{remote}/private/{WHEEL}", None)
    build(lock_for(tmp_path, f"http://{remote}/files/{WHEEL}"), tmp_path)  # open: fine


def test_a_plain_http_url_with_credentials_is_refused(index, remote, tmp_path):
    seen = len(index.seen)
    with pytest.raises(WheelhouseError, match="unencrypted over plain http; use https") as info:
        build(lock_for(tmp_path, f"http://alice:{SECRET}@{remote}/private/{WHEEL}"), tmp_path)
    assert SECRET not in str(info.value)
    assert len(index.seen) == seen


# Local files: a lock's paths stay in the project; file: URLs only when allowed.


@pytest.fixture
def project(tmp_path):
    """A project folder, with a file (and a symlink to it) outside it."""
    (tmp_path / "outside.whl").write_bytes(DATA)
    root = tmp_path / "project"
    (root / "files").mkdir(parents=True)
    (root / "files" / WHEEL).symlink_to(tmp_path / "outside.whl")
    return root


def digest_of(path: str) -> tuple[str, str]:
    data = Path(path).read_bytes()
    return hashlib.sha256(data).hexdigest(), str(len(data))


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.whl", f"files/{WHEEL}"])
def test_a_lock_path_outside_the_project_is_refused(project, path):
    lock = lock_for(project, path=path)
    with pytest.raises(WheelhouseError, match="is outside the project") as info:
        build(lock, project)
    for secret in digest_of("/etc/passwd"):
        assert secret not in str(info.value)


@pytest.mark.parametrize("path", ["files/\u0000x", "files/loop"])
def test_a_lock_path_that_cannot_be_resolved_is_one_line(project, path):
    (project / "files" / "loop").symlink_to("loop")
    with pytest.raises(WheelhouseError, match=r"cannot be resolved|is not a file|control"):
        build(lock_for(project, path=path), project)


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ"])
def test_file_urls_need_the_project_to_allow_them(tmp_path, target):
    lock = lock_for(tmp_path, f"file://{target}", sha256="0" * 64, size=7)
    with pytest.raises(WheelhouseError, match="set allow-file-urls = true"):
        build(lock, tmp_path)
    with pytest.raises(WheelhouseError, match=r"size does not match, the lock says 7$") as info:
        build(lock, tmp_path, allow_file_urls=True)
    assert Path(target).stat().st_size == 0 or digest_of(target)[1] not in str(info.value)


def test_a_mismatch_of_a_local_file_does_not_show_its_hash(tmp_path):
    lock = lock_for(tmp_path, "file:///etc/passwd", sha256="0" * 64, size=None)
    with pytest.raises(
        WheelhouseError, match=r"sha256 does not match, the lock says 0{64}$"
    ) as info:
        build(lock, tmp_path, allow_file_urls=True)
    assert digest_of("/etc/passwd")[0] not in str(info.value)


def test_a_file_url_inside_the_project_needs_no_permission(project):
    """uv locks a vendored sdist (a path dependency) as an absolute file: URL."""
    (project / "vendor").mkdir()
    (project / "vendor" / WHEEL).write_bytes(DATA)
    build(lock_for(project, (project / "vendor" / WHEEL).as_uri()), project)
    assert (project / "dist" / "wheelhouse" / "dependencies" / WHEEL).read_bytes() == DATA


def test_an_allowed_file_url_is_read(project):
    build(
        lock_for(project, (project.parent / "outside.whl").as_uri()), project, allow_file_urls=True
    )
    assert (project / "dist" / "wheelhouse" / "dependencies" / WHEEL).read_bytes() == DATA


@pytest.mark.parametrize("file_url", ["file:///dev/zero", "file://elsewhere/etc/hostname"])
def test_a_file_url_must_name_a_regular_local_file(tmp_path, file_url):
    with pytest.raises(WheelhouseError, match="is not a regular file on this machine"):
        build(lock_for(tmp_path, file_url, size=None), tmp_path, allow_file_urls=True)

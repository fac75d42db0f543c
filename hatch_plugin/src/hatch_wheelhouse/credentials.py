"""Fetching locked URLs, over https or http only: credentials from the URL
itself, netrc ($NETRC or ~/.netrc) or keyring (when installed), in that order.

A credential goes only into an Authorization header, only over https or to
this machine (loopback), and follows a redirect within the same scheme, host
and port but never to another one (a CDN). It never goes into a message, a log
line or manifest.json: those show every URL through `redact`. A download's
connections are cut when its Deadline passes.
"""

import base64
import contextlib
import http.client
import ipaddress
import netrc
import os
import re
import socket
import stat
import string
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .errors import WheelhouseError

READ_TIMEOUT = 60  # seconds without a byte before a read fails
# One name=value (or bare value) of a query or fragment.
_PARAMETER = re.compile(r"([?#&;])([^?#&;=]*)(=?)[^?#&;]*")


def redact(url: str) -> str:
    """A URL as any message, log line or manifest.json shows it: user and
    password replaced by ***@, and every value of its query and fragment by ***.
    Everything before the last "@" counts as the user and password, so one with
    an unescaped "/" (`user:pa/ss@host`) is hidden too."""
    # Percent-encoded like urllib does: no control character reaches a terminal.
    url = urllib.parse.quote(url, safe=string.punctuation)
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    _, at, rest = rest.rpartition("@")
    head, tail = re.match(r"([^?#]*)(.*)", rest).groups()

    def hide(m: re.Match) -> str:
        return m[1] + (m[2] + "=***" if m[3] else "***" if m[2] else "")

    return scheme + sep + ("***@" if at else "") + head + _PARAMETER.sub(hide, tail)


def _problem(url: str) -> str | None:
    """Why an http(s) URL is refused, if it is. A URL whose parts could be
    misread is: with an unescaped "/", "?" or "#" in a password, urllib would
    send the rest of it as a host name (to DNS) or a path."""
    if re.search(r"[^!-~]", url):
        return "a space, control or non-ASCII character must be percent-encoded"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = None
    if parts and parts.scheme not in ("https", "http"):
        return "only https and http are supported"
    if not parts or not parts.hostname or "@" in parts.path + parts.query + parts.fragment:
        return (
            "malformed host or port (a '/', '?', '#' or '@' in a user name or password "
            "must be percent-encoded)"
        )
    return None


def _secure(parts: urllib.parse.SplitResult) -> bool:
    """Whether credentials may go to this URL: over https, or to this machine."""
    if parts.scheme == "https" or parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def open_url(url: str, deadline: "Deadline"):
    """urlopen, with the credentials the URL or netrc give for its host; keyring
    is asked only when the server answers 401 (as pip does: a lookup can be slow,
    or fail on a machine with no keyring backend)."""
    if problem := _problem(url):
        raise WheelhouseError(f"refused URL {redact(url)}: {problem}")
    parts = urllib.parse.urlsplit(url)
    secure = _secure(parts)
    if parts.username is not None:
        if not secure:
            raise WheelhouseError(
                f"refused URL {redact(url)}: its credentials would cross the network "
                "unencrypted over plain http; use https"
            )
        login = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
    else:
        login = _from_netrc(parts.hostname) if secure else None
    plain = urllib.parse.urlunsplit(parts._replace(netloc=_host(parts)))
    try:
        return _open(plain, login, deadline)
    except urllib.error.HTTPError as exc:
        if exc.code != 401 or login is not None:
            raise
        exc.close()
        if not secure:
            raise WheelhouseError(
                f"could not fetch {redact(url)}: HTTP Error 401 (credentials are sent "
                "only over https, or to this machine)"
            ) from None
        retry = _from_keyring(_host(parts))
        if not retry:
            raise
        return _open(plain, retry, deadline)


def _open(url: str, login: tuple[str, str] | None, deadline: "Deadline"):
    request = urllib.request.Request(url)  # noqa: S310 (scheme checked by open_url)
    if login:
        token = base64.b64encode(":".join(login).encode()).decode()
        request.add_unredirected_header("Authorization", f"Basic {token}")
    # Only http and https handlers: no file:, ftp: or data: URL opens, whatever
    # a redirect says.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        _Redirects(),
        _HTTPHandler(deadline),
        _HTTPSHandler(deadline),
    ):
        opener.add_handler(handler)
    return opener.open(request, timeout=min(READ_TIMEOUT, max(deadline.remaining, 0.001)))


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a well-formed https or http URL, never from
    https to http, and keeps the credentials only within the same scheme, host
    and port."""

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("location") or headers.get("uri")
        if location:
            # Quoted as urllib does before it follows one.
            quoted = urllib.parse.quote(location, encoding="iso-8859-1", safe=string.punctuation)
            new = urllib.parse.urljoin(req.full_url, quoted)
            problem = _problem(new)
            if not problem and urllib.parse.urlsplit(new).username is not None:
                problem = "credentials in a redirect are refused"
            if not problem and (req.type, urllib.parse.urlsplit(new).scheme) == ("https", "http"):
                problem = "a redirect from https to plain http is refused"
            if problem:
                fp.close()
                raise WheelhouseError(
                    f"{redact(req.full_url)} redirects to {redact(new)}: {problem}"
                )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        auth = req.unredirected_hdrs.get("Authorization")
        if new is not None and auth and _origin(newurl) == _origin(req.full_url):
            new.add_unredirected_header("Authorization", auth)
        return new


class Deadline:
    """The time one download may take, redirects included. When it passes, the
    download's connections are shut down: a server that trickles its headers or
    its body (each byte restarting the read timeout) cannot hold a build."""

    def __init__(self, seconds: float):
        seconds = min(seconds, threading.TIMEOUT_MAX)
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    @property
    def remaining(self) -> float:
        return self._end - time.monotonic()

    @property
    def passed(self) -> bool:
        return self.remaining <= 0

    def watch(self, sock: socket.socket) -> None:
        # A duplicate: TLS wraps the socket it is given and detaches it.
        duplicate = socket.fromfd(sock.fileno(), sock.family, sock.type)
        with self._lock:
            self._sockets.append(duplicate)
        if self.passed:  # the timer may have fired before this connection existed
            self._expire()

    def _expire(self) -> None:
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # a blocked read returns at once


class _Connection(http.client.HTTPConnection):
    deadline: Deadline

    def connect(self):
        super().connect()
        self.deadline.watch(self.sock)


class _TLSConnection(http.client.HTTPSConnection, _Connection):
    """HTTPSConnection.connect calls _Connection.connect (next in this class's
    MRO) before its handshake: the deadline covers the handshake too."""


class _Watched:
    """A handler whose connections are watched by the download's deadline."""

    connection: type[_Connection]

    def __init__(self, deadline: Deadline):
        super().__init__()
        self.deadline = deadline

    def do_open(self, http_class, req, **kwargs):
        def connection(*args, **options):
            made = self.connection(*args, **options)
            made.deadline = self.deadline
            return made

        return super().do_open(connection, req, **kwargs)


class _HTTPHandler(_Watched, urllib.request.HTTPHandler):
    connection = _Connection


class _HTTPSHandler(_Watched, urllib.request.HTTPSHandler):
    connection = _TLSConnection


def _host(parts: urllib.parse.SplitResult) -> str:
    return parts.netloc.rpartition("@")[2]


def _origin(url: str) -> tuple:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _from_netrc(host: str | None) -> tuple[str, str] | None:
    """The login of the netrc's `machine` entry for host. A `default` entry is
    never used: it would hand its password to whatever host a lock names."""
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WheelhouseError(f"cannot read the netrc file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):  # /dev/zero, a FIFO: a read that never ends
        raise WheelhouseError(f"the netrc file {path} is not a regular file")
    try:
        hosts = netrc.netrc(str(path)).hosts
    except netrc.NetrcParseError as exc:
        # Its message quotes the offending token, which may be a password.
        raise WheelhouseError(
            f"cannot read the netrc file {path}: syntax error on line {exc.lineno}"
        ) from None
    except OSError as exc:
        raise WheelhouseError(f"cannot read the netrc file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise WheelhouseError(f"cannot read the netrc file {path}: it is not text") from None
    entry = hosts.get(host) if host and host != "default" else None
    if entry is None:
        return None
    # As ssh does with keys: a password others can read, or could have put
    # there, is not used.
    if os.name == "posix" and info.st_uid != os.getuid():
        raise WheelhouseError(
            f"the netrc file {path} belongs to another user (uid {info.st_uid}): "
            "use one of your own (NETRC names it)"
        )
    if os.name == "posix" and info.st_mode & 0o077:
        raise WheelhouseError(
            f"the netrc file {path} is open to other users "
            f"(mode {stat.S_IMODE(info.st_mode):o}): run chmod 600 {path}"
        )
    return entry[0], entry[2] or ""


def _from_keyring(host: str) -> tuple[str, str] | None:
    try:
        import keyring  # optional: only where the team installed it
    except ImportError:
        return None
    try:
        credential = keyring.get_credential(host, None)
    except Exception:  # no usable backend is the same as no credential
        return None
    return (credential.username, credential.password) if credential else None

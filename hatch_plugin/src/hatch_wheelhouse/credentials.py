"""Fetching locked URLs from a private index: credentials from the URL itself,
netrc ($NETRC or ~/.netrc) or keyring (when installed), in that order.

A credential goes only into an Authorization header, which follows a redirect
on the same host but never to another one (a CDN), and never into a message,
a log line or manifest.json: those show the URL through `redact`.
"""

import base64
import netrc
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .errors import WheelhouseError


def redact(url: str) -> str:
    """The URL with any user and password replaced by ***."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + _host(parts)))


def open_url(url: str, timeout: float):
    """urlopen, with the credentials the URL or netrc give for its host; keyring
    is asked only when the server answers 401 (as pip does: a lookup can be slow,
    or fail on a machine with no keyring backend)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http", "file"):
        raise WheelhouseError(f"unsupported URL scheme: {redact(url)}")
    if parts.username is not None:
        login = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
    else:
        login = _from_netrc(parts.hostname)
    plain = urllib.parse.urlunsplit(parts._replace(netloc=_host(parts)))
    try:
        return _open(plain, login, timeout)
    except urllib.error.HTTPError as exc:
        retry = exc.code == 401 and login is None and _from_keyring(_host(parts))
        if not retry:
            raise
        exc.close()
        return _open(plain, retry, timeout)


def _open(url: str, login: tuple[str, str] | None, timeout: float):
    request = urllib.request.Request(url)  # noqa: S310 (scheme checked by open_url)
    if login:
        token = base64.b64encode(":".join(login).encode()).decode()
        request.add_unredirected_header("Authorization", f"Basic {token}")
    return urllib.request.build_opener(_SameHostRedirect).open(request, timeout=timeout)


class _SameHostRedirect(urllib.request.HTTPRedirectHandler):
    """Keeps the credentials on a redirect within the same scheme, host and port."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        auth = req.unredirected_hdrs.get("Authorization")
        if new is not None and auth and _origin(newurl) == _origin(req.full_url):
            new.add_unredirected_header("Authorization", auth)
        return new


def _host(parts: urllib.parse.SplitResult) -> str:
    return parts.netloc.rpartition("@")[2]


def _origin(url: str) -> tuple:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _from_netrc(host: str | None) -> tuple[str, str] | None:
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    try:
        entry = netrc.netrc(str(path)).authenticators(host or "")
    except FileNotFoundError:
        return None
    except (netrc.NetrcParseError, OSError) as exc:
        raise WheelhouseError(f"cannot read the netrc file {path}: {exc}") from None
    return (entry[0], entry[2] or "") if entry else None


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

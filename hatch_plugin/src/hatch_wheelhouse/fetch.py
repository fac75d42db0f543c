"""Getting locked files into a content-addressed cache, every byte hash-checked.

A file is stored under its sha256, so the cache never needs invalidating:
once a file is there, builds work offline. A file leaves the cache only by a
copy that hashes the bytes it writes, so what lands in a wheelhouse is what
was checked, whatever happens to the cache meanwhile. Every transfer into the
cache, local or downloaded, goes through Cache._receive, which bounds its
bytes and its time.
"""

import errno
import hashlib
import http.client
import os
import shutil
import stat
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_cache_dir

from .config import SECTION, Config
from .credentials import Deadline, open_url, redact
from .errors import WheelhouseError
from .lock import LockedFile

CHUNK = 1 << 20
# A partial download older than this was left by a killed build: another
# build sharing the cache may be writing a younger one.
ABANDONED_AFTER = 3600


def default_cache_dir() -> Path:
    return Path(user_cache_dir("hatch-wheelhouse")) / "sha256"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def remove_abandoned(folder: Path, pattern: str, older_than: float) -> None:
    """Delete what killed builds left behind (files or folders)."""
    now = time.time()
    for leftover in folder.glob(pattern):
        try:
            if now - leftover.stat().st_mtime < older_than:
                continue
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        except FileNotFoundError:  # removed by another build meanwhile
            continue


class Cache:
    def __init__(self, root: Path, config: Config):
        self.root = root
        self.config = config
        # A lock's paths stay inside this folder, once resolved (no "..", no symlink out).
        self.project = (config.project_dir or config.lock_file.parent).resolve()

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def copy(self, file: LockedFile, destination: Path, log: Callable[[str], None]) -> str:
        """Write `file` to `destination` from the cache, fetching it first if
        needed, and say where it came from."""
        cached = self.path_for(file.sha256)
        origin = "cache"
        if not cached.exists():
            origin = self._fetch(file, log)
        digest = hashlib.sha256()
        with self._open_cached(file, cached) as stream, destination.open("wb") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != file.sha256:
            destination.unlink()
            raise WheelhouseError(
                f"cached {file.filename} at {cached} is corrupt or tampered with: "
                f"sha256 {digest.hexdigest()}, lock says {file.sha256}; delete it to fetch it again"
            )
        return origin

    @staticmethod
    def _open_cached(file: LockedFile, cached: Path):
        """The cached file, opened only if it is a regular one: a FIFO would hang
        the build, a symlink lead anywhere (/dev/zero: a copy without end)."""
        refused = WheelhouseError(
            f"cached {file.filename} at {cached} is not a regular file; delete it to fetch it again"
        )
        try:
            # O_NONBLOCK: opening a FIFO does not wait for a writer (and reads
            # from a regular file ignore it).
            fd = os.open(cached, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
                raise refused from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise refused
        return os.fdopen(fd, "rb")

    def _fetch(self, file: LockedFile, log: Callable[[str], None]) -> str:
        source = self._local_copy(file)
        if source is None and file.url is None:
            where = f"{file.path} is not a file" if file.path else "the lock gives no path"
            raise WheelhouseError(f"{file.filename}: {where}, and the lock gives no url")
        origin = str(source) if source else redact(file.url)
        self._store(file, origin, source)
        size = f"{file.size / 1e3:,.0f} kB" if file.size else "size unknown"
        log(f"fetched {file.filename} ({size}) from {origin}")
        return origin

    def _local_copy(self, file: LockedFile) -> Path | None:
        """The local file to copy, if any: in find-links, at the lock's path
        (inside the project), or at a file: URL (when the project allows them)."""
        for link in self.config.find_links:
            if (link / file.filename).is_file():
                return link / file.filename
        if file.path:
            try:
                path = file.path.resolve()
            except (OSError, ValueError, RuntimeError):  # a NUL byte; a symlink loop (< 3.13)
                raise WheelhouseError(
                    f"{file.filename}: the lock's path {str(file.path)!r} cannot be resolved"
                ) from None
            if not path.is_relative_to(self.project):
                raise WheelhouseError(
                    f"{file.filename}: the lock's path {str(file.path)!r} is outside the project "
                    f"({self.project}); a lock names only files inside it"
                )
            if path.is_file():
                return path
        if file.url and file.url[:5].lower() == "file:":
            return self._file_url(file)
        return None

    def _file_url(self, file: LockedFile) -> Path:
        """A file: URL's file: inside the project (uv locks a vendored sdist
        so), or anywhere on this machine when the project allows it."""
        shown = redact(file.url)
        parts = urllib.parse.urlsplit(file.url)
        path = Path(urllib.request.url2pathname(parts.path))
        try:
            inside = path.resolve().is_relative_to(self.project)
        except (OSError, ValueError, RuntimeError):
            inside = False
        if not (inside or self.config.allow_file_urls):
            raise WheelhouseError(
                f"{file.filename}: the lock names a file: URL outside the project ({shown}); "
                f"set allow-file-urls = true in [{SECTION}] to let the lock read local files"
            )
        if parts.netloc not in ("", "localhost") or not path.is_file():
            raise WheelhouseError(f"{file.filename}: {shown} is not a regular file on this machine")
        return path

    def _store(self, file: LockedFile, origin: str, source: Path | None) -> None:
        target = self.path_for(file.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned(target.parent, ".part-*", ABANDONED_AFTER)
        # Download beside the target and rename, so a cut download never
        # leaves a partial file under a valid name.
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                self._receive(file, source, origin, out)
            _verify(file, tmp, origin, local=source is not None)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)

    def _receive(self, file: LockedFile, source: Path | None, origin: str, out) -> None:
        """Copy one file, local or downloaded, into `out`: the one place that
        stops every transfer at its size cap and at its deadline."""
        # The lock's size when it gives one (the hash fails on any other), else
        # max-download-bytes: a hostile or broken server could send without end.
        cap = file.size if file.size is not None else self.config.max_download_bytes
        received = 0
        with Deadline(self.config.download_timeout) as deadline:
            try:
                with source.open("rb") if source else open_url(file.url, deadline) as stream:
                    while chunk := stream.read(CHUNK):
                        received += len(chunk)
                        if received > cap:
                            raise WheelhouseError(
                                f"{file.filename} from {origin}: {_over(file, cap, source)}"
                            )
                        if deadline.passed:
                            break
                        out.write(chunk)
            except (OSError, http.client.HTTPException) as exc:
                if not deadline.passed:
                    raise WheelhouseError(f"could not fetch {origin}: {_one_line(exc)}") from None
            if deadline.passed:  # its connections were cut: what came is incomplete
                raise WheelhouseError(
                    f"{file.filename} from {origin}: not received within "
                    f"{deadline.seconds:g} s (download-timeout); stopped"
                )


def _over(file: LockedFile, cap: int, source: Path | None) -> str:
    if file.size is not None and source:  # as _verify says it: no clue to a local file's size
        return f"size does not match, the lock says {file.size}"
    if file.size is not None:
        return f"more than the {file.size:,} bytes the lock declares; stopped"
    return f"more than {cap:,} bytes (max-download-bytes) and the lock gives no size; stopped"


def _one_line(exc: BaseException) -> str:
    """An exception's text on one printable line, cut short: a server wrote part of it."""
    text = " ".join(str(exc).split())
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


def _verify(file: LockedFile, path: Path, origin: str, local: bool) -> None:
    """Size and sha256 against the lock. For a local file the message never
    shows what was found: a lock could otherwise learn the size and hash of a
    file it cannot read."""
    size = path.stat().st_size
    if file.size is not None and size != file.size:
        found = "size does not match" if local else f"{size} bytes"
        raise WheelhouseError(f"{file.filename} from {origin}: {found}, the lock says {file.size}")
    actual = sha256_of(path)
    if actual != file.sha256:
        found = "sha256 does not match" if local else f"sha256 {actual}"
        raise WheelhouseError(
            f"{file.filename} from {origin}: {found}, the lock says {file.sha256}"
        )

"""Getting locked files into a content-addressed cache, every byte hash-checked.

A file is stored under its sha256, so the cache never needs invalidating:
once a file is there, builds work offline. A file leaves the cache only by a
copy that hashes the bytes it writes, so what lands in a wheelhouse is what
was checked, whatever happens to the cache meanwhile.
"""

import errno
import hashlib
import http.client
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_cache_dir

from .credentials import open_url, redact
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
    def __init__(self, root: Path, find_links: tuple[Path, ...] = ()):
        self.root = root
        self.find_links = find_links

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
            raise WheelhouseError(f"{file.filename}: the lock gives neither a url nor a path")
        origin = str(source) if source else redact(file.url)
        self._store(file, origin, source)
        size = f"{file.size / 1e3:,.0f} kB" if file.size else "size unknown"
        log(f"fetched {file.filename} ({size}) from {origin}")
        return origin

    def _local_copy(self, file: LockedFile) -> Path | None:
        candidates = [link / file.filename for link in self.find_links]
        if file.path:
            candidates.append(file.path)
        return next((c for c in candidates if c.is_file()), None)

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
                if source:
                    with source.open("rb") as stream:
                        shutil.copyfileobj(stream, out, CHUNK)
                else:
                    _download(file, out)
            _verify(file, tmp, origin)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)


def _download(file: LockedFile, out) -> None:
    shown = redact(file.url)
    received = 0
    try:
        with open_url(file.url, timeout=60) as response:
            while chunk := response.read(CHUNK):
                received += len(chunk)
                # The lock declares the size: never take more (a hostile or
                # broken server could send without end).
                if file.size is not None and received > file.size:
                    raise WheelhouseError(
                        f"{file.filename} from {shown}: more than the {file.size:,} bytes "
                        "the lock declares; stopped"
                    )
                out.write(chunk)
    except (OSError, http.client.HTTPException) as exc:
        raise WheelhouseError(f"could not fetch {shown}: {exc}") from None


def _verify(file: LockedFile, path: Path, origin: str) -> None:
    size = path.stat().st_size
    if file.size is not None and size != file.size:
        raise WheelhouseError(
            f"{file.filename} from {origin}: {size} bytes, the lock says {file.size}"
        )
    actual = sha256_of(path)
    if actual != file.sha256:
        raise WheelhouseError(
            f"{file.filename} from {origin}: sha256 {actual}, the lock says {file.sha256}"
        )

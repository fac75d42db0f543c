"""Getting locked files into a content-addressed cache, every byte hash-checked.

A file is stored under its sha256, so the cache never needs invalidating:
once a file is there, builds work offline.
"""

import hashlib
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_cache_dir

from .errors import WheelhouseError
from .lock import LockedFile

CHUNK = 1 << 20


def default_cache_dir() -> Path:
    return Path(user_cache_dir("hatch-wheelhouse")) / "sha256"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Cache:
    def __init__(self, root: Path, find_links: tuple[Path, ...] = ()):
        self.root = root
        self.find_links = find_links

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def get(self, file: LockedFile, log: Callable[[str], None]) -> tuple[Path, str]:
        """The verified cached copy of `file` and where it came from."""
        cached = self.path_for(file.sha256)
        if cached.exists():
            actual = sha256_of(cached)
            if actual != file.sha256:
                raise WheelhouseError(
                    f"cached {file.filename} at {cached} is corrupt or tampered with: "
                    f"sha256 {actual}, lock says {file.sha256}; delete it to fetch it again"
                )
            return cached, "cache"
        source = self._local_copy(file)
        origin = str(source) if source else file.url
        if origin is None:
            raise WheelhouseError(f"{file.filename}: the lock gives neither a url nor a path")
        self._store(file, origin, source)
        size = f"{file.size / 1e3:,.0f} kB" if file.size else "size unknown"
        log(f"fetched {file.filename} ({size}) from {origin}")
        return cached, origin

    def _local_copy(self, file: LockedFile) -> Path | None:
        candidates = [link / file.filename for link in self.find_links]
        if file.path:
            candidates.append(file.path)
        return next((c for c in candidates if c.is_file()), None)

    def _store(self, file: LockedFile, origin: str, source: Path | None) -> None:
        target = self.path_for(file.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
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
                    _download(origin, out)
            _verify(file, tmp, origin)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)


def _download(url: str, out) -> None:
    if not url.startswith(("https://", "http://", "file://")):
        raise WheelhouseError(f"unsupported URL scheme: {url}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (scheme checked)
            shutil.copyfileobj(response, out, CHUNK)
    except OSError as exc:
        raise WheelhouseError(f"could not fetch {url}: {exc}") from exc


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

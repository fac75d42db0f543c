"""An sdist's own code, run by pip here: what it may see of this machine."""

import io
import json
import tarfile
from pathlib import Path

from hatch_wheelhouse.sdists import requires_of

# An in-tree PEP 517 backend (no build requirements to fetch) that records
# the environment it runs in, then reports its requirements.
BACKEND = """
import json, os, pathlib

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    pathlib.Path({seen!r}).write_text(json.dumps(dict(os.environ)))
    info = pathlib.Path(directory, "legacy-1.0.dist-info")
    info.mkdir()
    text = "Metadata-Version: 2.1\\nName: legacy\\nVersion: 1.0\\nRequires-Dist: six>=1.16\\n"
    (info / "METADATA").write_text(text)
    return info.name
"""
PYPROJECT = """[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
"""
PKG_INFO = "Metadata-Version: 1.1\nName: legacy\nVersion: 1.0\n"


def legacy_sdist(folder: Path, seen: Path) -> Path:
    sdist = folder / "legacy-1.0.tar.gz"
    members = {
        "PKG-INFO": PKG_INFO,
        "pyproject.toml": PYPROJECT,
        "backend.py": BACKEND.format(seen=str(seen)),
    }
    with tarfile.open(sdist, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"legacy-1.0/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return sdist


def test_an_sdist_backend_sees_none_of_this_machines_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("CI_JOB_TOKEN", "s3cret-job-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cret-key")
    monkeypatch.setenv("PIP_INDEX_URL", "https://user:s3cret@index.example/simple")
    seen = tmp_path / "seen.json"
    tools = tmp_path / "tools"
    tools.mkdir()
    requirements = requires_of(legacy_sdist(tmp_path, seen), tools)
    assert [str(r) for r in requirements] == ["six>=1.16"]
    environ = json.loads(seen.read_text())
    assert "s3cret" not in json.dumps(environ)
    assert environ["HOME"] != str(Path.home()) and "hatch-wheelhouse-home-" in environ["HOME"]
    assert environ["PATH"]  # programs are still found

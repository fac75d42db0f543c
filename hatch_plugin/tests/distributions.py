"""Small but real wheels and sdists, made in memory for the tests."""

import io
import tarfile
import zipfile


def metadata(name: str, version: str, requires=(), metadata_version="2.4") -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    return "\n".join(lines + [f"Requires-Dist: {r}" for r in requires]) + "\n"


def wheel_bytes(filename: str, requires=()) -> bytes:
    """A real (if empty) wheel: enough for pip and for reading its metadata."""
    name, version = filename.split("-")[:2]
    info = f"{name}-{version}.dist-info"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as wheel:
        wheel.writestr(f"{info}/METADATA", metadata(name, version, requires))
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        wheel.writestr(f"{info}/RECORD", "")
    return out.getvalue()


def sdist_bytes(
    filename: str, requires=(), pkg_info_version="2.4", pyproject=None, pkg_info=None
) -> bytes:
    """An sdist holding PKG-INFO (and pyproject.toml when given); `pkg_info`:
    its PKG-INFO's bytes, when not the ones `metadata` gives."""
    top = filename.removesuffix(".tar.gz")
    name, version = top.rsplit("-", 1)
    members = {"PKG-INFO": pkg_info or metadata(name, version, requires, pkg_info_version)}
    if pyproject is not None:
        members["pyproject.toml"] = pyproject
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for member, text in members.items():
            data = text if isinstance(text, bytes) else text.encode()
            info = tarfile.TarInfo(f"{top}/{member}")
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()

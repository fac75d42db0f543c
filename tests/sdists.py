"""A tiny C-extension sdist, made on the spot: a package that ships no wheel,
and links a system library (libyaml) that nothing else in the image needs."""

import io
import tarfile
import time
from pathlib import Path

CEXT_C = r"""#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <yaml.h>

static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
    return PyLong_FromLong(a + b);
}

static PyObject *yaml(PyObject *self, PyObject *args) {
    return PyUnicode_FromString(yaml_get_version_string());
}

static PyMethodDef methods[] = {
    {"add", add, METH_VARARGS, "a + b"},
    {"yaml", yaml, METH_NOARGS, "libyaml's version"},
    {NULL, NULL, 0, NULL},
};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "cext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_cext(void) { return PyModule_Create(&module); }
"""

CEXT_FILES = {
    "PKG-INFO": "Metadata-Version: 2.2\nName: cext\nVersion: 0.1\n",
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "cext"\nversion = "0.1"\n'
    ),
    "setup.py": (
        "from setuptools import Extension, setup\n\n"
        'setup(ext_modules=[Extension("cext", ["cext.c"], libraries=["yaml"])])\n'
    ),
    "cext.c": CEXT_C,
}


def write_cext_sdist(folder: Path) -> Path:
    """folder/cext-0.1.tar.gz: a module `cext` with add(a, b) and yaml() (libyaml's
    version), as C source only.

    Its bytes differ on every call (a comment in cext.c), so BuildKit cannot
    answer the builder's install step from an earlier run's cache.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sdist = folder / "cext-0.1.tar.gz"
    files = {**CEXT_FILES, "cext.c": CEXT_C + f"/* made at {time.time_ns()} */\n"}
    with tarfile.open(sdist, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"cext-0.1/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return sdist

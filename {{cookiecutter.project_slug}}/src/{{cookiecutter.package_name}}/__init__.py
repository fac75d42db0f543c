"""{{ cookiecutter.description.replace("\\", "\\\\").replace('"', '\\"') }}"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("{{ cookiecutter.project_slug }}")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

"""The generated `nox -s audit`: the locked packages against known vulnerabilities.

Real locks (`nox -s lock`) audited by the real pip-audit, against a loopback
service that answers as OSV does with a real advisory (advisories.py says why).
"""

import subprocess
import sys
import tomllib

from advisories import FLASK_SESSION_COOKIE, osv_service
from images import nox


def audit(project, env, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nox", "-s", "audit", "--", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)


def locked(project) -> set[tuple[str, str]]:
    lock = tomllib.loads((project / "pylock.toml").read_text())
    return {(package["name"], package["version"]) for package in lock["packages"]}


def test_audit_passes_a_fresh_lock_and_names_a_known_advisory(cookies, tool_env):
    project = cookies.bake().project_path
    nox(project, tool_env, "-s", "lock")
    with osv_service([FLASK_SESSION_COOKIE]) as (url, asked):
        osv = ["--vulnerability-service", "osv", "--osv-url", url]
        fresh = audit(project, tool_env, *osv)
        assert fresh.returncode == 0, fresh.stdout + fresh.stderr
        assert "No known vulnerabilities found" in fresh.stdout + fresh.stderr
        # Every package the lock pins, each at its locked version: nothing resolved anew.
        assert set(asked) == locked(project) and len(asked) == len(locked(project))

        pyproject = project / "pyproject.toml"
        text = pyproject.read_text()
        assert '"flask>=3.1",' in text
        pyproject.write_text(text.replace('"flask>=3.1",', '"flask>=2.2,<2.2.5",'))
        nox(project, tool_env, "-s", "lock")
        assert ("flask", "2.2.4") in locked(project)
        old = audit(project, tool_env, *osv)
    output = old.stdout + old.stderr
    assert old.returncode != 0, output
    # pip-audit's table: name, version, advisory, the releases that fix it.
    row = ["flask", "2.2.4", "PYSEC-2023-62", "2.2.5,2.3.2"]
    assert any(line.split() == row for line in output.splitlines()), output
    assert "Found 1 known vulnerability in 1 package" in output


def test_audit_never_passes_what_it_could_not_check(cookies, tool_env):
    """As the pipelines run it, against PyPI: --strict fails the audit when a
    package goes unchecked, where pip-audit alone would skip it and pass. From
    these machines PyPI refuses every per-release query, so here it fails."""
    project = cookies.bake().project_path
    nox(project, tool_env, "-s", "lock")
    result = audit(project, tool_env)
    output = result.stdout + result.stderr
    # It passes only when every package was checked: never here, but on a
    # network that reaches PyPI's JSON API.
    assert (result.returncode == 0) == ("could not be audited" not in output), output

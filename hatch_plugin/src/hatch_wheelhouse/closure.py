"""The packages a project needs on one target: the closure of its requirements
over what the lock holds, following markers and extras."""

from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


@dataclass(frozen=True)
class Locked:
    version: str
    requires: list[Requirement] | None  # None: not read yet, so not followed


@dataclass
class Closure:
    reached: dict[str, set[str]]  # package -> the extras asked of it ("" for none)
    problems: list[str]  # requirements the lock does not satisfy


def closure(roots: list[Requirement], locked: dict[str, Locked], env: dict[str, str]) -> Closure:
    """Walk from the project's requirements through each reached package's own.

    A requirement applies when its marker holds for the target with one of the
    extras asked of the package that states it ("" being the package itself).
    """
    result = Closure({}, [])
    todo = [(req, None, {""}) for req in roots]
    while todo:
        req, parent, extras = todo.pop()
        if req.marker and not any(req.marker.evaluate({**env, "extra": e}) for e in extras):
            continue
        name = canonicalize_name(req.name)
        via = f"required by {parent}; " if parent else ""
        package = locked.get(name)
        if package is None:
            result.problems.append(f"{req} ({via}not in the lock)")
            continue
        if not req.specifier.contains(package.version, prereleases=True):
            result.problems.append(f"{req} ({via}locked: {package.version})")
            continue
        asked = {"", *(canonicalize_name(e) for e in req.extras)}
        new = asked - result.reached.get(name, set())
        if not new:
            continue
        result.reached.setdefault(name, set()).update(new)
        for dependency in package.requires or ():
            todo.append((dependency, name, new))
    result.problems.sort()
    return result

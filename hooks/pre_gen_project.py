"""Validate the answers before anything is written.

Each problem is reported on one line naming the field; cookiecutter then
removes the half-made project directory because this script exits 1.
"""

import json
import keyword
import re
import sys

# Matched whole (fullmatch): `$` would also accept a trailing newline.
SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE = re.compile(r"[a-z][a-z0-9_]*")
# Wheel, sdist and dist-info names hold the slug and a version; file names stop at 255 bytes.
SLUG_MAX = 100
KUBERNETES_NAME_MAX = 63  # RFC 1123 labels: Service and Namespace names, label values
EMAIL = re.compile(r"[^@\s\"\\]+@[^@\s\"\\]+")
# Free text lands in TOML, Dockerfile LABEL and Python strings, each escaped
# for its format there; line breaks and other control characters cannot be.
TEXT_FIELDS = ("project_name", "description", "author_name")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The plugin from this template ("template"), or a requirement on the team's
# index: the name in any case and spelling PEP 503 folds together, optional
# extras, then version clauses or a direct reference. (No markers: the hook
# always needs the plugin.)
VERSION_CLAUSE = r"(~=|===?|!=|<=?|>=?)\s*[\w.*+!-]+"
PLUGIN = re.compile(
    r"hatch[-_.]+wheelhouse\s*(\[\s*\w[\w.-]*(\s*,\s*\w[\w.-]*)*\s*\])?\s*"
    rf"({VERSION_CLAUSE}(\s*,\s*{VERSION_CLAUSE})*|@\s*\S+)?\s*",
    re.IGNORECASE,
)


def check_slug(slug: str) -> str | None:
    if not SLUG.fullmatch(slug):
        return (
            f"project_slug {slug!r}: use lowercase letters, digits and single hyphens, "
            "starting with a letter"
        )
    if len(slug) > SLUG_MAX:
        return (
            f"project_slug {slug[:20]!r}...: at most {SLUG_MAX} characters ({len(slug)} here), "
            "so that the file names built from it stay within the file system's limit"
        )
    return None


def check_package(name: str) -> str | None:
    if not PACKAGE.fullmatch(name):
        return (
            f"package_name {name!r}: use lowercase letters, digits and underscores, "
            "starting with a letter"
        )
    if keyword.iskeyword(name):
        return f"package_name {name!r}: a Python keyword cannot be imported"
    if name in sys.stdlib_module_names:
        return f"package_name {name!r}: would shadow the standard library module of that name"
    return None


def check_email(email: str) -> str | None:
    if not EMAIL.fullmatch(email):
        return f"author_email {email!r}: not an e-mail address"
    return None


def check_text(field: str, value: str) -> str | None:
    if not value.strip():
        return f"{field}: must not be empty"
    if CONTROL.search(value):
        return f"{field} {value!r}: must be one line without control characters"
    return None


def check_plugin(requirement: str) -> str | None:
    # PLUGIN's \s would match a line break, which the TOML string cannot hold.
    if requirement == "template" or (
        PLUGIN.fullmatch(requirement) and not CONTROL.search(requirement)
    ):
        return None
    return (
        f"hatch_wheelhouse {requirement!r}: use 'template', or a requirement naming "
        "hatch-wheelhouse such as 'hatch-wheelhouse>=0.1,<0.2'"
    )


def check_kubernetes_name(answers: dict) -> str | None:
    """deploy/ names the namespace, the objects and a label value after the slug."""
    slug = answers["project_slug"]
    if answers["deploy"] != "kubernetes":
        return None
    if len(slug) > KUBERNETES_NAME_MAX:
        return (
            f"project_slug {slug!r}: Kubernetes names and label values are at most "
            f"{KUBERNETES_NAME_MAX} characters ({len(slug)} here); shorten it or answer deploy=none"
        )
    if slug == "default" or slug.startswith("kube-"):
        return (
            f"project_slug {slug!r}: the production overlay creates a namespace of that name, "
            "and this one belongs to the cluster; choose another slug"
        )
    return None


def check_base(answers: dict) -> str | None:
    base, release, python = answers["base"], answers["debian_release"], answers["python_version"]
    if base == "debian":
        shipped = answers["_debian_pythons"][release]
        if python != shipped:
            return (
                f"python_version {python!r}: Debian {release} ships Python {shipped}; "
                f"choose {shipped}, another debian_release, or base=official"
            )
    if base == "source" and python not in answers["_source_pythons"]:
        known = ", ".join(sorted(answers["_source_pythons"]))
        return (
            f"python_version {python!r}: base=source has a pinned source checksum only for {known}"
        )
    return None


def problems(answers: dict) -> list[str]:
    slug, package = answers["project_slug"], answers["package_name"]
    found = [check_slug(slug) or check_kubernetes_name(answers)]
    # A package name derived from a bad slug repeats the slug's problem.
    if not (found[0] and package == slug.replace("-", "_")):
        found.append(check_package(package))
    found += [check_text(field, answers[field]) for field in TEXT_FIELDS]
    found += [check_email(answers["author_email"]), check_base(answers)]
    found.append(check_plugin(answers["hatch_wheelhouse"]))
    return [p for p in found if p]


def main(answers: dict) -> int:
    found = problems(answers)
    for problem in found:
        print(f"slipway: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(json.loads(r"""{{ cookiecutter | jsonify }}""")))

"""Turn a scheduled update into one commit on a branch of its own:

    python ci/propose.py lock        # after `nox -s lock -- --upgrade`
    python ci/propose.py template    # where cruft is installed

`lock` commits the lock files' changes to update/lock. `template` runs `cruft
check` and, when the template has moved on, `cruft update -y`, and commits
everything it changed, conflicts included, to update/template-COMMIT. The
commit's message is the pull request's title and description; conflicts are
listed there. Prints the branch's name, or nothing when there is nothing to
propose; the pipelines then push the branch and open the pull request.
Needs git, and cruft for `template`; nothing else beyond the standard library.
"""

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

LOCK_FILES = ("pylock.toml", "pylock.build.toml")
LOCK_BRANCH = "update/lock"
TEMPLATE_BRANCH = "update/template-{commit}"
CRUFT = [sys.executable, "-m", "cruft"]


def log(message: str) -> None:
    print(f"propose: {message}", file=sys.stderr)


def git(*args: str, check: bool = True) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    if check and result.returncode:
        sys.exit(f"propose: git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def run(command: list[str]) -> int:
    """A tool's exit code; its output goes to stderr, as stdout is the branch's name."""
    return subprocess.run(command, stdout=sys.stderr).returncode


def commit(branch: str, message: str, paths: list[str]) -> None:
    """`paths` committed on `branch`, started afresh from HEAD. Dated as HEAD is,
    so the same change on the same commit is the same commit, and pushing it
    again changes nothing."""
    date = git("log", "-1", "--format=%cI").strip()
    git("switch", "--quiet", "-C", branch)
    git("add", "--all", "--", *paths)
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    done = subprocess.run(["git", "commit", "-q", "-F", "-"], input=message, text=True, env=env)
    if done.returncode:
        sys.exit(f"propose: git commit failed on {branch}")
    print(branch)


def versions(text: str) -> dict[str, str]:
    return {p["name"]: p.get("version", "") for p in tomllib.loads(text).get("packages", [])}


def lock() -> None:
    changed, lines = [], []
    for name in LOCK_FILES:
        before = git("show", f"HEAD:{name}", check=False)  # empty where not committed
        after = Path(name).read_text(encoding="utf-8") if Path(name).exists() else ""
        if before == after:
            continue
        changed.append(name)
        old, new = versions(before), versions(after)
        for package in sorted(old.keys() | new.keys()):
            if old.get(package) != new.get(package):
                was, now = old.get(package, "(new)"), new.get(package, "(removed)")
                lines.append(f"- {name}: `{package}` {was} → {now}")
    if not changed:
        log("the lock files are current: nothing to propose")
        return
    if not lines:  # the same versions: new files or hashes
        lines = [f"- {name}: the same versions, other files or hashes" for name in changed]
    body = "\n".join(lines)
    message = f"Upgrade the locked dependencies\n\nBy `nox -s lock -- --upgrade`:\n\n{body}\n"
    commit(LOCK_BRANCH, message, changed)


def conflicts() -> list[str]:
    """What `cruft update` could not merge: *.rej files where it fell back to
    `git apply --reject` (as in a shallow checkout), or files left with
    conflict markers where a three-way merge was possible."""
    # -z: paths as they are; without it, git quotes those with spaces or accents.
    status = git("status", "--porcelain", "-z", "--untracked-files=all").split("\0")
    rejected = [line[3:] for line in status if line.startswith("?? ") and line.endswith(".rej")]
    unmerged = git("diff", "--name-only", "-z", "--diff-filter=U").split("\0")[:-1]
    return [f"`{path}`" for path in rejected] + [f"`{path}`, conflict markers" for path in unmerged]


def template() -> None:
    state_file = Path(".cruft.json")
    if not state_file.exists():
        sys.exit(
            "propose: no .cruft.json: generate the project from the template's git URL, "
            "or link it with `cruft link URL`"
        )
    if git("status", "--porcelain"):
        sys.exit("propose: the working tree has changes: commit or stash them first")
    if run([*CRUFT, "check"]) == 0:
        log("the project matches the template's newest commit: nothing to propose")
        return
    old = json.loads(state_file.read_text(encoding="utf-8"))
    if run([*CRUFT, "update", "--skip-apply-ask"]) != 0:
        sys.exit("propose: cruft update failed (above)")
    new = json.loads(state_file.read_text(encoding="utf-8"))
    if new["commit"] == old["commit"]:
        sys.exit("propose: cruft update left .cruft.json at the same commit")
    found = conflicts()
    if found:
        listed = "\n".join(f"- {entry}" for entry in found)
        outcome = f"Conflicts to merge by hand, then delete the .rej files:\n\n{listed}\n"
    else:
        outcome = "Every change applied cleanly.\n"
    message = (
        f"Update from the template to {new['commit'][:12]}\n\n"
        f"`cruft update` from {new['template']}, commit {old['commit'][:12]} to "
        f"{new['commit'][:12]}.\n\n{outcome}"
    )
    commit(TEMPLATE_BRANCH.format(commit=new["commit"][:12]), message, ["."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("update", choices=["lock", "template"])
    {"lock": lock, "template": template}[parser.parse_args().update]()


if __name__ == "__main__":
    main()

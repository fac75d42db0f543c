"""Trim the generated project to the options chosen and record the answers.

Runs inside the new project directory; needs no network.
"""

import json
import shutil
import sys
from pathlib import Path

# Paths that an answer makes unwanted: (question, answer) -> paths to remove.
UNSELECTED = {
    ("ci", "none"): [".github"],
    ("license", "Proprietary"): ["LICENSE"],
}
# Answers worth keeping for a later update from the template: the questions,
# not cookiecutter's own bookkeeping (local paths) or derived values.
KEEP_PRIVATE = {"_template"}


def prune(project: Path, answers: dict) -> list[Path]:
    removed = []
    for (question, answer), paths in UNSELECTED.items():
        if answers[question] != answer:
            continue
        for target in (project / rel for rel in paths):
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            else:
                continue
            removed.append(target)
    return removed


def recorded_answers(answers: dict) -> dict:
    return {k: v for k, v in answers.items() if not k.startswith("_") or k in KEEP_PRIVATE}


def main(project: Path, answers: dict) -> int:
    prune(project, answers)
    text = json.dumps(recorded_answers(answers), indent=2, sort_keys=True) + "\n"
    (project / ".cookiecutter.json").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path.cwd(), json.loads(r"""{{ cookiecutter | jsonify }}""")))

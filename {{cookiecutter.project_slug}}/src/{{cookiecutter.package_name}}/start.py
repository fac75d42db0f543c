"""Start gunicorn with its settings checked first.

    python -m {{ cookiecutter.package_name }}.start --config FILE [gunicorn options]

gunicorn reads some variables itself (WEB_CONCURRENCY, FORWARDED_ALLOW_IPS)
while it builds its configuration, before the config file runs, and answers
a bad value with a traceback. So the config file runs here first, where a bad
value stops with one line per problem; then this process becomes gunicorn
(exec), which stays PID 1 and receives the stop signal itself.
"""

import argparse
import os
import runpy
import sys


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config", "-c", required=True)
    options, _ = parser.parse_known_args(argv)
    runpy.run_path(options.config)  # SystemExit with one line per bad variable
    # The config file reads an empty WEB_CONCURRENCY as unset; gunicorn would
    # call int("") on it, so it goes.
    environ = {k: v for k, v in os.environ.items() if (k, v) != ("WEB_CONCURRENCY", "")}
    # Replaces this process (same PID), with fixed arguments and no shell.
    os.execve(sys.executable, [sys.executable, "-m", "gunicorn", *argv], environ)  # noqa: S606


if __name__ == "__main__":
    main(sys.argv[1:])

"""Start gunicorn with its settings checked first.

    python -m {{ cookiecutter.package_name }}.start --config FILE [gunicorn options]

gunicorn reads WEB_CONCURRENCY when it is imported, before any config file
runs, and answers a bad value with a traceback. So the config file runs here
first, where a bad value stops with one line per problem, and only then is
gunicorn imported and run, in this process: PID 1 in the image.
"""

import argparse
import os
import runpy
import sys

# Answered by gunicorn alone: they read no settings, so they need no --config.
NO_SETTINGS = {"-h", "--help", "-v", "--version"}


def check_settings() -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config", "-c", required=True)
    options, _ = parser.parse_known_args()
    if not os.path.isfile(options.config):
        # runpy would answer a missing file or a directory with a traceback.
        raise SystemExit(f"Error: {options.config!r} is not a file")
    runpy.run_path(options.config)  # SystemExit with one line per bad variable


def main() -> None:
    if not NO_SETTINGS & set(sys.argv[1:]):
        check_settings()
    # The config file reads an empty WEB_CONCURRENCY as unset; gunicorn would call int("") on it.
    if os.environ.get("WEB_CONCURRENCY") == "":
        del os.environ["WEB_CONCURRENCY"]
    from gunicorn.app.wsgiapp import run

    run()  # parses sys.argv, as `gunicorn` does


if __name__ == "__main__":
    main()

"""Read by `gunicorn wsgi:app` started in the repository root (gunicorn's default --config is
./gunicorn.conf.py; an explicit --config replaces this file).

It checks the settings once, in the master, before any worker boots: a missing or malformed
setting prints one line and gunicorn exits with status 4. Left to the workers, each would print
the line and exit, and gunicorn 27's master then stops with a traceback of its own when more than
one worker fails at once.
"""
import os
import sys


def on_starting(server) -> None:
    from scrm.config import ConfigError, load_settings

    try:
        load_settings(instance_path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance"))
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr, flush=True)
        sys.exit(4)  # gunicorn's APP_LOAD_ERROR

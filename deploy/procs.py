"""``python -m deploy.procs start [ROLE…]``: run the Procfile's roles with honcho, on one host.

    python -m deploy.procs start                       # web, worker, welcome, scheduler from ./Procfile
    python -m deploy.procs start web welcome worker   # a second web host: no scheduler
    python -m deploy.procs check                       # the Procfile parses

This is honcho (a Python Foreman; every honcho command and option works) with two changes:

* A stop waits STOP_GRACE seconds before SIGKILL instead of honcho's 5: gunicorn drains the
  requests in flight for up to its graceful_timeout (30 s, deploy/gunicorn.conf.py) and the
  welcome worker lets its threads finish for up to 20 s (scrm/worker.py).
* The interpreter's own bin directory goes first on PATH, so the Procfile's `gunicorn` and
  `flask` are this virtualenv's even when it is not activated.

honcho reads the settings from `.env` (``-e FILE[,FILE]`` for others) with a parser of its own:
one KEY=value a line, and a ``#`` anywhere starts a comment, so quote values containing one.
When any role exits, honcho stops the others and exits non-zero: let systemd (or another
supervisor) restart the whole set.
"""
from __future__ import annotations

import os
import sys

from honcho import command, manager

STOP_GRACE = 35  # seconds: longer than gunicorn's graceful_timeout (30) and the welcome worker's 20


def main(argv: list[str] | None = None) -> None:
    manager.KILL_WAIT = STOP_GRACE  # read by honcho's Manager.loop() when it stops the processes
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = os.pathsep.join([bin_dir, *[p for p in os.environ.get("PATH", "").split(os.pathsep)
                                                     if p and p != bin_dir]])
    command.main(argv)


if __name__ == "__main__":
    main()

"""What the console's browser tests share: a sandbox stack, the browser, the administrator."""
from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

from tests.stack import ROOT, Sandbox, sandbox_stack

PASSWORD = "browser-test-passphrase"


@contextmanager
def console_stack(tmp_path_factory, name: str, **env: str):
    """A sandbox stack (`python -m sandbox.devstack`) sized for a console test; ``env`` overrides."""
    settings = {"SANDBOX_CUSTOMERS": "10", "SANDBOX_STAFF": "4", "SANDBOX_GROUPS": "1", "SANDBOX_LATENCY_MS": "0-20",
                "SCRM_WEB_WORKERS": "2", "SCRM_WELCOME_WORKERS": "1", **env}
    with sandbox_stack(tmp_path_factory.mktemp(name), name, **settings) as running:
        yield running


def create_admin(sb: Sandbox, password: str = PASSWORD) -> None:
    """`flask scrm admin create --username admin` against the stack, as a new user would."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "scrm", "admin", "create", "--username", "admin",
                    "--password-stdin"], cwd=ROOT, env=sb.flask_env, input=password + "\n", text=True,
                   capture_output=True, check=True)

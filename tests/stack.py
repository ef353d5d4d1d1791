"""The whole stack in sandbox mode for the e2e and browser tests: `python -m sandbox.devstack` on
free ports with a throwaway SQLite database and an embedded Redis (or a stack already running,
see attached_stack: `make prod-check`), and a small client for the simulator's control API and
the service's Open API."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from sandbox.embedded_redis import free_port

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 30.0  # seconds any single effect may take to show up


def wait_for(predicate, what: str, timeout: float = DEADLINE):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = predicate()
            if last:
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@contextmanager
def sandbox_stack(tmp: Path, name: str, **settings: str) -> Iterator[dict]:
    """Start the stack (``settings``: SANDBOX_* / SCRM_* overrides), wait until the service and
    the simulator answer, create an Open API token; stop it all afterwards."""
    port, sim_port, redis_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "TEST_", "SCRM_", "SANDBOX_"))}
    env.pop("REDIS_URL", None)
    env.update({
        "SCRM_ENV_FILE": "-", "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": f"sqlite:///{tmp}/scrm.db",
        "SCRM_SPOOL_DIR": str(tmp / "spool"), "SCRM_REDIS_PORT": str(redis_port),
        "SCRM_REDIS_DIR": str(tmp / "redis"), "SCRM_PORT": str(port), "SANDBOX_PORT": str(sim_port),
        **settings,
    })
    log = open(tmp / "stack.log", "w")  # noqa: SIM115 - closed below, with the process
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.devstack"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    service, simulator = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}"
    try:
        wait_for(lambda: requests.get(f"{service}/readyz", timeout=2).status_code == 200, "the service", 90)
        wait_for(lambda: requests.get(f"{simulator}/sandbox/api/", timeout=2).ok, "the simulator")
        # For `flask` commands: what `make run` writes to .env for them (Redis, the simulator's address).
        flask_env = {**env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                     "WECOM_API_BASE_URL": f"{simulator}/cgi-bin/"}
        token = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scrm", "token", "create", name],
            cwd=ROOT, env=flask_env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        yield {"service": service, "simulator": simulator, "token": token, "log": tmp / "stack.log",
               "flask_env": flask_env}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        if proc.returncode not in (0, -signal.SIGINT, 130):
            print((tmp / "stack.log").read_text()[-5000:])


ATTACH_VARIABLES = ("E2E_SERVICE_URL", "E2E_SIMULATOR_URL", "E2E_API_TOKEN")


def attached_stack() -> dict | None:
    """A stack that is already running, when E2E_SERVICE_URL, E2E_SIMULATOR_URL and E2E_API_TOKEN
    name it (`make prod-check` runs the e2e tests so against the production roles); else None.
    `flask` commands then run in this process's environment, which must be the stack's."""
    values = [os.environ.get(name) for name in ATTACH_VARIABLES]
    if not any(values):
        return None
    if not all(values):
        raise RuntimeError(f"set all of {', '.join(ATTACH_VARIABLES)} (a running stack) or none")
    service, simulator, token = values
    wait_for(lambda: requests.get(f"{service}/readyz", timeout=2).status_code == 200, "the service")
    wait_for(lambda: requests.get(f"{simulator}/sandbox/api/", timeout=2).ok, "the simulator")
    return {"service": service.rstrip("/"), "simulator": simulator.rstrip("/"), "token": token, "log": None,
            "flask_env": dict(os.environ)}


@contextmanager
def e2e_stack(tmp: Path, name: str, **settings: str) -> Iterator[dict]:
    """The running stack named by E2E_* (attached_stack), else a sandbox_stack of our own."""
    attached = attached_stack()
    if attached is not None:
        yield attached
        return
    with sandbox_stack(tmp, name, **settings) as running:
        yield running


class Sandbox:
    """The simulator's control API (actions, world, feed) and the service's Open API."""

    def __init__(self, stack: dict):
        self.service, self.simulator = stack["service"], stack["simulator"]
        self.headers = {"Authorization": f"Bearer {stack['token']}"}
        self.flask_env = stack["flask_env"]

    def act(self, action: str, **params) -> dict:
        resp = requests.post(f"{self.simulator}/sandbox/api/actions/{action}", json=params, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()["result"]

    def world(self, path: str, **params) -> dict:
        return requests.get(f"{self.simulator}/sandbox/api/world/{path}", params=params, timeout=10).json()

    def feed(self, kind: str) -> list[dict]:
        return requests.get(f"{self.simulator}/sandbox/api/feed", params={"kind": kind, "limit": 5000},
                            timeout=10).json()["entries"]

    def api(self, path: str, **params):
        resp = requests.get(f"{self.service}/api/v1/{path}", params=params, headers=self.headers, timeout=10)
        return resp.json() if resp.status_code == 200 else None

    def flask(self, *args: str) -> str:
        """Run `flask --app wsgi ARGS` against the stack's database and Redis; its output."""
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=self.flask_env,
                              capture_output=True, text=True, check=True).stdout

    def post(self, path: str, body: dict) -> dict:
        resp = requests.post(f"{self.service}/api/v1/{path}", json=body, headers=self.headers, timeout=10)
        assert resp.status_code == 201, resp.text
        return resp.json()

"""`make run` as a newcomer meets it (`python -m sandbox.devstack`, started like a terminal would:
in a session of its own, Ctrl-C = SIGINT to the whole process group): a short start-up with one
banner naming every URL, `flask` working from another terminal through `.env`, the README's
channel example, a silent Ctrl-C that stops Redis last, and a restart that keeps the simulated
corp as the service keeps its database. Run with `make e2e` (CI runs it)."""
from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from dotenv import dotenv_values

from sandbox import envfile
from sandbox.embedded_redis import free_port
from tests.stack import ROOT, wait_for

pytestmark = pytest.mark.e2e

START_LINES_LIMIT = 60  # what the first ~10 s may print, banner included (it was ~725 lines a minute)
# An error line: a traceback, an exception, an ERROR level, "error:"; not "(0 errors)".
ERROR_LINE = re.compile(r"Traceback|Exception|\bERROR\b|[A-Za-z]*Error\b|\berror:")


def errors(lines: list[str]) -> list[str]:
    return [line for line in lines if ERROR_LINE.search(line)]


class DevStack:
    """One `python -m sandbox.devstack` process; its output collected line by line."""

    def __init__(self, env: dict[str, str]):
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "sandbox.devstack"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.started = time.monotonic()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in iter(self.proc.stdout.readline, ""):
            self.lines.append(line.rstrip("\n"))

    def banner(self) -> list[str]:
        """The banner's lines, once printed (between its two rules)."""
        def printed():
            rules = [i for i, line in enumerate(self.lines) if line.startswith("[scrm] ───")]
            return self.lines[rules[0]:rules[1] + 1] if len(rules) >= 2 else None
        return wait_for(printed, "the banner", 180)

    def ctrl_c(self) -> list[str]:
        """SIGINT to the process group, as a terminal sends it; the output after it."""
        seen = len(self.lines)
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(90)  # a generous bound, not a timing assertion
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError("the dev stack did not stop within 90 s:\n" + "\n".join(self.lines[-40:])) from None
        self.reader.join(10)
        return self.lines[seen:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def newcomer(tmp_path):
    """A fresh `.env` (its own SECRET_KEY and database, as a person's would be) and free ports."""
    ports = {"SCRM_PORT": free_port(), "SANDBOX_PORT": free_port(), "SCRM_REDIS_PORT": free_port()}
    env_file = tmp_path / ".env"
    env_file.write_text(f"# mine\nSECRET_KEY={secrets.token_hex(32)}\nDATABASE_URL=sqlite:///{tmp_path}/scrm.db\n"
                        f"SCRM_SPOOL_DIR={tmp_path}/spool\n", encoding="utf-8")
    os.chmod(env_file, 0o600)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("WECOM_", "TEST_", "SCRM_", "SANDBOX_", "FLASK_"))
            and k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY", "LOG_FORMAT", "LOG_LEVEL")}
    env = {**base, "SCRM_ENV_FILE": str(env_file), "SCRM_REDIS_DIR": str(tmp_path / "redis"),
           "SANDBOX_STAFF": "6", "SANDBOX_CUSTOMERS": "120", "SANDBOX_GROUPS": "6",
           **{name: str(port) for name, port in ports.items()}}
    stacks: list[DevStack] = []

    def start() -> DevStack:
        stacks.append(DevStack(env))
        return stacks[-1]

    yield {"start": start, "env_file": env_file, "base": base, "tmp": tmp_path, **ports}
    for stack in stacks:
        stack.kill()


def flask_in_another_terminal(newcomer, *args: str) -> subprocess.CompletedProcess:
    """`flask …` as a person runs it: nothing exported, the working directory holding `.env`."""
    env = {**newcomer["base"], "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=newcomer["tmp"], env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_newcomers_run_restart_and_ctrl_c(newcomer):
    service = f"http://127.0.0.1:{newcomer['SCRM_PORT']}"
    simulator = f"http://127.0.0.1:{newcomer['SANDBOX_PORT']}"
    stack = newcomer["start"]()

    # One banner, after the start-up noise, with every URL and the CLI hint.
    banner = "\n".join(stack.banner())
    for url in (f"{service}/wecom/callback", f"{simulator}/", f"{service}/api/docs", f"{service}/readyz",
                f"{service}/sidebar/", f"{simulator}/chat"):
        assert url in banner
    assert "flask scrm" in banner and "Ctrl-C" in banner
    while time.monotonic() - stack.started < 10:  # the first ~10 s, as a newcomer watches them
        time.sleep(0.5)
    output = list(stack.lines)
    assert len(output) < START_LINES_LIMIT, "\n".join(output)
    assert sum("SANDBOX MODE" in line for line in output) == 1
    assert not errors(output), "\n".join(output)

    # While it runs, `flask` in another terminal finds the embedded Redis through .env.
    assert dotenv_values(newcomer["env_file"])["REDIS_URL"] == f"redis://127.0.0.1:{newcomer['SCRM_REDIS_PORT']}/0"
    created = flask_in_another_terminal(newcomer, "scrm", "token", "create", "my-crm")
    assert created.returncode == 0, created.stderr
    headers = {"Authorization": f"Bearer {created.stdout.strip()}"}
    assert "Traceback" not in created.stderr

    # The README's channel example runs as written against the sandbox (zhangsan, tag etEXPO).
    wait_for(lambda: [run for run in requests.get(f"{service}/api/v1/syncs", headers=headers, timeout=10).json()
                      if run["status"] == "succeeded"], "the start-up staff and tag sync")
    template = requests.post(f"{service}/api/v1/welcome-templates", headers=headers, timeout=10, json={
        "name": "展会", "text": "{nickname}您好，我是{staff_name}，感谢在展会上添加我！"})
    assert template.status_code == 201, template.text
    channel = requests.post(f"{service}/api/v1/channels", headers=headers, timeout=10, json={
        "name": "2024 展会", "type": 1, "scene": 2, "state": "expo24", "userids": ["zhangsan"],
        "tag_ids": ["etEXPO"], "welcome_template_id": template.json()["id"]})
    assert channel.status_code == 201, channel.text

    # A customer added on the sandbox page reaches the service.
    added = requests.post(f"{simulator}/sandbox/api/actions/add_customer", timeout=10,
                          json={"config_id": channel.json()["config_id"], "name": "重启后还在"}).json()["result"]
    customer = added["external_userid"]
    wait_for(lambda: requests.get(f"{service}/api/v1/customers/{customer}", headers=headers, timeout=10).ok,
             "the customer in the service")

    # Ctrl-C: everything stops, Redis last, without an error line; exit code 0; the block is gone.
    after = stack.ctrl_c()
    assert stack.proc.returncode == 0, "\n".join(after)
    assert not errors(after), "\n".join(after)
    assert after[-1] == "[scrm] stopped"
    assert envfile.BLOCK_START not in newcomer["env_file"].read_text(encoding="utf-8")
    assert "REDIS_URL" not in dotenv_values(newcomer["env_file"])

    # A restart: the simulator kept its world, as the service kept its database.
    again = newcomer["start"]()
    again.banner()
    assert any("restored from" in line for line in again.lines), "\n".join(again.lines)
    kept = requests.get(f"{simulator}/sandbox/api/world/customers/{customer}", timeout=10)
    assert kept.status_code == 200 and kept.json()["customer"]["name"] == "重启后还在"
    assert requests.get(f"{service}/api/v1/customers/{customer}", headers=headers, timeout=10).json()["name"] == \
        "重启后还在"
    after = again.ctrl_c()
    assert again.proc.returncode == 0 and not errors(after), "\n".join(after)


"""End-to-end: the whole stack in sandbox mode (`python -m scrm.devstack`: embedded Redis,
migrations, gunicorn, workers, scheduler and the WeCom simulator), driven through the
simulator like a person on the sandbox page, checked through the Open API and the simulator's
record of calls. Run with `make e2e` (CI runs it)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from scrm.embedded_redis import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "TEST_"))}
    env.update({
        "SCRM_ENV_FILE": "-", "SECRET_KEY": "e2e-secret", "REDIS_URL": "",
        "DATABASE_URL": f"sqlite:///{tmp}/scrm.db", "SCRM_SPOOL_DIR": str(tmp / "spool"),
        "SCRM_REDIS_PORT": str(free_port()), "SCRM_REDIS_DIR": str(tmp / "redis"),
        "SCRM_PORT": str(port), "SANDBOX_PORT": str(sim_port), "SANDBOX_CUSTOMERS": "300",
        "SANDBOX_STAFF": "8", "SANDBOX_GROUPS": "10", "SANDBOX_LATENCY_MS": "50-150",
    })
    env.pop("REDIS_URL")
    log = open(tmp / "stack.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "scrm.devstack"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    service, simulator = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}"
    try:
        wait_for(lambda: requests.get(f"{service}/readyz", timeout=2).status_code == 200,
                 "the service", timeout=90)
        wait_for(lambda: requests.get(f"{simulator}/sandbox/api/", timeout=2).ok, "the simulator")
        token = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scrm", "token", "create", "e2e"],
            cwd=ROOT, env={**env, "REDIS_URL": f"redis://127.0.0.1:{env['SCRM_REDIS_PORT']}/0"},
            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        yield {"service": service, "simulator": simulator, "token": token}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        if proc.returncode not in (0, -signal.SIGINT, 130):
            print((tmp / "stack.log").read_text()[-5000:])


class Sandbox:
    def __init__(self, stack):
        self.service, self.simulator = stack["service"], stack["simulator"]
        self.headers = {"Authorization": f"Bearer {stack['token']}"}

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


def test_sandbox_scenario(stack):
    sb = Sandbox(stack)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]][0]["userid"]

    # 1. A new customer adds a staff member through a channel code; WeCom delivers it twice.
    added = sb.act("add_customer", userid=staff, state="e2e_channel", name="端到端客户", duplicate=True)
    customer = added["external_userid"]

    def relation_of(detail):
        return next((r for r in (detail or {}).get("relations", []) if r["userid"] == staff), None)

    detail = wait_for(lambda: relation_of(sb.api(f"customers/{customer}")) and sb.api(f"customers/{customer}"),
                      "the customer through the Open API")
    assert detail["name"] == "端到端客户"
    assert relation_of(detail)["state"] == "e2e_channel" and relation_of(detail)["status"] == "active"
    welcomes = wait_for(lambda: [w for w in sb.feed("welcome_sent") if w["external_userid"] == customer],
                        "the welcome message")
    assert len(welcomes) == 1 and welcomes[0]["latency_ms"] < 20_000
    deliveries = [c for c in sb.feed("callback") if customer in str(c.get("ids"))
                  and c["change_type"] == "add_external_contact"]
    assert len(deliveries) == 2 and all(c["ok"] for c in deliveries)  # both delivered...
    adds = [e for e in sb.api("events", event="change_external_contact", page_size=200)
            if e["change_type"] == "add_external_contact"]
    assert len(adds) == 1  # ...stored once
    wait_for(lambda: any(e["kind"] == "welcome_sent"
                         for e in sb.api(f"customers/{customer}")["timeline"]), "welcome on the timeline")

    # 2. The staff member tags the customer in WeCom.
    tag = sb.world("tags")["tag_groups"][0]["tags"][0]
    sb.act("edit_customer", userid=staff, external_userid=customer, add_tags=[tag["id"]])
    wait_for(lambda: any(t["tag_id"] == tag["id"] for t in relation_of(sb.api(f"customers/{customer}"))["tags"]),
             "the tag on the relation")

    # 3. The customer joins one of the staff member's groups, then leaves it.
    group = sb.world("groups", staff=staff)["groups"][0]["chat_id"]
    sb.act("join_group", chat_id=group, member_ids=[customer], invitor=staff)
    wait_for(lambda: any(m["member_id"] == customer for m in (sb.api(f"groups/{group}") or {}).get("members", [])),
             "the customer in the group")
    sb.act("leave_group", chat_id=group, member_ids=[customer])
    wait_for(lambda: not any(m["member_id"] == customer for m in sb.api(f"groups/{group}")["members"]),
             "the customer out of the group")
    quit_rows = [m for m in sb.api(f"groups/{group}", include_quit="true")["members"] if m["member_id"] == customer]
    assert quit_rows and quit_rows[0]["quit_time"]

    # 4. The customer deletes the staff member.
    sb.act("customer_deletes_staff", userid=staff, external_userid=customer)
    wait_for(lambda: relation_of(sb.api(f"customers/{customer}"))["status"] == "deleted_by_customer",
             "the relation marked deleted by the customer")
    kinds = [e["kind"] for e in sb.api(f"customers/{customer}", timeline_limit=50)["timeline"]]
    for kind in ("relation_added", "welcome_sent", "relation_updated", "joined_group", "left_group",
                 "deleted_by_customer"):
        assert kind in kinds, kinds

    # Nothing failed along the way.
    assert sb.api("events", status="failed") == []

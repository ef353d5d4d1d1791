"""End-to-end: 离职继承 on the whole stack in sandbox mode (docs/notes/readme-churn-handover.md
walks the same path with curl). A member leaves; the batch proposed to their department leader
waits for approval; the transfers start; one customer refuses; the `handover` sweep's poll
(`flask scrm tick --now`, 31 minutes ahead) completes the others."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.stack import Sandbox, e2e_stack, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with e2e_stack(tmp_path_factory.mktemp("e2e-handover"), "e2e-handover", SANDBOX_CUSTOMERS="120",
                   SANDBOX_STAFF="6", SANDBOX_GROUPS="6", SANDBOX_LATENCY_MS="0-20") as running:
        yield running


def test_a_leaver_s_customers_reach_their_manager_after_approval(stack):
    sb = Sandbox(stack)
    run = requests.post(f"{sb.service}/api/v1/syncs", json={}, headers=sb.headers, timeout=10).json()
    wait_for(lambda: (sb.api(f"syncs/{run['id']}") or {}).get("status") == "succeeded", "the sync", 60)
    staff = [s for s in sb.world("staff")["staff"] if s["active"]]
    leaders = {}
    for member in staff:  # the simulator's rule: a department's first member leads it
        leaders.setdefault(member["department"][0], member["userid"])
    leaver = next(s for s in staff if s["has_contact"] and s["customers"]
                  and leaders[s["department"][0]] != s["userid"])
    manager = leaders[leaver["department"][0]]

    sb.act("staff_leaves", userid=leaver["userid"])
    batch = wait_for(lambda: (sb.api("handovers", handover_userid=leaver["userid"]) or [None])[0],
                     "the handover batch")
    assert (batch["kind"], batch["status"], [s["userid"] for s in batch["successors"]]) == (
        "resigned", "proposed", [manager])
    assert batch["counts"]["customer"] == {"proposed": leaver["customers"]}
    assert not [c for c in sb.feed("api_call") if "transfer_customer" in c["path"]]  # not before approval

    approve = requests.post(f"{sb.service}/api/v1/handovers/{batch['id']}/approve", headers=sb.headers,
                            json={"approved_by": manager}, timeout=10)
    assert approve.status_code == 200, approve.text
    wait_for(lambda: sb.api(f"handovers/{batch['id']}")["counts"]["customer"] == {"waiting": leaver["customers"]},
             "the transfers started")
    customers = [i["target_id"] for i in sb.api(f"handovers/{batch['id']}/items", target="customer", page_size=200)]
    sb.act("complete_transfers", refuse=True, external_userids=customers[:1])
    sb.act("complete_transfers")
    wait_for(lambda: sb.api(f"handovers/{batch['id']}/items", status="refused"), "the refusal recorded")

    ahead = (datetime.now(UTC) + timedelta(minutes=31)).replace(tzinfo=None).isoformat(timespec="seconds")
    sb.flask("scrm", "tick", "--now", ahead)
    done = wait_for(lambda: (lambda b: b if b["status"] == "done" else None)(sb.api(f"handovers/{batch['id']}")),
                    "the batch done")
    assert done["counts"]["customer"] == {"done": leaver["customers"] - 1, "refused": 1}
    detail = sb.api(f"customers/{customers[1]}", timeline_limit=50)
    statuses = {r["userid"]: r["status"] for r in detail["relations"]}
    assert statuses[manager] == "active" and statuses[leaver["userid"]] == "transferred"
    assert "handed_over" in [e["kind"] for e in detail["timeline"]]
    assert sb.api("events", status="failed") == []

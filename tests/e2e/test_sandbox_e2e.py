"""End-to-end: the whole stack in sandbox mode (`python -m sandbox.devstack`: embedded Redis,
migrations, gunicorn, workers, scheduler and the WeCom simulator), driven through the
simulator like a person on the sandbox page, checked through the Open API and the simulator's
record of calls. Run with `make e2e` (CI runs it). `make prod-check` runs the same tests against the
production roles in real mode (E2E_SERVICE_URL, E2E_SIMULATOR_URL, E2E_API_TOKEN: tests/stack.py)."""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.stack import Sandbox, e2e_stack, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with e2e_stack(tmp_path_factory.mktemp("e2e"), "e2e", SANDBOX_CUSTOMERS="300", SANDBOX_STAFF="8",
                   SANDBOX_GROUPS="10", SANDBOX_LATENCY_MS="50-150") as running:
        yield running


def test_sandbox_scenario(stack):
    sb = Sandbox(stack)
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]][0]["userid"]

    # Under `make prod-check` the stack is shared with the other e2e tests (the handover's, before
    # this one): count only the events this scenario caused.
    start = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

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
    adds = [e for e in sb.api("events", event="change_external_contact", since=start, page_size=200)
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
    assert sb.api("events", status="failed", since=start) == []


def test_a_staff_member_signs_in_to_the_sidebar_and_reads_a_new_customer(stack):
    """The sidebar's sign-in goes through WeCom's OAuth page (WECOM_OAUTH_URL: the simulator's),
    then its JSON reads: the member, the customer they just added, a JS-SDK signature."""
    sb = Sandbox(stack)
    service = stack["service"]
    staff = [s for s in sb.world("staff")["staff"] if s["has_contact"] and s["active"]][-1]["userid"]
    customer = sb.act("add_customer", userid=staff, state="e2e_sidebar", name="侧边栏客户")["external_userid"]
    wait_for(lambda: sb.api(f"customers/{customer}"), "the customer through the Open API")

    browser = requests.Session()
    start = browser.get(f"{service}/sidebar/oauth/start", params={"next": "/sidebar/"}, allow_redirects=False,
                        timeout=10)
    assert start.status_code == 302
    authorize = urlsplit(start.headers["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == stack["simulator"]
    # WeCom knows who is signed in to its client; the simulator is told with `userid`. Then the
    # simulator redirects to our callback, which signs the member in and redirects to the page.
    page = browser.get(urlunsplit(authorize._replace(query=f"{authorize.query}&{urlencode({'userid': staff})}")),
                       timeout=10)
    assert page.status_code == 200 and page.url.split("#")[0] == f"{service}/sidebar/"

    assert browser.get(f"{service}/sidebar/api/me", timeout=10).json()["userid"] == staff
    view = browser.get(f"{service}/sidebar/api/customers/{customer}", timeout=10).json()
    assert view["customer"]["name"] == "侧边栏客户"
    assert view["relation"]["userid"] == staff and view["relation"]["state"] == "e2e_sidebar"
    signature = browser.get(f"{service}/sidebar/api/jssdk/signature",
                            params={"type": "corp", "url": f"{service}/sidebar/"}, timeout=10).json()
    assert len(signature["signature"]) == 40 and signature["corpId"]


def test_a_customer_deleting_a_member_alerts_the_member_and_their_manager_within_a_minute(stack):
    """Churn alerts (docs/churn-alerts.md) through the simulator's app-message feed: a text card to
    the member opening the customer in the sidebar, a text to their department's leader (the
    simulator's rule: a department's first active member leads it); a burst is one message each."""
    sb = Sandbox(stack)
    rows = sb.world("staff")["staff"]

    def leader(dept: int) -> str:
        return next(s["userid"] for s in rows if s["active"] and dept in s["department"])

    member = next(s for s in rows if s["has_contact"] and s["active"] and s["customers"] >= 4
                  and leader(s["department"][0]) != s["userid"])
    staff, manager = member["userid"], leader(member["department"][0])
    # The stack syncs only staff and tags when it starts; the nightly full sync runs after
    # SCRM_NIGHTLY_SYNC_AT local time, so whether it ran depends on the hour: sync the customers here.
    sb.flask("scrm", "sync", "--only", "customers")
    customers = wait_for(lambda: [c["external_userid"] for c in sb.api("customers", userid=staff, page_size=50)
                                  or [] if any(r["userid"] == staff and r["status"] == "active"
                                               for r in c.get("relations", []))][:4] or None,
                         "the member's synced customers", 120)
    assert len(customers) == 4

    def messages_to(userid: str, *needles: str) -> list[dict]:
        return [m for m in sb.feed("app_message") if m["touser"] == [userid]
                and all(n in str(m.get("content")) for n in needles)]

    sb.act("customer_deletes_staff", userid=staff, external_userid=customers[0])
    [card] = wait_for(lambda: messages_to(staff, customers[0]), "the member's alert", 60)
    assert card["msgtype"] == "textcard" and card["content"]["title"] == "客户删除了你"
    assert card["content"]["url"].endswith(f"/sidebar/?customer={customers[0]}")
    wait_for(lambda: messages_to(manager, f"{member['name']} 的 1 位客户删除了他/她"), "the manager's alert", 60)

    for external_userid in customers[1:]:
        sb.act("customer_deletes_staff", userid=staff, external_userid=external_userid)
    wait_for(lambda: messages_to(staff, "3 位客户删除了你"), "the member's digest of the burst", 60)
    wait_for(lambda: messages_to(manager, f"{member['name']} 的 3 位客户删除了他/她"), "the manager's digest", 60)
    alerts = sb.api("churn/alerts", about=staff, page_size=50)
    assert len(alerts) == 8 and {a["status"] for a in alerts} == {"sent"}

"""Successor rules (manager, workload) and the approval model, through the Open API."""
from __future__ import annotations

from collections import Counter

import responses
from sqlalchemy import update

from scrm.extensions import db
from scrm.models import HandoverItem, StaffRole
from scrm.services.tokens import create_token
from tests.conftest import TEST_CORP_ID
from tests.handover.support import staff
from tests.welcome.support import OK, bodies, url


def _successors(api, batch_id: int) -> Counter:
    return Counter(i["takeover_userid"] for i in api("GET", f"/handovers/{batch_id}/items?page_size=200").get_json())


def test_the_workload_rule_gives_each_customer_to_whoever_has_fewest(app, api):
    staff("busy", customers=5)
    staff("light", customers=1)
    staff("middle", customers=3)
    staff("elsewhere", dept=7, customers=0)  # another department: not in the default team
    staff("mover", customers=4)
    reply = api("POST", "/handovers", json={"handover_userid": "mover", "rule": "workload"})
    assert reply.status_code == 201, reply.get_json()
    # light 1 → 2 → 3, then light and middle tie at 3 (userid order): light 4, middle 4.
    assert _successors(api, reply.get_json()["id"]) == {"light": 3, "middle": 1}

    team = api("POST", f"/handovers/{reply.get_json()['id']}/propose",
               json={"rule": "workload", "team": ["busy", "elsewhere"]})
    assert team.status_code == 200 and team.get_json()["team"] == ["busy", "elsewhere"]
    assert _successors(api, team.get_json()["id"]) == {"elsewhere": 4}


def test_the_manager_rule_finds_the_department_leader_else_falls_back(app, api, wecom):
    staff("boss", leader=True)
    staff("peer", customers=2)
    gone = staff("gone", left=True, customers=3)
    wecom.add(responses.POST, url("externalcontact/get_unassigned_list"), json={**OK, "is_last": True, "info": [
        {"handover_userid": "gone", "external_userid": ext, "dimission_time": 1700000000} for ext in gone] + [
        {"handover_userid": "someone_else", "external_userid": "wmX", "dimission_time": 1700000000}]})
    wecom.add(responses.POST, url("externalcontact/groupchat/list"),
              json={**OK, "group_chat_list": [{"chat_id": "wrGONE", "status": 1}], "next_cursor": ""})
    reply = api("POST", "/handovers/resigned", json={"handover_userid": "gone"})
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["counts"] == {"customer": {"proposed": 3}, "group": {"proposed": 1}}
    assert _successors(api, reply.get_json()["id"]) == {"boss": 4}
    assert bodies(wecom, "externalcontact/groupchat/list") == [
        {"status_filter": 1, "owner_filter": {"userid_list": ["gone"]}, "limit": 1000}]
    again = api("POST", "/handovers/resigned", json={"handover_userid": "gone"})
    assert again.status_code == 422  # already in a live batch: not listed twice

    # A customer WeCom lists later joins the open batch; an operator's choice is kept.
    first = api("GET", f"/handovers/{reply.get_json()['id']}/items").get_json()[0]
    api("PATCH", f"/handovers/{reply.get_json()['id']}/items/{first['id']}", json={"takeover_userid": "peer"})
    staff("late", customers=0)
    wecom.replace(responses.POST, url("externalcontact/get_unassigned_list"), json={**OK, "is_last": True, "info": [
        {"handover_userid": "gone", "external_userid": ext, "dimission_time": 1700000000} for ext in [*gone, "wmNEW"]]})
    grown = api("POST", "/handovers/resigned", json={"handover_userid": "gone"})
    assert grown.status_code == 201 and grown.get_json()["id"] == reply.get_json()["id"]
    assert _successors(api, reply.get_json()["id"]) == {"boss": 4, "peer": 1}

    staff("mover", customers=3)
    batch = api("POST", "/handovers", json={"handover_userid": "mover", "rule": "manager"}).get_json()
    assert _successors(api, batch["id"]) == {"boss": 3}

    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="peer", role="manager", data_scope="department"))
    staff("solo", dept=7, customers=2)
    staff("lead7", dept=7)
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="lead7", role="manager", data_scope="department"))
    db.session.commit()
    batch = api("POST", "/handovers", json={"handover_userid": "solo", "rule": "manager"}).get_json()
    assert _successors(api, batch["id"]) == {"lead7": 2}  # no WeCom leader in 7: the SCRM role decides


def test_approval_is_required_and_every_item_needs_a_successor(app, api, client):
    staff("boss", leader=True)
    customers = staff("mover", customers=2)
    batch = api("POST", "/handovers", json={"handover_userid": "mover", "rule": "manager"}).get_json()
    items = api("GET", f"/handovers/{batch['id']}/items").get_json()
    assert api("POST", f"/handovers/{batch['id']}/approve", json={}).status_code == 422
    writer = create_token("crm", TEST_CORP_ID, scope="write")  # an integration's token may not approve
    assert client.post(f"/api/v1/handovers/{batch['id']}/approve", json={"approved_by": "boss"},
                       headers={"Authorization": f"Bearer {writer}"}).status_code == 403
    assert api("POST", f"/handovers/{batch['id']}/approve", json={"approved_by": "mover"}).status_code == 422
    assert api("POST", f"/handovers/{batch['id']}/approve", json={"approved_by": "nobody"}).status_code == 422

    # Nobody to propose: the items wait for a successor and approval says which.
    staff("alone", dept=9, customers=1)
    orphan = api("POST", "/handovers", json={"handover_userid": "alone", "rule": "manager"}).get_json()
    [item] = api("GET", f"/handovers/{orphan['id']}/items").get_json()
    assert item["takeover_userid"] is None and item["reason"] == "未找到接替成员：请指定接替成员"
    refused = api("POST", f"/handovers/{orphan['id']}/approve", json={"approved_by": "boss"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["json"]["items"] == ["1 项没有接替成员：wmalone0000"]
    assert api("PATCH", f"/handovers/{orphan['id']}/items/{item['id']}",
               json={"takeover_userid": "boss"}).get_json()["takeover_userid"] == "boss"

    # Changing a successor, leaving one item out, then approving; nothing changes afterwards.
    assert api("PATCH", f"/handovers/{batch['id']}/items/{items[1]['id']}", json={"cancelled": True}).status_code == 200
    approved = api("POST", f"/handovers/{batch['id']}/approve", json={"approved_by": "boss"})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert approved.get_json()["counts"]["customer"] == {"proposed": 1, "cancelled": 1}
    late = api("PATCH", f"/handovers/{batch['id']}/items/{items[0]['id']}", json={"takeover_userid": "boss"})
    assert late.status_code == 422
    assert api("POST", f"/handovers/{batch['id']}/cancel").get_json()["status"] == "cancelled"
    assert customers  # the customers stay where they were: nothing ran


def test_on_the_job_checks_the_customers_and_the_message(app, api):
    staff("boss", leader=True)
    staff("mover", customers=1)
    staff("other", customers=1)
    bad = api("POST", "/handovers", json={"handover_userid": "mover", "external_userids": ["wmother0000"],
                                          "rule": "manager"})
    assert bad.status_code == 422 and "external_userids" in bad.get_json()["errors"]["json"]
    long = api("POST", "/handovers", json={"handover_userid": "mover", "transfer_success_msg": "好" * 201})
    assert long.status_code == 422
    assert api("POST", "/handovers", json={"handover_userid": "mover", "rule": "manager"}).status_code == 201
    twice = api("POST", "/handovers", json={"handover_userid": "mover", "external_userids": ["wmmover0000"],
                                            "rule": "manager"})
    assert twice.get_json()["errors"]["json"]["external_userids"] == ["已在另一个转接批次中：wmmover0000"]
    assert api("POST", "/handovers", json={"handover_userid": "mover", "rule": "manager"}).status_code == 422
    # Once that transfer is over (the customer came back later, say), the customer can be moved again.
    db.session.execute(update(HandoverItem).values(status="done"))
    db.session.commit()
    assert api("POST", "/handovers", json={"handover_userid": "mover", "external_userids": ["wmmover0000"],
                                           "rule": "manager"}).status_code == 201
    assert api("GET", "/handovers/999").status_code == 404

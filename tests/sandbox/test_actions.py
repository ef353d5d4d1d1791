"""Actions through the control API: validation, and the world changes the API then shows."""
from __future__ import annotations

from scrm.wecom.crypto import parse_xml


def callbacks_sent(world) -> list[dict]:
    return [parse_xml(e["plaintext"]) for e in world.feed.since(0, 10000, kind="callback")]


def test_bad_input_is_422_with_a_message_per_field(sim):
    resp = sim.client.post("/sandbox/api/actions/add_customer", json={"userid": 5, "bogus": 1})
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) == {"userid", "bogus"}
    resp = sim.client.post("/sandbox/api/actions/customer_deletes_staff", json={"userid": "ghost"})
    assert resp.status_code == 422 and set(resp.get_json()["errors"]) == {"external_userid"}
    resp = sim.client.post("/sandbox/api/actions/customer_deletes_staff",
                           json={"userid": "ghost", "external_userid": "wm"})
    assert resp.status_code == 422 and "ghost" in resp.get_json()["errors"]["userid"]
    assert sim.client.post("/sandbox/api/actions/fly", json={}).status_code == 404


def test_add_through_a_contact_way_and_an_existing_customer_adding_another_member(sim, world):
    first, second = [s for s in world.staff.values() if s.has_contact][:2]
    way = sim.post("externalcontact/add_contact_way", {"type": 2, "scene": 2, "state": "store_sz",
                                                       "user": [first.userid, second.userid]})
    assert way["errcode"] == 0 and way["qr_code"]
    added = sim.action("add_customer", config_id=way["config_id"])
    assert (added["userid"], added["state"], added["new_customer"]) == (first.userid, "store_sz", True)
    again = sim.action("add_customer", userid=second.userid, external_userid=added["external_userid"])
    assert again["new_customer"] is False and again["welcome_code"] != added["welcome_code"]
    reply = sim.get("externalcontact/get", external_userid=added["external_userid"])
    assert [f["userid"] for f in reply["follow_user"]] == [first.userid, second.userid]
    resp = sim.client.post("/sandbox/api/actions/add_customer",
                           json={"userid": second.userid, "external_userid": added["external_userid"]})
    assert resp.status_code == 422 and "external_userid" in resp.get_json()["errors"]
    listed = sim.client.get("/sandbox/api/world/contact-ways").get_json()["contact_ways"]
    assert listed[0]["config_id"] == way["config_id"] and listed[0]["state"] == "store_sz"


def test_edit_customer_tags_show_in_get_and_fire_edit_external_contact(sim, world):
    staff = next(s for s in world.staff.values() if s.relations)
    external_userid = next(iter(staff.relations))
    tag = next(t for t in world.tags.values() if t.id not in staff.relations[external_userid].tag_ids)
    sim.action("edit_customer", userid=staff.userid, external_userid=external_userid, add_tags=[tag.id],
               remark="老客户")
    follow = next(f for f in sim.get("externalcontact/get", external_userid=external_userid)["follow_user"]
                  if f["userid"] == staff.userid)
    assert tag.id in [t["tag_id"] for t in follow["tags"]] and follow["remark"] == "老客户"
    (event,) = callbacks_sent(world)
    assert (event["ChangeType"], event["UserID"], event["ExternalUserID"]) == (
        "edit_external_contact", staff.userid, external_userid)


def test_deletions_remove_the_relation(sim, world):
    staff = next(s for s in world.staff.values() if len(s.relations) > 1)
    a, b = list(staff.relations)[:2]
    sim.action("customer_deletes_staff", userid=staff.userid, external_userid=a)
    sim.action("staff_deletes_customer", userid=staff.userid, external_userid=b)
    assert [e["ChangeType"] for e in callbacks_sent(world)] == ["del_follow_user", "del_external_contact"]
    listed = sim.get("externalcontact/list", userid=staff.userid)["external_userid"]
    assert a not in listed and b not in listed


def test_staff_leaving_puts_customers_up_for_handover(sim, world):
    leaver, taker = [s for s in world.staff.values() if s.has_contact and s.relations][:2]
    customers = sorted(leaver.relations)
    result = sim.action("staff_leaves", userid=leaver.userid)
    assert result["pending_customers"] == len(customers)
    (event,) = callbacks_sent(world)
    assert (event["Event"], event["ChangeType"]) == ("change_contact", "delete_user")
    assert event["UserID"] == leaver.userid

    unassigned = sim.post("externalcontact/get_unassigned_list", {"page_size": 1000})
    assert unassigned["is_last"] is True
    assert sorted(i["external_userid"] for i in unassigned["info"]) == customers
    assert {i["handover_userid"] for i in unassigned["info"]} == {leaver.userid}
    assert sim.get("user/get", userid=leaver.userid)["errcode"] == 60111
    owned = [g.chat_id for g in world.groups.values() if g.owner == leaver.userid]
    if owned:
        pending = sim.post("externalcontact/groupchat/list",
                           {"status_filter": 1, "limit": 100})["group_chat_list"]
        assert sorted(g["chat_id"] for g in pending) == sorted(owned)

    moved = customers[:2]
    reply = sim.post("externalcontact/resigned/transfer_customer", {
        "handover_userid": leaver.userid, "takeover_userid": taker.userid, "external_userid": moved})
    assert [c["errcode"] for c in reply["customer"]] == [0, 0]
    status = sim.post("externalcontact/resigned/transfer_result",
                      {"handover_userid": leaver.userid, "takeover_userid": taker.userid})["customer"]
    assert {c["status"] for c in status} == {2}
    sim.action("complete_transfers")
    status = sim.post("externalcontact/resigned/transfer_result",
                      {"handover_userid": leaver.userid, "takeover_userid": taker.userid})["customer"]
    assert {c["status"] for c in status} == {1}
    for external_userid in moved:
        reply = sim.get("externalcontact/get", external_userid=external_userid)
        followers = [f["userid"] for f in reply["follow_user"]]
        assert taker.userid in followers and leaver.userid not in followers
    remaining = sim.post("externalcontact/get_unassigned_list", {})["info"]
    assert sorted(i["external_userid"] for i in remaining) == customers[2:]


def test_onjob_transfer_errors_per_customer(sim, world):
    handover, takeover = [s for s in world.staff.values() if s.has_contact and s.relations][:2]
    mine = next(iter(handover.relations))
    not_mine = next(ext for ext in world.customers if ext not in handover.relations)
    reply = sim.post("externalcontact/transfer_customer", {
        "handover_userid": handover.userid, "takeover_userid": takeover.userid,
        "external_userid": [mine, not_mine, "wmnope", mine]})
    assert [c["errcode"] for c in reply["customer"]] == [0, 40131, 40096, 40129]
    assert sim.post("externalcontact/resigned/transfer_customer", {
        "handover_userid": handover.userid, "takeover_userid": takeover.userid,
        "external_userid": [mine]})["errcode"] == 40097


def test_app_messages_and_oauth(sim, world):
    staff = next(iter(world.staff.values()))
    reply = sim.post("message/send", {"touser": f"{staff.userid}|ghost", "msgtype": "text",
                                      "agentid": 1000002, "text": {"content": "您有 3 位客户待跟进"}})
    assert reply["errcode"] == 0 and reply["invaliduser"] == "ghost"
    (entry,) = world.feed.since(0, 1000, kind="app_message")
    assert entry["touser"] == [staff.userid] and entry["content"] == {"content": "您有 3 位客户待跟进"}
    assert sim.post("message/send", {"touser": "ghost", "msgtype": "text", "agentid": 1000002,
                                     "text": {"content": "x"}})["errcode"] == 81013
    assert sim.post("message/send", {"touser": staff.userid, "msgtype": "text", "agentid": 1,
                                     "text": {"content": "x"}})["errcode"] == 40056

    code = sim.client.post("/sandbox/api/oauth-codes", json={"userid": staff.userid}).get_json()["code"]
    assert sim.get("auth/getuserinfo", code=code) == {"errcode": 0, "errmsg": "ok", "userid": staff.userid}
    assert sim.get("auth/getuserinfo", code=code)["errcode"] == 40029


def test_world_views_for_the_sandbox_page(sim, world):
    staff = sim.client.get("/sandbox/api/world/staff").get_json()["staff"]
    assert len(staff) == len(world.staff) and {"userid", "name", "customers", "groups_owned"} <= set(staff[0])
    member = next(s for s in staff if s["customers"])
    page = sim.client.get(f"/sandbox/api/world/customers?staff={member['userid']}&page_size=5").get_json()
    assert page["total"] == member["customers"] and len(page["customers"]) == min(5, member["customers"])
    name = page["customers"][0]["name"]
    found = sim.client.get("/sandbox/api/world/customers", query_string={"q": name}).get_json()
    assert any(c["name"] == name for c in found["customers"])
    groups = sim.client.get(f"/sandbox/api/world/groups?staff={member['userid']}").get_json()["groups"]
    if groups:
        detail = sim.client.get(f"/sandbox/api/world/groups/{groups[0]['chat_id']}").get_json()["group"]
        assert len(detail["member_list"]) == detail["members"]
    assert sim.client.get("/sandbox/api/world/groups/wrnope").status_code == 404
    assert sim.client.get("/sandbox/api/world/tags").get_json()["tag_groups"][0]["tags"]
    feed = sim.client.get("/sandbox/api/feed?after=0").get_json()
    assert feed["entries"] == [] and feed["last_id"] == 0
    sim.get("externalcontact/get_follow_user_list")
    feed = sim.client.get("/sandbox/api/feed?after=1").get_json()  # entry 1 is gettoken
    assert [e["path"] for e in feed["entries"]] == ["externalcontact/get_follow_user_list"]
    assert sim.client.get("/sandbox/api/").get_json()["corp_id"] == world.config.corp_id

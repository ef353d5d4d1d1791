"""Customer APIs: reply shapes, cursor paging, remarks and tags through the API."""
from __future__ import annotations

from sandbox.model import Customer
from tests.sandbox.conftest import caller_for, make_world


def relations(world) -> set[tuple[str, str]]:
    return {(s.userid, ext) for s in world.staff.values() for ext in s.relations}


def test_batch_get_by_user_pages_cover_every_relation_exactly_once(sim, world):
    userids = [s.userid for s in world.staff.values()]
    seen: list[tuple[str, str]] = []
    cursor, pages = "", 0
    while True:
        reply = sim.post("externalcontact/batch/get_by_user",
                         {"userid_list": userids, "cursor": cursor, "limit": 7})
        assert reply["errcode"] == 0 and reply["fail_info"] == {"unlicensed_userid_list": []}
        assert len(reply["external_contact_list"]) <= 7
        for item in reply["external_contact_list"]:
            seen.append((item["follow_info"]["userid"], item["external_contact"]["external_userid"]))
        pages += 1
        cursor = reply["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == len(relations(world))
    assert set(seen) == relations(world)
    assert pages == -(-len(seen) // 7)  # no empty trailing page


def test_batch_get_by_user_shapes_and_limits(sim, world):
    staff = max(world.staff.values(), key=lambda s: len(s.relations))
    reply = sim.post("externalcontact/batch/get_by_user", {"userid_list": [staff.userid], "limit": 1000})
    assert len(reply["external_contact_list"]) == min(50, len(staff.relations))  # over 100 → default 50
    item = reply["external_contact_list"][0]
    assert set(item["external_contact"]) >= {"external_userid", "name", "avatar", "type", "gender"}
    assert set(item["follow_info"]) >= {"userid", "remark", "description", "createtime", "tag_id",
                                        "remark_mobiles", "oper_userid", "add_way"}
    bad_cursor = {"userid_list": [staff.userid], "cursor": "garbage"}
    assert sim.post("externalcontact/batch/get_by_user", bad_cursor)["errcode"] == 50100
    assert sim.post("externalcontact/batch/get_by_user", {"userid_list": ["u"] * 101})["errcode"] == 40058


def test_externalcontact_get_pages_follow_user_beyond_500(clock):
    world = make_world(clock, staff=620, customers=5, groups=0)
    customer = Customer("wmBigCustomer0000000000000000001", "大客户", 2, 1, "星河科技", "深圳星河科技有限公司")
    world.customers[customer.external_userid] = customer
    for staff in world.staff.values():
        world.add_relation(staff, customer, createtime=1_700_000_000, add_way=1, oper_userid=staff.userid)
    sim = caller_for(world)
    first = sim.get("externalcontact/get", external_userid=customer.external_userid)
    assert len(first["follow_user"]) == 500 and first["next_cursor"]
    assert first["external_contact"]["corp_name"] == "星河科技"
    second = sim.get("externalcontact/get", external_userid=customer.external_userid,
                     cursor=first["next_cursor"])
    assert len(second["follow_user"]) == 120 and second["next_cursor"] == ""
    userids = [f["userid"] for f in first["follow_user"] + second["follow_user"]]
    assert sorted(userids) == sorted(world.staff)


def test_unknown_customer_and_list(sim, world):
    assert sim.get("externalcontact/get", external_userid="wmnobody")["errcode"] == 40096
    staff = next(s for s in world.staff.values() if s.relations)
    listed = sim.get("externalcontact/list", userid=staff.userid)["external_userid"]
    assert sorted(listed) == sorted(staff.relations)
    assert sim.get("externalcontact/list", userid="ghost")["errcode"] == 60111


def test_remark_and_mark_tag_change_what_get_returns(sim, world):
    staff = next(s for s in world.staff.values() if s.relations)
    external_userid = next(iter(staff.relations))
    tag_ids = list(world.tags)[:2]
    pair = {"userid": staff.userid, "external_userid": external_userid}
    assert sim.post("externalcontact/remark",
                    {**pair, "remark": "王总", "remark_mobiles": ["13800000001"]})["errcode"] == 0
    marked = sim.post("externalcontact/mark_tag", {**pair, "add_tag": tag_ids, "remove_tag": []})
    assert marked["errcode"] == 0
    follow = next(f for f in sim.get("externalcontact/get", external_userid=external_userid)["follow_user"]
                  if f["userid"] == staff.userid)
    assert follow["remark"] == "王总" and follow["remark_mobiles"] == ["13800000001"]
    assert {t["tag_id"] for t in follow["tags"]} >= set(tag_ids)
    assert sim.post("externalcontact/mark_tag", {**pair, "add_tag": ["etnope"]})["errcode"] == 40068
    # API edits fire no callback (docs/wecom/callbacks.md#api-changes-fire-no-callback).
    assert world.feed.since(0, 1000, kind="callback") == []


def test_corp_tag_library_round_trip(sim, world):
    added = sim.post("externalcontact/add_corp_tag",
                     {"group_name": "会员", "tag": [{"name": "金卡"}, {"name": "银卡"}]})
    assert added["errcode"] == 0
    group = added["tag_group"]
    assert [t["name"] for t in group["tag"]] == ["金卡", "银卡"] and group["group_id"].startswith("et")
    listed = sim.post("externalcontact/get_corp_tag_list", {"group_id": [group["group_id"]]})["tag_group"]
    assert [t["id"] for t in listed[0]["tag"]] == [t["id"] for t in group["tag"]]
    assert sim.post("externalcontact/del_corp_tag", {"group_id": [group["group_id"]]})["errcode"] == 0
    assert sim.post("externalcontact/get_corp_tag_list", {"group_id": [group["group_id"]]})["tag_group"] == []

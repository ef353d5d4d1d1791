"""GET /api/v1/customers/<external_userid> and GET /api/v1/customers."""
from __future__ import annotations

import json
from datetime import timedelta

from tests.api.factories import (
    OTHER_CORP_ID,
    T0,
    gen_customer,
    gen_group,
    gen_member,
    gen_relation,
    gen_relation_tag,
    gen_staff,
    gen_tag,
    gen_timeline,
)
from tests.helpers import count_queries

LATER = T0 + timedelta(days=1)


def ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [c["external_userid"] for c in resp.get_json()]


# --- detail ----------------------------------------------------------------------------------

def test_customer_detail_with_relations_tags_groups_timeline(get):
    customer = gen_customer(external_userid="wmA", name="张三", avatar="https://wx.qlogo.cn/a.png",
                            corp_name="腾讯", corp_full_name="腾讯科技", position="PM", unionid="u1",
                            external_profile={"external_attr": [{"type": 0, "name": "x"}]})
    gen_staff(userid="lisi", name="李四")
    zhang = gen_relation(customer, "zhangsan", remark="大客户", description="买过两次",
                         remark_corp_name="腾讯", remark_mobiles=["13800000000"], add_way=1,
                         state="qr-spring", oper_userid="zhangsan",
                         status_changed_at=None)
    gen_relation(customer, "lisi", status="deleted_by_customer", status_changed_at=LATER)
    gen_tag(tag_id="etGOLD", name="金牌", group_id="etLEVEL", group_name="等级")
    gen_relation_tag(zhang, "etGOLD", "old name", group_name="old group")  # library name wins
    gen_relation_tag(zhang, None, "老朋友")  # personal tag: no tag_id, not in the library
    now_in = gen_group(chat_id="wrNOW", name="VIP 群", owner="zhangsan")
    gen_member(now_in, "wmA", join_time=T0 + timedelta(hours=2), join_scene=1)
    left = gen_group(chat_id="wrLEFT", name="活动群")
    gen_member(left, "wmA", join_time=T0, quit_time=T0 + timedelta(hours=1))
    gen_member(gen_group(chat_id="wrOTHER"), "wmSOMEONE")
    gen_timeline(customer, "relation_added", minutes=1, userid="zhangsan", summary="添加客户",
                 data={"add_way": 1})
    gen_timeline(customer, "remark_changed", minutes=2, source="sidebar")
    gen_timeline(gen_customer(external_userid="wmB"), "relation_added", minutes=3)

    resp = get("/api/v1/customers/wmA")
    assert resp.status_code == 200
    body = resp.get_json()
    assert {k: body[k] for k in ("external_userid", "name", "avatar", "type", "gender", "corp_name",
                                 "corp_full_name", "position", "unionid", "external_profile",
                                 "created_at", "updated_at")} == {
        "external_userid": "wmA", "name": "张三", "avatar": "https://wx.qlogo.cn/a.png", "type": 1,
        "gender": 1, "corp_name": "腾讯", "corp_full_name": "腾讯科技", "position": "PM",
        "unionid": "u1", "external_profile": {"external_attr": [{"type": 0, "name": "x"}]},
        "created_at": "2024-05-01T08:30:00Z", "updated_at": "2024-05-01T08:30:00Z"}

    relations = {r["userid"]: r for r in body["relations"]}
    assert set(relations) == {"zhangsan", "lisi"}
    assert relations["zhangsan"] == {
        "userid": "zhangsan", "staff_name": None, "remark": "大客户", "description": "买过两次",
        "remark_corp_name": "腾讯", "remark_mobiles": ["13800000000"], "add_way": 1,
        "state": "qr-spring", "oper_userid": "zhangsan", "added_at": "2024-05-01T08:30:00Z",
        "status": "active", "status_changed_at": None, "created_at": "2024-05-01T08:30:00Z",
        "updated_at": "2024-05-01T08:30:00Z",
        "tags": [{"tag_id": "etGOLD", "name": "金牌", "group_name": "等级", "type": 1},
                 {"tag_id": None, "name": "老朋友", "group_name": None, "type": 2}]}
    assert relations["lisi"]["staff_name"] == "李四"
    assert relations["lisi"]["status"] == "deleted_by_customer"
    assert relations["lisi"]["status_changed_at"] == "2024-05-02T08:30:00Z"
    assert relations["lisi"]["tags"] == []

    assert body["groups"] == [
        {"chat_id": "wrNOW", "name": "VIP 群", "owner": "zhangsan", "group_status": "active",
         "join_time": "2024-05-01T10:30:00Z", "join_scene": 1, "quit_time": None, "current": True},
        {"chat_id": "wrLEFT", "name": "活动群", "owner": "zhangsan", "group_status": "active",
         "join_time": "2024-05-01T08:30:00Z", "join_scene": 3, "quit_time": "2024-05-01T09:30:00Z",
         "current": False}]

    assert [(e["kind"], e["source"]) for e in body["timeline"]] == [
        ("remark_changed", "sidebar"), ("relation_added", "callback")]
    assert body["timeline"][1] == {"id": body["timeline"][1]["id"], "kind": "relation_added",
                                   "source": "callback", "userid": "zhangsan",
                                   "occurred_at": "2024-05-01T08:31:00Z", "summary": "添加客户",
                                   "data": {"add_way": 1}}


def test_membership_of_a_dismissed_group_is_not_current(get):
    gen_customer(external_userid="wmA")
    gen_member(gen_group(chat_id="wrGONE", status="dismissed"), "wmA")
    [group] = get("/api/v1/customers/wmA").get_json()["groups"]
    assert (group["chat_id"], group["group_status"], group["current"]) == ("wrGONE", "dismissed", False)


def test_timeline_defaults_to_latest_20_and_is_limited_by_query(get):
    customer = gen_customer(external_userid="wmA")
    for minute in range(25):
        gen_timeline(customer, f"k{minute}", minutes=minute)
    default = get("/api/v1/customers/wmA").get_json()["timeline"]
    assert [e["kind"] for e in default] == [f"k{m}" for m in range(24, 4, -1)]
    assert [e["kind"] for e in get("/api/v1/customers/wmA?timeline_limit=3").get_json()["timeline"]] == [
        "k24", "k23", "k22"]
    assert len(get("/api/v1/customers/wmA?timeline_limit=200").get_json()["timeline"]) == 25


def test_timeline_limit_out_of_range_is_422(get):
    gen_customer(external_userid="wmA")
    for value in ("0", "201", "many"):
        resp = get(f"/api/v1/customers/wmA?timeline_limit={value}")
        assert resp.status_code == 422
        assert list(resp.get_json()["errors"]["query"]) == ["timeline_limit"]


def test_unknown_customer_is_404_json(get):
    gen_customer(OTHER_CORP_ID, external_userid="wmA")  # same id, other corp
    resp = get("/api/v1/customers/wmA")
    assert resp.status_code == 404
    assert resp.mimetype == "application/json"
    assert resp.get_json() == {"code": 404, "status": "Not Found",
                               "message": "No customer with this external_userid."}


def test_customer_controlled_text_is_returned_as_json_data(get):
    nasty = "<script>alert(1)</script>"
    customer = gen_customer(external_userid="wmA", name=nasty)
    gen_relation(customer, "zhangsan", remark='"><img src=x onerror=alert(1)>')
    resp = get("/api/v1/customers/wmA")
    assert resp.mimetype == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.get_json()["name"] == nasty
    assert resp.get_json()["relations"][0]["remark"] == '"><img src=x onerror=alert(1)>'
    assert get("/api/v1/customers").get_json()[0]["name"] == nasty


# --- list ------------------------------------------------------------------------------------

def test_list_items_carry_compact_relations(get):
    customer = gen_customer(external_userid="wmA")
    relation = gen_relation(customer, "zhangsan", remark="r", description="not in the compact view")
    gen_relation_tag(relation, "etGOLD", "金牌")
    gen_customer(external_userid="wmB")
    body = get("/api/v1/customers").get_json()
    assert [c["external_userid"] for c in body] == ["wmA", "wmB"]
    assert body[0]["relations"] == [{
        "userid": "zhangsan", "staff_name": None, "remark": "r", "status": "active",
        "added_at": "2024-05-01T08:30:00Z", "status_changed_at": None,
        "updated_at": "2024-05-01T08:30:00Z",
        "tags": [{"tag_id": "etGOLD", "name": "金牌", "group_name": None, "type": 1}]}]
    assert body[1]["relations"] == []


def test_filter_by_userid(get):
    gen_relation(gen_customer(external_userid="wmA"), "zhangsan")
    gen_relation(gen_customer(external_userid="wmB"), "lisi")
    gen_customer(external_userid="wmC")
    assert ids(get("/api/v1/customers?userid=zhangsan")) == ["wmA"]


def test_filter_by_tag_id(get):
    tagged = gen_relation(gen_customer(external_userid="wmA"), "zhangsan")
    gen_relation_tag(tagged, "etGOLD", "金牌")
    other_tag = gen_relation(gen_customer(external_userid="wmB"), "zhangsan")
    gen_relation_tag(other_tag, "etSILVER", "银牌")
    gen_relation(gen_customer(external_userid="wmC"), "zhangsan")
    assert ids(get("/api/v1/customers?tag_id=etGOLD")) == ["wmA"]


def test_filter_by_status(get):
    gen_relation(gen_customer(external_userid="wmA"), "zhangsan", status="deleted_by_customer")
    gen_relation(gen_customer(external_userid="wmB"), "zhangsan", status="active")
    assert ids(get("/api/v1/customers?status=deleted_by_customer")) == ["wmA"]
    assert ids(get("/api/v1/customers?status=active")) == ["wmB"]


def test_relation_filters_must_hold_on_the_same_relation(get):
    customer = gen_customer(external_userid="wmA")
    gen_relation(customer, "zhangsan", status="deleted_by_staff")
    tagged = gen_relation(customer, "lisi", status="active")
    gen_relation_tag(tagged, "etGOLD", "金牌")
    assert ids(get("/api/v1/customers?userid=zhangsan&status=deleted_by_staff")) == ["wmA"]
    assert ids(get("/api/v1/customers?userid=zhangsan&status=active")) == []
    assert ids(get("/api/v1/customers?userid=zhangsan&tag_id=etGOLD")) == []
    assert ids(get("/api/v1/customers?userid=lisi&tag_id=etGOLD&status=active")) == ["wmA"]


def test_filter_by_updated_since_covers_customer_and_relations(get):
    gen_customer(external_userid="wmOLD")
    gen_customer(external_userid="wmNEW", updated_at=LATER)
    gen_relation(gen_customer(external_userid="wmREL"), "zhangsan", updated_at=LATER)
    assert ids(get("/api/v1/customers?updated_since=2024-05-02T08:30:00Z")) == ["wmNEW", "wmREL"]
    # The same instant with an offset (URL-encoded +), and naive (taken as UTC).
    assert ids(get("/api/v1/customers",
                   query_string={"updated_since": "2024-05-02T16:30:00+08:00"})) == ["wmNEW", "wmREL"]
    assert ids(get("/api/v1/customers?updated_since=2024-05-02T08:30:01")) == []
    assert len(ids(get("/api/v1/customers?updated_since=2024-05-01"))) == 3


def test_bad_filters_are_422_with_field_messages(get):
    resp = get("/api/v1/customers?status=blocked&updated_since=yesterday")
    assert resp.status_code == 422
    body = resp.get_json()
    assert (body["code"], body["status"]) == (422, "Unprocessable Entity")
    assert body["errors"] == {"query": {
        "status": ["Must be one of: active, deleted_by_staff, deleted_by_customer, transferred, deleted_unknown."],
        "updated_since": ["Not a valid datetime."]}}


def test_pagination(get):
    for n in range(5):
        gen_customer(external_userid=f"wm{n}")
    resp = get("/api/v1/customers?page=2&page_size=2")
    assert ids(resp) == ["wm2", "wm3"]
    assert json.loads(resp.headers["X-Pagination"]) == {
        "total": 5, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 2,
        "previous_page": 1, "next_page": 3}
    assert ids(get("/api/v1/customers?page=3&page_size=2")) == ["wm4"]
    resp = get("/api/v1/customers?page_size=201")
    assert resp.status_code == 422
    assert list(resp.get_json()["errors"]["query"]) == ["page_size"]


def test_list_query_count_does_not_grow_with_the_page(get):
    def seed(n: int) -> None:
        for _ in range(n):
            customer = gen_customer()
            for userid in ("zhangsan", "lisi"):
                gen_relation_tag(gen_relation(customer, userid), "etGOLD", "金牌")

    get("/api/v1/customers")  # records last_used_at: one write, then none for a minute
    seed(2)
    with count_queries() as small:
        assert len(get("/api/v1/customers").get_json()) == 2
    seed(10)
    with count_queries() as large:
        assert len(get("/api/v1/customers").get_json()) == 12
    assert len(large) == len(small) == 6  # token, count, page, relations, tags, audit of the reads

"""GET /api/v1/groups and /api/v1/groups/<chat_id>."""
from __future__ import annotations

import json
from datetime import timedelta

from tests.api.factories import OTHER_CORP_ID, T0, gen_group, gen_member


def chat_ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [g["chat_id"] for g in resp.get_json()]


def test_group_detail_lists_current_members_unless_include_quit(get):
    group = gen_group(chat_id="wrA", name="VIP 群", owner="zhangsan", notice="群公告",
                      admin_userids=["lisi"])
    gen_member(group, "zhangsan", type=1, join_scene=1, join_time=T0)
    gen_member(group, "wmX", name="客户X", group_nickname="<b>X</b>", invitor="zhangsan",
               join_time=T0 + timedelta(minutes=5), unionid="uX", state="qr1")
    gen_member(group, "wmGONE", join_time=T0 + timedelta(minutes=1),
               quit_time=T0 + timedelta(hours=1), quit_scene=0)
    gen_member(gen_group(chat_id="wrB"), "wmY")

    body = get("/api/v1/groups/wrA").get_json()
    assert {k: body[k] for k in ("chat_id", "name", "owner", "notice", "admin_userids", "create_time",
                                 "status", "dismissed_at", "member_count")} == {
        "chat_id": "wrA", "name": "VIP 群", "owner": "zhangsan", "notice": "群公告",
        "admin_userids": ["lisi"], "create_time": "2024-05-01T08:30:00Z", "status": "active",
        "dismissed_at": None, "member_count": 2}
    assert [m["member_id"] for m in body["members"]] == ["zhangsan", "wmX"]
    assert body["members"][1] == {
        "member_id": "wmX", "type": 2, "unionid": "uX", "name": "客户X", "group_nickname": "<b>X</b>",
        "join_time": "2024-05-01T08:35:00Z", "join_scene": 3, "invitor": "zhangsan", "state": "qr1",
        "quit_time": None, "quit_scene": None}

    with_quit = get("/api/v1/groups/wrA?include_quit=true").get_json()
    assert [m["member_id"] for m in with_quit["members"]] == ["zhangsan", "wmGONE", "wmX"]
    assert with_quit["members"][1]["quit_time"] == "2024-05-01T09:30:00Z"
    assert with_quit["members"][1]["quit_scene"] == 0
    assert with_quit["member_count"] == 2


def test_group_detail_errors(get):
    gen_group(OTHER_CORP_ID, chat_id="wrA")
    assert get("/api/v1/groups/wrA").status_code == 404
    gen_group(chat_id="wrB")
    resp = get("/api/v1/groups/wrB?include_quit=maybe")
    assert resp.status_code == 422
    assert list(resp.get_json()["errors"]["query"]) == ["include_quit"]


def test_list_groups_with_member_counts(get):
    group = gen_group(chat_id="wrA")
    gen_member(group, "wm1")
    gen_member(group, "wm2")
    gen_member(group, "wm3", quit_time=T0)
    gen_group(chat_id="wrEMPTY")
    body = get("/api/v1/groups").get_json()
    assert [(g["chat_id"], g["member_count"]) for g in body] == [("wrA", 2), ("wrEMPTY", 0)]


def test_list_groups_filters(get):
    gen_group(chat_id="wrA", owner="zhangsan", name="北京 VIP 客户群")
    gen_group(chat_id="wrB", owner="lisi", name="vip 上海")
    gen_group(chat_id="wrC", owner="zhangsan", name="已解散", status="dismissed", dismissed_at=T0)
    gen_group(chat_id="wrD", owner="zhangsan", name="100%_真")
    gen_group(OTHER_CORP_ID, chat_id="wrX", owner="zhangsan", name="VIP")

    assert chat_ids(get("/api/v1/groups?owner=zhangsan")) == ["wrA", "wrC", "wrD"]
    assert chat_ids(get("/api/v1/groups?status=dismissed")) == ["wrC"]
    assert chat_ids(get("/api/v1/groups?status=active&owner=zhangsan")) == ["wrA", "wrD"]
    assert chat_ids(get("/api/v1/groups", query_string={"name": "VIP"})) == ["wrA", "wrB"]
    # % and _ are literal characters, not wildcards.
    assert chat_ids(get("/api/v1/groups", query_string={"name": "%_"})) == ["wrD"]
    assert chat_ids(get("/api/v1/groups", query_string={"name": "_"})) == ["wrD"]


def test_list_groups_bad_status_is_422(get):
    resp = get("/api/v1/groups?status=gone")
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {"query": {"status": ["Must be one of: active, dismissed."]}}


def test_list_groups_is_paginated(get):
    for n in range(3):
        gen_group(chat_id=f"wr{n}")
    resp = get("/api/v1/groups?page_size=2")
    assert chat_ids(resp) == ["wr0", "wr1"]
    pagination = json.loads(resp.headers["X-Pagination"])
    assert (pagination["total"], pagination["total_pages"], pagination["next_page"]) == (3, 2, 2)

"""Every sidebar query string and body goes through a schema: the contract's 422 with field
messages, and integers out of range (pages, ids, cursors) answer 404/422, never 500 (issue #10,
shape 2 and security 7)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from scrm.extensions import db
from scrm.models import CustomField, FollowUp, TimelineEntry
from tests.api.factories import T0, gen_customer, gen_relation, gen_staff

HUGE, MAX_ID = "99999999999999999999", str(2**31 - 1)  # ids are INTEGER columns


@pytest.fixture
def mine(app):
    gen_staff(userid="zhangsan", name="张三")
    customer = gen_customer(external_userid="wmMINE")
    gen_relation(customer, "zhangsan")
    for n in range(3):
        db.session.add(TimelineEntry(corp_id=customer.corp_id, external_userid="wmMINE", kind="follow_up",
                                     source="sidebar", occurred_at=T0, summary=f"第{n}条"))
    db.session.commit()
    return customer


def invalid(response, *fields: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["code"] == 422 and response.json["message"] == "输入有误，请检查"
    assert set(response.json["errors"]) == set(fields)
    assert all(isinstance(m, list) and all(isinstance(s, str) for s in m) for m in response.json["errors"].values())


def test_list_sizes_out_of_range(mine, staff_client):
    for value in (HUGE, "-1", "0", "101", "abc", "1.5"):
        invalid(staff_client.get("/sidebar/api/customers/wmMINE", query_string={"timeline_limit": value}),
                "timeline_limit")
        invalid(staff_client.get("/sidebar/api/customers/wmMINE/timeline", query_string={"limit": value}), "limit")
        invalid(staff_client.get("/sidebar/api/customers/wmMINE/follow-ups", query_string={"page_size": value}),
                "page_size")


def test_pages_out_of_range(mine, staff_client):
    for value in (HUGE, "-1", "0", "10001", "x"):
        invalid(staff_client.get("/sidebar/api/customers/wmMINE/follow-ups", query_string={"page": value}), "page")
        invalid(staff_client.get("/sidebar/api/contents", query_string={"page": value}), "page")


def test_timeline_cursor_out_of_range(mine, staff_client):
    for value in (HUGE, str(2**31), str(2**63), "-5", "0", "x"):
        response = staff_client.get("/sidebar/api/customers/wmMINE/timeline", query_string={"before": value})
        invalid(response, "before")
        assert response.json["errors"]["before"] == ["应为时间线条目 id"]


def test_the_largest_cursor_and_page_are_answered(mine, staff_client):
    timeline = staff_client.get("/sidebar/api/customers/wmMINE/timeline", query_string={"before": MAX_ID})
    assert timeline.status_code == 200 and len(timeline.json["items"]) == 3  # an unknown anchor: from the top
    follow_ups = staff_client.get("/sidebar/api/customers/wmMINE/follow-ups", query_string={"page": "10000"})
    assert follow_ups.status_code == 200 and follow_ups.json["items"] == []
    contents = staff_client.get("/sidebar/api/contents", query_string={"page": "10000", "q": ""})
    assert contents.status_code == 200 and contents.json["items"] == []


def test_ids_in_paths_out_of_range_are_404(mine, staff_client):
    for value in (HUGE, str(2**63), str(2**31), "-1", "0"):
        for method, path in (("POST", f"/sidebar/api/contents/{value}/sent"),
                             ("GET", f"/sidebar/api/sop-tasks/{value}"),
                             ("POST", f"/sidebar/api/sop-tasks/{value}/sent")):
            assert staff_client.open(path, method=method, json={}).status_code == 404, path


def test_the_largest_ids_are_not_found(mine, staff_client):
    gone = staff_client.post(f"/sidebar/api/contents/{MAX_ID}/sent", json={})
    assert (gone.status_code, gone.json["message"]) == (404, "内容不存在或已删除")
    for method in ("GET", "POST"):
        task = staff_client.open(f"/sidebar/api/sop-tasks/{MAX_ID}" + ("/sent" if method == "POST" else ""),
                                 method=method)
        assert (task.status_code, task.json["message"]) == (404, "任务不存在")


def test_stage_ids_out_of_range_or_not_integers(mine, staff_client):
    for stage_id in (int(HUGE), 2**63, 2**31, -1, 0, True, "3", 1.5, [3]):
        response = staff_client.put("/sidebar/api/customers/wmMINE/stage", json={"stage_id": stage_id})
        invalid(response, "stage_id")
        assert response.json["errors"]["stage_id"] == ["应为阶段 id"]


def test_a_body_that_is_not_a_json_object(mine, staff_client):
    for method, path in (("PUT", "customers/wmMINE/tags"), ("PUT", "customers/wmMINE/stage"),
                         ("PUT", "customers/wmMINE/fields"), ("PUT", "customers/wmMINE/remark"),
                         ("POST", "customers/wmMINE/follow-ups"), ("POST", "contents/1/sent")):
        for payload in ([1, 2], "text", 3):
            response = staff_client.open("/sidebar/api/" + path, method=method, json=payload)
            invalid(response, "json")
            assert response.json["errors"] == {"json": ["请求体应为 JSON 对象"]}


def test_tag_lists(mine, staff_client):
    for body, errors in (
        ({"add": "etA"}, {"add": ["应为标签 id 列表"]}),
        ({"add": ["etA", ""], "remove": [1]}, {"add": ["应为标签 id 列表"], "remove": ["应为标签 id 列表"]}),
    ):
        response = staff_client.put("/sidebar/api/customers/wmMINE/tags", json=body)
        assert response.status_code == 422 and response.json["errors"] == errors, body


def test_field_values(mine, staff_client):
    for body, errors in (
        ({}, {"values": ["应为 {字段: 值} 对象"]}),
        ({"values": ["a"]}, {"values": ["应为 {字段: 值} 对象"]}),
        ({"values": None}, {"values": ["应为 {字段: 值} 对象"]}),
    ):
        response = staff_client.put("/sidebar/api/customers/wmMINE/fields", json=body)
        assert response.status_code == 422 and response.json["errors"] == errors, body


def test_a_number_beyond_a_float_is_422_not_500(mine, staff_client):
    db.session.add(CustomField(corp_id=mine.corp_id, key="budget", label="预算", type="number", order=1))
    db.session.commit()
    response = staff_client.put("/sidebar/api/customers/wmMINE/fields", json={"values": {"budget": 10**400}})
    assert response.status_code == 422 and response.json["errors"] == {"budget": ["请输入数字"]}
    fine = staff_client.put("/sidebar/api/customers/wmMINE/fields", json={"values": {"budget": 10**300}})
    assert fine.status_code == 200


def test_remark_shapes(mine, staff_client):
    for body, errors in (
        ({"remark": 5}, {"remark": ["请输入文本"]}),
        ({"description": ["x"]}, {"description": ["请输入文本"]}),
        ({"remark_mobiles": "13800000000"}, {"remark_mobiles": ["应为手机号列表"]}),
        ({"remark_mobiles": [138]}, {"remark_mobiles": ["应为手机号列表"]}),
        ({"remark_mobiles": None}, {"remark_mobiles": ["应为手机号列表"]}),
    ):
        response = staff_client.put("/sidebar/api/customers/wmMINE/remark", json=body)
        assert response.status_code == 422 and response.json["errors"] == errors, body


def test_follow_up_shapes(mine, staff_client):
    for body, errors in (
        ({"kind": "note"}, {"content": ["请填写跟进内容"]}),
        ({"kind": "note", "content": None}, {"content": ["请填写跟进内容"]}),
        ({"kind": 3, "content": "回访"}, {"kind": ["跟进方式应为 聊天/电话/拜访/备注 之一"]}),
        ({"kind": "note", "content": "回访", "next_at": "明天"}, {"next_at": ["时间格式不正确"]}),
        ({"kind": "note", "content": "回访", "next_at": 1767225600}, {"next_at": ["时间格式不正确"]}),
    ):
        response = staff_client.post("/sidebar/api/customers/wmMINE/follow-ups", json=body)
        assert response.status_code == 422 and response.json["errors"] == errors, body
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_unknown_keys_are_ignored_as_before(mine, staff_client):
    response = staff_client.post("/sidebar/api/customers/wmMINE/follow-ups",
                                 json={"kind": "note", "content": "回访", "next_at": "", "extra": 1})
    assert response.status_code == 201 and response.json["next_at"] is None


def test_sop_task_list_needs_the_customer(mine, staff_client):
    for query in ({}, {"external_userid": ""}):
        response = staff_client.get("/sidebar/api/sop-tasks", query_string=query)
        assert response.status_code == 422 and response.json["errors"] == {"external_userid": ["必填"]}
    too_long = staff_client.get("/sidebar/api/sop-tasks", query_string={"external_userid": "w" * 65})
    assert too_long.json["errors"] == {"external_userid": ["应为不超过 64 个字符的文本"]}

"""Group labels: CRUD (name unique per corp), bulk assignment both ways, the groups list filter
and the labels in a group's detail."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import GroupLabelLink
from tests.api.factories import OTHER_CORP_ID, gen_group


def test_crud_with_a_unique_name(app, api):
    created = api("POST", "/group-labels", json={"name": "高活跃", "category": "活跃度", "color": "#FF8800"})
    assert created.status_code == 201, created.json
    assert (created.json["name"], created.json["group_count"]) == ("高活跃", 0)
    assert api("POST", "/group-labels", json={"name": "高活跃"}).json["errors"]["json"]["name"]
    bad = api("POST", "/group-labels", json={"name": "", "color": "orange"})
    assert bad.status_code == 422 and set(bad.json["errors"]["json"]) == {"name", "color"}
    other = api("POST", "/group-labels", json={"name": "VIP", "category": "价值"}).json
    assert api("PATCH", f"/group-labels/{other['id']}", json={"name": "高活跃"}).status_code == 422
    renamed = api("PATCH", f"/group-labels/{other['id']}", json={"name": "大客户", "color": None})
    assert renamed.status_code == 200 and renamed.json["name"] == "大客户"
    assert [x["name"] for x in api("GET", "/group-labels").json] == ["高活跃", "大客户"]
    assert [x["name"] for x in api("GET", "/group-labels?category=价值").json] == ["大客户"]
    assert api("DELETE", f"/group-labels/{other['id']}").status_code == 204
    assert api("GET", f"/group-labels/{other['id']}").status_code == 404


def test_bulk_assignment_filter_and_detail(app, api):
    one, two, three = (gen_group() for _ in range(3))
    label = api("POST", "/group-labels", json={"name": "新人群"}).json
    vip = api("POST", "/group-labels", json={"name": "VIP"}).json
    added = api("POST", f"/group-labels/{label['id']}/groups", json={"add": [one.chat_id, two.chat_id, one.chat_id]})
    assert added.json == {"added": 2, "removed": 0, "groups": 2}
    again = api("POST", f"/group-labels/{label['id']}/groups",
                json={"add": [three.chat_id], "remove": [one.chat_id]})
    assert again.json == {"added": 1, "removed": 1, "groups": 2}
    unknown = api("POST", f"/group-labels/{label['id']}/groups", json={"add": ["wrNOPE"]})
    assert unknown.status_code == 422 and "wrNOPE" in unknown.json["errors"]["json"]["add"][0]

    put = api("PUT", f"/groups/{two.chat_id}/labels", json={"label_ids": [vip["id"], label["id"]]})
    assert put.status_code == 200 and [x["name"] for x in put.json] == ["新人群", "VIP"]
    listed = api("GET", f"/groups?label_id={label['id']}")
    assert [g["chat_id"] for g in listed.json] == [two.chat_id, three.chat_id]
    assert [g["chat_id"] for g in api("GET", f"/groups?label_id={vip['id']}").json] == [two.chat_id]
    detail = api("GET", f"/groups/{two.chat_id}").json
    assert [x["name"] for x in detail["labels"]] == ["新人群", "VIP"]

    cleared = api("PUT", f"/groups/{two.chat_id}/labels", json={"label_ids": [vip["id"]]})
    assert [x["name"] for x in cleared.json] == ["VIP"]
    assert api("PUT", f"/groups/{two.chat_id}/labels", json={"label_ids": [424242]}).status_code == 422
    assert api("PUT", "/groups/wrNOPE/labels", json={"label_ids": []}).status_code == 404
    assert api("GET", "/groups?label_id=0").status_code == 422

    assert api("DELETE", f"/group-labels/{vip['id']}").status_code == 204
    assert db.session.scalars(select(GroupLabelLink.chat_id).where(GroupLabelLink.label_id == vip["id"])).all() == []


def test_another_corps_groups_and_labels_are_out_of_reach(app, api):
    theirs = gen_group(OTHER_CORP_ID)
    label = api("POST", "/group-labels", json={"name": "x"}).json
    assert api("POST", f"/group-labels/{label['id']}/groups", json={"add": [theirs.chat_id]}).status_code == 422
    assert api("PUT", f"/groups/{theirs.chat_id}/labels", json={"label_ids": []}).status_code == 404

"""The corp-wide parts of the profile (tag library, stages, field definitions): served once with
an ETag or cached per corp, and changed by every writer (issue #16)."""
from __future__ import annotations

from sqlalchemy import update

from scrm.extensions import db
from scrm.models import CustomField, FunnelStage, Tag
from tests.api.factories import gen_customer, gen_relation, gen_staff, gen_tag
from tests.conftest import TEST_CORP_ID


def _library(client, etag: str | None = None):
    return client.get("/sidebar/api/tag-library", headers={"If-None-Match": etag} if etag else {})


def test_the_tag_library_answers_304_until_a_tag_changes(staff_client):
    gen_staff(userid="zhangsan", name="张三")
    gen_tag(tag_id="et1", name="重要", group_id="g1", group_name="客户等级")
    first = _library(staff_client)
    etag = first.headers["ETag"]
    assert first.status_code == 200
    assert [t["name"] for g in first.get_json()["groups"] for t in g["tags"]] == ["重要"]
    assert _library(staff_client, etag).status_code == 304

    db.session.add(Tag(corp_id=TEST_CORP_ID, tag_id="et2", group_id="g1", name="一般"))  # as the callbacks do
    db.session.commit()
    second = _library(staff_client, etag)
    assert second.status_code == 200 and second.headers["ETag"] != etag
    assert [t["name"] for g in second.get_json()["groups"] for t in g["tags"]] == ["重要", "一般"]

    # A set-based write (a tag deleted by change_external_tag) is seen as well.
    db.session.execute(update(Tag).where(Tag.corp_id == TEST_CORP_ID, Tag.tag_id == "et1").values(deleted=True))
    db.session.commit()
    third = _library(staff_client, second.headers["ETag"])
    assert [t["name"] for g in third.get_json()["groups"] for t in g["tags"]] == ["一般"]


def test_the_tag_library_needs_the_staff_session(client):
    assert client.get("/sidebar/api/tag-library").status_code == 401


def test_stage_and_field_edits_reach_the_next_profile(staff_client):
    customer = gen_customer()
    gen_staff(userid="zhangsan", name="张三")
    gen_relation(customer, "zhangsan")
    url = f"/sidebar/api/customers/{customer.external_userid}"
    before = staff_client.get(url).get_json()
    assert before["fields"] == [] and len(before["stage"]["options"]) == 6  # the default funnel

    stage = db.session.get(FunnelStage, before["stage"]["options"][0]["id"])
    stage.name = "首次接触"
    db.session.add(CustomField(corp_id=TEST_CORP_ID, key="budget", label="预算", type="number", order=1))
    db.session.commit()
    after = staff_client.get(url).get_json()
    assert after["stage"]["options"][0]["name"] == "首次接触"
    assert [(f["key"], f["label"], f["value"]) for f in after["fields"]] == [("budget", "预算", None)]

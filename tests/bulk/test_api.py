"""/api/v1/bulk-jobs: validation (422 with field messages, nothing created), another corp's job not
found, the item filter checked, the list paged and corp-scoped."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import BulkJob, Sop
from tests.bulk.conftest import T0, start
from tests.conftest import TEST_CORP_ID

AUDIENCE = {"external_userids": ["wmA"]}
STAFF = "接替成员应为在职成员"
TAGS = "未知或已删除的标签：etNOPE"


@pytest.fixture
def sops(world):
    paused = Sop(corp_id=TEST_CORP_ID, name="暂停的", status="paused", conditions={})
    deleted = Sop(corp_id=TEST_CORP_ID, name="删除的", status="deleted", conditions={})
    other = Sop(corp_id="other-corp", name="别家的", status="active", conditions={})
    db.session.add_all([paused, deleted, other])
    db.session.commit()
    return {"paused": paused.id, "deleted": deleted.id, "other": other.id}


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"kind": "nope", "audience": AUDIENCE}, "kind", None),
    ({"kind": "add_tags"}, "audience", None),
    ({"kind": "add_tags", "audience": {}, "tag_ids": ["etVIP"]}, "audience", None),
    ({"kind": "add_tags", "audience": AUDIENCE}, "tag_ids", "Missing data for required field."),
    ({"kind": "remove_tags", "audience": AUDIENCE, "tag_ids": []}, "tag_ids", None),
    ({"kind": "add_tags", "audience": AUDIENCE, "tag_ids": ["etVIP", "etNOPE"]}, "tag_ids", TAGS),
    ({"kind": "start_sop", "audience": AUDIENCE}, "sop_id", "Missing data for required field."),
    ({"kind": "start_sop", "audience": AUDIENCE, "sop_id": 99999}, "sop_id", "未知或已删除的 SOP"),
    ({"kind": "start_sop", "audience": AUDIENCE, "sop_id": "deleted"}, "sop_id", "未知或已删除的 SOP"),
    ({"kind": "start_sop", "audience": AUDIENCE, "sop_id": "other"}, "sop_id", "未知或已删除的 SOP"),
    ({"kind": "start_sop", "audience": AUDIENCE, "sop_id": "paused"}, "sop_id", "该 SOP 已暂停：请先启用"),
    ({"kind": "reassign", "audience": AUDIENCE}, "takeover_userid", "Missing data for required field."),
    ({"kind": "reassign", "audience": AUDIENCE, "takeover_userid": "nobody"}, "takeover_userid", STAFF),
    ({"kind": "reassign", "audience": AUDIENCE, "takeover_userid": "laoliu"}, "takeover_userid", STAFF),
    ({"kind": "reassign", "audience": {**AUDIENCE, "senders": ["zhangsan"]}, "takeover_userid": "zhangsan"},
     "takeover_userid", "接替成员不能是原跟进成员"),
    ({"kind": "reassign", "audience": AUDIENCE, "takeover_userid": "wangwu", "transfer_success_msg": "好" * 201},
     "transfer_success_msg", "最多 200 个字"),
])
def test_invalid_jobs_are_refused_with_field_messages(app, api, sops, body, field, message):
    if isinstance(body.get("sop_id"), str):
        body = {**body, "sop_id": sops[body["sop_id"]]}
    resp = api("POST", "/bulk-jobs", json=body)
    assert resp.status_code == 422, resp.get_json()
    errors = resp.get_json()["errors"]["json"]
    assert field in errors
    if message:
        assert errors[field] == [message]
    assert db.session.scalar(select(BulkJob.id)) is None


def test_another_corps_job_is_not_found_and_filters_are_checked(app, api, world):
    other = BulkJob(corp_id="other-corp", kind="add_tags", audience={}, params={}, status="done", created_by="t",
                    created_at=T0)
    db.session.add(other)
    db.session.commit()
    for path in (f"/bulk-jobs/{other.id}", f"/bulk-jobs/{other.id}/items"):
        assert api("GET", path).status_code == 404
    assert api("POST", f"/bulk-jobs/{other.id}/cancel").status_code == 404
    mine = start(api, "add_tags", tag_ids=["etVIP"])
    assert api("GET", f"/bulk-jobs/{mine['id']}/items", query_string={"status": "nope"}).status_code == 422
    assert api("GET", "/bulk-jobs/99999999999").status_code == 404
    listed = api("GET", "/bulk-jobs", query_string={"page_size": 1})
    assert [j["id"] for j in listed.get_json()] == [mine["id"]]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    assert db.session.get(BulkJob, other.id).status == "done"

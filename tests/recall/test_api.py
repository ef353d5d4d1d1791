"""/api/v1/recall-playbooks: create, read, edit, pause, resume, delete; 422 with field messages
for bad input (content checked as SOP step content is); 404 for unknown or other corps' ids;
/api/v1/recalls filters."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from scrm.extensions import db
from scrm.models import FunnelStage, Recall, RecallPlaybook
from scrm.services.recall import create_recalls
from tests.api.factories import gen_token
from tests.conftest import TEST_CORP_ID
from tests.recall.conftest import entered
from tests.welcome.support import gen_tags

NOW = datetime(2026, 3, 1, 21, 0)
VALID = {"name": "沉睡客户提醒", "trigger": "dormant", "action": "reminder", "text": "{nickname}您好，好久不见"}


def errors(resp) -> dict:
    assert resp.status_code == 422, resp.json
    return resp.json["errors"]["json"]


def test_create_read_edit_pause_resume_delete(api):
    gen_tags(("etVIP", "重要"))
    stage = FunnelStage(corp_id=TEST_CORP_ID, name="意向", order=1)
    db.session.add(stage)
    db.session.commit()
    created = api("POST", "/recall-playbooks", json={
        **VALID, "segment": {"tag_ids": ["etVIP", "etVIP"], "stage_ids": [stage.id]}, "priority": 5,
        "cooldown_days": 60})
    assert created.status_code == 201, created.json
    body = created.json
    assert {k: body[k] for k in ("name", "trigger", "action", "priority", "cooldown_days", "status", "recalls")} == {
        "name": "沉睡客户提醒", "trigger": "dormant", "action": "reminder", "priority": 5, "cooldown_days": 60,
        "status": "active", "recalls": 0}
    assert body["segment"] == {"tag_ids": ["etVIP"], "stage_ids": [stage.id]}
    pid = body["id"]
    assert api("GET", f"/recall-playbooks/{pid}").json["name"] == "沉睡客户提醒"
    assert [p["id"] for p in api("GET", "/recall-playbooks").json] == [pid]

    edited = api("PATCH", f"/recall-playbooks/{pid}", json={"name": "沉睡提醒", "action": "mass_send",
                                                             "cooldown_days": None})
    assert edited.status_code == 200, edited.json
    assert (edited.json["name"], edited.json["action"], edited.json["cooldown_days"]) == ("沉睡提醒", "mass_send", None)
    assert api("POST", f"/recall-playbooks/{pid}/pause").json["status"] == "paused"
    assert api("POST", f"/recall-playbooks/{pid}/resume").json["status"] == "active"

    # Delete: its recalls not yet sent are cancelled.
    assert api("PATCH", f"/recall-playbooks/{pid}", json={"segment": {}}).json["segment"] == {
        "tag_ids": [], "stage_ids": []}
    entered("zhangsan", "wmA", "dormant", NOW)
    db.session.commit()
    assert create_recalls(TEST_CORP_ID, NOW) == 1
    db.session.commit()
    assert api("DELETE", f"/recall-playbooks/{pid}").status_code == 204
    assert api("GET", f"/recall-playbooks/{pid}").status_code == 404
    assert api("GET", "/recall-playbooks").json == []
    db.session.expire_all()
    assert db.session.scalar(select(Recall.status)) == "cancelled"


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"trigger": "dormant", "action": "reminder", "text": "x"}, "name", "Missing data for required field."),
    ({**VALID, "trigger": "asleep"}, "trigger", "Must be one of"),
    ({**VALID, "action": "sms"}, "action", "Must be one of"),
    ({**VALID, "action": "contact"}, "action", "contact is for the deleted_by_customer trigger"),
    ({**VALID, "trigger": "deleted_by_customer"}, "action", "can only be reached another way"),
    ({**VALID, "text": None}, "text", "A playbook needs text or attachments."),
    ({**VALID, "text": "好" * 1400}, "text", "At most"),
    ({**VALID, "priority": -1}, "priority", "greater than or equal to 0"),
    ({**VALID, "cooldown_days": 0}, "cooldown_days", "greater than or equal to 1"),
    ({**VALID, "attachments": [{"msgtype": "link", "title": "t"}]}, "attachments", ""),
    ({**VALID, "trigger": "deleted_by_customer", "action": "contact",
      "attachments": [{"msgtype": "link", "title": "t", "url": "https://example.com"}]}, "attachments",
     "A contact task has no attachments"),
])
def test_bad_input_is_422_with_field_messages(api, body, field, message):
    found = errors(api("POST", "/recall-playbooks", json=body))
    assert field in found
    assert message in str(found[field])
    assert db.session.scalar(select(RecallPlaybook.id)) is None


def test_checks_against_stored_data_name_their_fields(api):
    found = errors(api("POST", "/recall-playbooks", json={**VALID, "segment": {"tag_ids": ["etNOPE"],
                                                                                "stage_ids": [999]},
                                                          "attachments": [{"msgtype": "image", "media": 12345}]}))
    assert found["segment.tag_ids"] == ["Unknown tag id(s): etNOPE."]
    assert found["segment.stage_ids"] == ["Unknown funnel stage id(s): 999."]
    assert any(key.startswith("attachments.0") for key in found)


def test_an_edit_is_checked_with_the_stored_trigger_and_action(api):
    pid = api("POST", "/recall-playbooks", json=VALID).json["id"]
    assert "contact is for the deleted_by_customer" in str(
        errors(api("PATCH", f"/recall-playbooks/{pid}", json={"action": "contact"}))["action"])
    assert "can only be reached another way" in str(
        errors(api("PATCH", f"/recall-playbooks/{pid}", json={"trigger": "deleted_by_customer"}))["action"])
    assert errors(api("PATCH", f"/recall-playbooks/{pid}", json={"text": None}))["text"] == [
        "A playbook needs text or attachments."]
    ok = api("PATCH", f"/recall-playbooks/{pid}", json={"trigger": "deleted_by_customer", "action": "contact"})
    assert ok.status_code == 200 and ok.json["action"] == "contact"
    assert api("GET", f"/recall-playbooks/{pid}").json["trigger"] == "deleted_by_customer"


def test_unknown_and_other_corps_playbooks_are_404(api, client):
    pid = api("POST", "/recall-playbooks", json=VALID).json["id"]
    other = gen_token(corp_id="wwOTHER")
    headers = {"Authorization": f"Bearer {other}"}
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/pause"), ("GET", "/stats")):
        resp = client.open(f"/api/v1/recall-playbooks/{pid}{path}", method=method, headers=headers,
                           json={} if method == "PATCH" else None)
        assert resp.status_code == 404, (method, path)
    assert api("GET", "/recall-playbooks/99999").status_code == 404
    assert api("GET", f"/recall-playbooks/{2**40}").status_code == 404
    assert api("GET", f"/recall-playbooks/{pid}/stats?from=2026-05-01&to=2026-01-01").status_code == 422


def test_recalls_list_filters(api):
    a = api("POST", "/recall-playbooks", json=VALID).json["id"]
    entered("zhangsan", "wmA", "dormant", NOW)
    entered("lisi", "wmB", "dormant", NOW)
    db.session.commit()
    assert create_recalls(TEST_CORP_ID, NOW) == 2
    db.session.commit()
    assert len(api("GET", "/recalls").json) == 2
    assert [r["external_userid"] for r in api("GET", "/recalls?userid=lisi").json] == ["wmB"]
    assert [r["playbook_id"] for r in api("GET", f"/recalls?playbook_id={a}&status=pending").json] == [a, a]
    assert api("GET", "/recalls?status=sent").json == []
    assert api("GET", "/recalls?created_from=2026-03-02T00:00:00Z").json == []
    bad = api("GET", "/recalls?status=bogus&outcome=maybe&playbook_id=0")
    assert bad.status_code == 422
    assert set(bad.json["errors"]["query"]) == {"status", "outcome", "playbook_id"}

"""The 运维 page (administrators only) and the resources it calls through the console's mount
(/console/api/v1/...): the same views as /api/v1, with the session and the CSRF header."""
from __future__ import annotations

import json
from datetime import timedelta

from rq.registry import FailedJobRegistry

from scrm.extensions import db
from scrm.models import AuditLog, StaffRole, SyncRun
from scrm.queueing import get_queue
from tests.api.factories import T0, gen_event
from tests.api.ops_jobs import DONE
from tests.api.test_ops_api import failed_job
from tests.conftest import TEST_CORP_ID
from tests.console.conftest import page_token
from tests.console.test_pages import NAUGHTY, bootstrap

PAGE = "/console/operations"


def sign_in_member(client, wecom) -> None:
    from tests.console.test_wecom_login import callback, replies, start

    replies(wecom, {"errcode": 0, "errmsg": "ok", "userid": "zhangsan"})
    callback(client, start(client)["state"])


def test_an_administrator_gets_the_page_with_its_script(admin_client):
    resp = admin_client.get(PAGE)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    data = bootstrap(html)
    assert (data["page"], data["title"], data["active"]) == ("operations", "运维", "/console/operations")
    assert "/console/static/operations.js" in html and "/console/static/operations.css" in html
    for tab in ("运行状态", "失败任务", "回调记录", "同步记录", "接口错误率", "审计日志"):
        assert f'label="{tab}"' in html, tab
    assert "即将推出" not in html


def test_a_member_without_the_admin_role_is_refused_the_page_and_its_data(client, wecom, staff):
    sign_in_member(client, wecom)
    resp = client.get(PAGE)
    assert resp.status_code == 403 and "仅限管理员" in resp.get_data(as_text=True)
    for path in ("/console/api/v1/jobs/failed", "/console/api/v1/status", "/console/api/v1/wecom-errors"):
        assert client.get(path).status_code == 403, path
    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="zhangsan", role="admin", data_scope="corp"))
    db.session.commit()
    assert client.get(PAGE).status_code == 200
    assert client.get("/console/api/v1/jobs/failed").status_code == 200


def test_the_page_needs_a_session(client):
    assert client.get(PAGE).headers["Location"] == "/console/login?next=/console/operations"
    assert client.get("/console/api/v1/jobs/failed").status_code == 401


def test_retry_from_the_console_needs_the_csrf_token_and_requeues_the_job(app, admin_client, redis_client):
    job_id = failed_job(app, "Erin")
    listed = admin_client.get("/console/api/v1/jobs/failed")
    assert [row["id"] for row in listed.get_json()] == [job_id]
    assert "Erin" not in listed.get_data(as_text=True)
    path = f"/console/api/v1/jobs/failed/{job_id}/retry"
    assert admin_client.post(path).status_code == 400  # no CSRF header: refused before the view
    assert FailedJobRegistry(queue=get_queue("periodic")).get_job_ids() == [job_id]
    resp = admin_client.post(path, headers={"X-CSRF-Token": page_token(admin_client, PAGE)})
    assert resp.status_code == 200 and resp.get_json()["function"] == "tests.api.ops_jobs.fail_once"
    from tests.helpers import run_jobs

    assert run_jobs(app, ["periodic"]) == 1
    assert redis_client.get(DONE + "Erin") == b"1"
    row = db.session.query(AuditLog).one()
    assert (row.userid, row.action, row.target_id) == ("console-admin:admin", "retry_job", job_id)


def test_delete_from_the_console(app, admin_client):
    job_id = failed_job(app)
    token = page_token(admin_client, PAGE)
    resp = admin_client.delete(f"/console/api/v1/jobs/failed/{job_id}", headers={"X-CSRF-Token": token})
    assert resp.status_code == 204
    assert admin_client.get("/console/api/v1/jobs/failed").get_json() == []


def test_inbox_filters_and_their_422_through_the_console(admin_client):
    wanted = gen_event(status="failed", received_at=T0 + timedelta(minutes=10))
    gen_event(status="failed", received_at=T0 + timedelta(days=1))
    gen_event(status="processed", received_at=T0 + timedelta(minutes=10))
    query = {"status": "failed", "event": "change_external_contact",
             "since": "2024-05-01T08:00:00Z", "until": "2024-05-01T09:00:00Z", "page_size": 20}
    resp = admin_client.get("/console/api/v1/events", query_string=query)
    assert [row["id"] for row in resp.get_json()] == [wanted.id]
    assert json.loads(resp.headers["X-Pagination"])["total"] == 1
    bad = admin_client.get("/console/api/v1/events", query_string={"status": "bogus", "until": "x"})
    assert bad.status_code == 422
    assert {"status", "until"} <= set(bad.get_json()["errors"]["query"])


def test_audit_log_shows_customer_controlled_text_only_as_json(admin_client):
    db.session.add(AuditLog(corp_id=TEST_CORP_ID, userid="zhangsan", action="edit_remark", target_type="customer",
                            target_id="wmX", detail={"remark": NAUGHTY}, at=T0))
    db.session.commit()
    resp = admin_client.get("/console/api/v1/audit-log", query_string={"action": "edit_remark"})
    assert resp.get_json()[0]["detail"] == {"remark": NAUGHTY}
    assert resp.mimetype == "application/json"
    assert NAUGHTY not in admin_client.get(PAGE).get_data(as_text=True)


def test_sync_now_from_the_console_starts_a_run(admin_client):
    token = page_token(admin_client, PAGE)
    resp = admin_client.post("/console/api/v1/syncs", json={}, headers={"X-CSRF-Token": token})
    assert resp.status_code == 202
    run = db.session.get(SyncRun, resp.get_json()["id"])
    assert (run.corp_id, run.status) == (TEST_CORP_ID, "queued")
    again = admin_client.post("/console/api/v1/syncs", json={}, headers={"X-CSRF-Token": token})
    assert again.status_code == 409
    assert [row["id"] for row in admin_client.get("/console/api/v1/syncs").get_json()] == [run.id]


def test_wecom_errors_and_status_through_the_console(admin_client):
    errors = admin_client.get("/console/api/v1/wecom-errors", query_string={"minutes": 360})
    assert errors.status_code == 200 and errors.get_json()["step_minutes"] == 5
    assert admin_client.get("/console/api/v1/wecom-errors?minutes=-1").status_code == 422
    status = admin_client.get("/console/api/v1/status")
    assert status.status_code == 200 and status.get_json()["corps"][0]["corp_id"] == TEST_CORP_ID

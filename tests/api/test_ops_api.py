"""The operations resources: failed jobs (list, retry, delete), WeCom errors over time, and the
inbox's and audit log's filters. Admin scope for the first two."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from rq.registry import FailedJobRegistry

from scrm.extensions import db
from scrm.models import AuditLog
from scrm.queueing import enqueue, get_queue
from scrm.services.tokens import create_token
from scrm.wecom import WeComError, callstats
from tests.api.factories import T0, gen_event
from tests.api.ops_jobs import DONE
from tests.conftest import TEST_CORP_ID, WECOM_BASE
from tests.helpers import run_jobs

CONTACT = WECOM_BASE + "externalcontact/get"


@pytest.fixture
def admin_token(app) -> str:
    return create_token("ops", TEST_CORP_ID, scope="admin")


def _h(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def failed_job(app, name: str = "Alice", queue: str = "periodic") -> str:
    """A job run by a real (burst) worker that fails the first time: it lands in the failed registry."""
    job = enqueue("tests.api.ops_jobs.fail_once", name, queue=queue)
    run_jobs(app, [queue])
    assert job.id in FailedJobRegistry(queue=get_queue(queue)).get_job_ids()
    return job.id


def failed_earlier(job_id: str, seconds: int, queue: str = "periodic") -> None:
    """As if the job had failed ``seconds`` earlier (the registry's score is the failure time
    plus the queue's failure_ttl, in whole seconds)."""
    registry = FailedJobRegistry(queue=get_queue(queue))
    registry.connection.zincrby(registry.key, -seconds, job_id)


def test_failed_jobs_show_function_queue_times_and_exception_type_only(app, client, admin_token):
    first = failed_job(app, "Alice", "periodic")
    second = failed_job(app, "Bob", "messages")
    failed_earlier(first, 10)
    resp = client.get("/api/v1/jobs/failed", headers=_h(admin_token))
    assert resp.status_code == 200
    body = resp.get_json()
    assert [job["id"] for job in body] == [second, first]  # newest failure first
    job = body[0]
    assert job["queue"] == "messages" and job["function"] == "tests.api.ops_jobs.fail_once"
    assert job["exception"] == "LookupError"
    assert job["failed_at"].endswith("Z") and job["enqueued_at"].endswith("Z")
    text = resp.get_data(as_text=True)
    assert "Bob" not in text and "wmCUSTOMER" not in text and "13800138000" not in text
    assert json.loads(resp.headers["X-Pagination"])["total"] == 2
    only = client.get("/api/v1/jobs/failed?queue=periodic&page_size=1", headers=_h(admin_token)).get_json()
    assert [job["id"] for job in only] == [first]


def test_failed_jobs_paginate(app, client, admin_token):
    ids = [failed_job(app, name) for name in ("A", "B", "C")]
    for age, job_id in zip((30, 20, 10), ids, strict=True):
        failed_earlier(job_id, age)
    resp = client.get("/api/v1/jobs/failed?page=2&page_size=2", headers=_h(admin_token))
    assert [job["id"] for job in resp.get_json()] == [ids[0]]
    assert json.loads(resp.headers["X-Pagination"])["total_pages"] == 2


def test_retry_requeues_the_failed_job_and_a_worker_runs_it(app, client, admin_token, redis_client):
    job_id = failed_job(app, "Carol")
    resp = client.post(f"/api/v1/jobs/failed/{job_id}/retry", headers=_h(admin_token))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["id"] == job_id
    periodic = get_queue("periodic")
    assert periodic.job_ids == [job_id]
    assert FailedJobRegistry(queue=periodic).count == 0
    assert run_jobs(app, ["periodic"]) == 1
    assert redis_client.get(DONE + "Carol") == b"1"
    [row] = db.session.query(AuditLog).all()
    assert (row.action, row.target_type, row.target_id, row.detail) == ("retry_job", "job", job_id,
                                                                       {"queue": "periodic"})
    assert row.userid.startswith("api-token:") and row.ip == "127.0.0.1"
    again = client.post(f"/api/v1/jobs/failed/{job_id}/retry", headers=_h(admin_token))
    assert again.status_code == 404


def test_delete_removes_the_failed_job(app, client, admin_token):
    job_id = failed_job(app)
    resp = client.delete(f"/api/v1/jobs/failed/{job_id}", headers=_h(admin_token))
    assert resp.status_code == 204
    assert FailedJobRegistry(queue=get_queue("periodic")).count == 0
    assert client.get("/api/v1/jobs/failed", headers=_h(admin_token)).get_json() == []
    assert db.session.query(AuditLog.action).scalar() == "delete_job"
    assert client.delete(f"/api/v1/jobs/failed/{job_id}", headers=_h(admin_token)).status_code == 404
    assert client.delete("/api/v1/jobs/failed/" + "x" * 300, headers=_h(admin_token)).status_code == 404


def test_an_entry_whose_job_expired_is_listed_unnamed_and_can_be_deleted(app, client, admin_token, redis_client):
    job_id = failed_job(app)
    redis_client.delete(f"rq:job:{job_id}")  # the job's hash expired before its registry entry
    [row] = client.get("/api/v1/jobs/failed", headers=_h(admin_token)).get_json()
    assert (row["id"], row["queue"], row["function"], row["exception"]) == (job_id, "periodic", None, None)
    assert client.post(f"/api/v1/jobs/failed/{job_id}/retry", headers=_h(admin_token)).status_code == 404
    assert client.delete(f"/api/v1/jobs/failed/{job_id}", headers=_h(admin_token)).status_code == 204
    assert FailedJobRegistry(queue=get_queue("periodic")).count == 0


def test_a_job_not_failed_cannot_be_retried(app, client, admin_token):
    waiting = enqueue("tests.api.ops_jobs.fail_once", "Dan", queue="messages")
    resp = client.post(f"/api/v1/jobs/failed/{waiting.id}/retry", headers=_h(admin_token))
    assert resp.status_code == 404
    assert client.post("/api/v1/jobs/failed/no-such-job/retry", headers=_h(admin_token)).status_code == 404
    assert get_queue("messages").job_ids == [waiting.id]


@pytest.mark.parametrize("scope", ["read", "write"])
def test_non_admin_tokens_get_403(app, client, scope):
    job_id = failed_job(app)
    token = create_token(scope, TEST_CORP_ID, scope=scope)
    for method, path in (("get", "/api/v1/jobs/failed"), ("post", f"/api/v1/jobs/failed/{job_id}/retry"),
                         ("delete", f"/api/v1/jobs/failed/{job_id}"), ("get", "/api/v1/wecom-errors")):
        resp = getattr(client, method)(path, headers=_h(token))
        assert resp.status_code == 403, (scope, method, path)
    assert FailedJobRegistry(queue=get_queue("periodic")).get_job_ids() == [job_id]


def test_bad_filters_get_422(app, client, admin_token):
    cases = {"/api/v1/jobs/failed?queue=nope": "queue", "/api/v1/jobs/failed?page=0": "page",
             "/api/v1/wecom-errors?minutes=0": "minutes", "/api/v1/wecom-errors?minutes=1441": "minutes",
             "/api/v1/wecom-errors?minutes=abc": "minutes",
             "/api/v1/events?status=done": "status", "/api/v1/events?since=yesterday": "since",
             "/api/v1/events?since=2024-05-02T00:00:00Z&until=2024-05-01T00:00:00Z": "until",
             "/api/v1/audit-log?until=2024-13-01": "until",
             "/api/v1/audit-log?since=2024-05-02T00:00:00Z&until=2024-05-01T00:00:00Z": "until"}
    for path, field in cases.items():
        resp = client.get(path, headers=_h(admin_token))
        assert resp.status_code == 422, path
        assert field in resp.get_json()["errors"]["query"], path


def test_wecom_errors_count_failed_calls_per_minute_and_api(app, client, admin_token, wecom):
    from scrm.services.corps import wecom_client

    wecom.add(responses.GET, CONTACT, json={"errcode": 0, "errmsg": "ok", "external_contact": {}})
    wecom.add(responses.GET, CONTACT, json={"errcode": 84061, "errmsg": "not external contact"})
    wecom.add(responses.GET, CONTACT, json={"errcode": 84061, "errmsg": "not external contact"})
    contacts = wecom_client(TEST_CORP_ID)
    contacts.get_external_contact("wmA")
    for _ in range(2):
        with pytest.raises(WeComError):
            contacts.get_external_contact("wmB")
    body = client.get("/api/v1/wecom-errors?minutes=30", headers=_h(admin_token)).get_json()
    assert (body["minutes"], body["step_minutes"]) == (30, 1)
    api = next(line for line in body["apis"] if line["api"] == "externalcontact/get")
    assert (api["calls"], api["errors"], api["errcodes"]) == (3, 2, {"84061": 2})
    assert sum(point["errors"] for point in body["points"]) == 2
    assert body["errors"] == 2
    other = client.get("/api/v1/wecom-errors?api=user/get", headers=_h(admin_token)).get_json()
    assert (other["calls"], other["errors"], other["apis"]) == (0, 0, [])


def test_wecom_errors_over_a_day_in_steps(app, client, admin_token, redis_client):
    now = 1_700_000_000.0
    minute = int(now // 60)
    callstats.record(redis_client, TEST_CORP_ID, "user/get", failed=True, errcode=60011, now=lambda: now - 3 * 3600)
    callstats.record(redis_client, TEST_CORP_ID, "user/get", now=lambda: now)
    # The counter is kept a day (the chart's longest range), not just the hour `status` reads.
    assert redis_client.ttl(callstats.bucket_key(TEST_CORP_ID, minute)) > 23 * 3600
    from scrm.services.ops import wecom_errors

    series = wecom_errors(TEST_CORP_ID, 1440, connection=redis_client, now=lambda: now)
    assert series.step_minutes == 15
    assert len(series.points) == 97  # a day in 15-minute steps: the first and the last partial
    busy = [p for p in series.points if p.calls]
    assert [(p.calls, p.errors) for p in busy] == [(1, 1), (1, 0)]
    assert busy[1].at - busy[0].at == timedelta(hours=3)  # 180 minutes: the same place in a step
    assert busy[1].at.minute % 15 == 0 and busy[1].at == series.points[-1].at


def test_inbox_filters_event_change_type_status_and_received_between(app, client, admin_token):
    inside = gen_event(status="failed", received_at=T0 + timedelta(hours=1))
    gen_event(status="failed", received_at=T0 + timedelta(hours=5))  # after `until`
    gen_event(status="processed", received_at=T0 + timedelta(hours=1))  # another status
    gen_event(status="failed", received_at=T0 + timedelta(hours=1), event="change_external_chat",
              change_type="create")
    gen_event(status="failed", received_at=T0 - timedelta(hours=1))  # before `since`
    query = {"status": "failed", "event": "change_external_contact", "change_type": "add_external_contact",
             "since": "2024-05-01T09:00:00Z", "until": "2024-05-01T10:00:00Z"}
    resp = client.get("/api/v1/events", query_string=query, headers=_h(admin_token))
    assert resp.status_code == 200
    assert [row["id"] for row in resp.get_json()] == [inside.id]
    by_type = client.get("/api/v1/events", query_string={"event": "change_external_chat"},
                         headers=_h(admin_token)).get_json()
    assert [row["change_type"] for row in by_type] == ["create"]


def test_audit_log_filters(app, client, admin_token):
    def row(userid, action, at, target_type="customer"):
        db.session.add(AuditLog(corp_id=TEST_CORP_ID, userid=userid, action=action, target_type=target_type,
                                target_id="t1", at=at))
    row("zhangsan", "view_customer", T0)
    row("zhangsan", "view_customer", T0 + timedelta(days=2))
    row("lisi", "view_customer", T0)
    row("zhangsan", "edit_tags", T0)
    row("api-token:1:ops", "retry_job", T0, target_type="job")
    db.session.commit()
    query = {"userid": "zhangsan", "action": "view_customer", "since": "2024-04-30T00:00:00Z",
             "until": "2024-05-02T00:00:00Z"}
    body = client.get("/api/v1/audit-log", query_string=query, headers=_h(admin_token)).get_json()
    assert [(r["userid"], r["action"], r["at"]) for r in body] == [
        ("zhangsan", "view_customer", "2024-05-01T08:30:00Z")]
    jobs = client.get("/api/v1/audit-log?target_type=job", headers=_h(admin_token)).get_json()
    assert [r["action"] for r in jobs] == ["retry_job"]


def test_the_operations_resources_are_in_the_openapi_document(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert {"get"} <= set(spec["paths"]["/api/v1/jobs/failed"])
    assert "403" in spec["paths"]["/api/v1/jobs/failed/{job_id}/retry"]["post"]["responses"]
    assert "204" in spec["paths"]["/api/v1/jobs/failed/{job_id}"]["delete"]["responses"]
    assert [p["name"] for p in spec["paths"]["/api/v1/wecom-errors"]["get"]["parameters"]] == ["minutes", "api"]
    names = [p["name"] for p in spec["paths"]["/api/v1/events"]["get"]["parameters"]]
    assert {"change_type", "until"} <= set(names)
    assert {"FailedJob", "WecomErrors"} <= set(spec["components"]["schemas"])

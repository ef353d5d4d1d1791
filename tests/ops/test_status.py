"""`flask scrm status`, GET /api/v1/status and /metrics show what a test provokes: a stuck queue
(jobs waiting with no worker), a failed job (a job that raised) and WeCom errors (a mocked WeCom
API answering an errcode)."""
from __future__ import annotations

import json
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from scrm import clock
from scrm.config import override
from scrm.extensions import db
from scrm.models import SyncRun
from scrm.services import status
from tests.conftest import TEST_CORP_ID
from tests.ops.conftest import failed_job, stuck_jobs, wecom_errors


def provoke(app, wecom) -> None:
    stuck_jobs(3)
    failed_job(app)
    wecom_errors(wecom)
    clock.freeze(clock.utcnow() + timedelta(minutes=5))  # the stuck jobs have waited 5 minutes


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def by_name(items: list[dict], key: str = "name") -> dict[str, dict]:
    return {item[key]: item for item in items}


def test_status_shows_a_stuck_queue_a_failed_job_and_wecom_errors(app, wecom):
    provoke(app, wecom)
    data = status.gather()
    messages = by_name(data["queues"])["messages"]
    assert (messages["depth"], messages["workers"], messages["running"]) == (3, 0, 0)
    assert messages["oldest_age_seconds"] >= 300
    assert by_name(data["queues"])["periodic"]["failed"] == 1
    assert data["failed_jobs"]["total"] == 1
    [group] = data["failed_jobs"]["by_function"]
    assert (group["function"], group["count"]) == ("tests.ops.jobs.explode", 1)
    assert group["last_error"] == "ValueError: no follow relation for '…' ([id], [mobile])"
    [corp] = data["corps"]
    assert corp["corp_id"] == TEST_CORP_ID
    contact = by_name(corp["wecom"]["apis"], "api")["externalcontact/get"]
    assert (contact["calls"], contact["errors"], contact["errcodes"]) == (2, 1, {"84061": 1})
    assert by_name(corp["wecom"]["apis"], "api")["gettoken"]["errors"] == 0
    assert (corp["wecom"]["calls"], corp["wecom"]["errors"]) == (3, 1)
    assert data["scheduler"] == {"running": False, "pid": None, "host": None, "heartbeat_age_seconds": None}


def test_the_cli_prints_the_same_status_as_a_table_and_as_json(app, wecom, runner):
    provoke(app, wecom)
    run = SyncRun(corp_id=TEST_CORP_ID, scopes=["staff"], status="failed", error_count=2,
                  created_at=clock.utcnow() - timedelta(hours=2))
    db.session.add(run)
    db.session.commit()
    result = runner.invoke(args=["scrm", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.split()[:3] == ["messages", "3", "5m"] for line in lines), result.output
    assert any(line.startswith("tests.ops.jobs.explode  1") for line in lines), result.output
    assert "Scheduler: NOT RUNNING" in result.output
    assert f"last sync: run {run.id} failed (staff), 2.0h ago, 2 error(s)" in result.output
    assert any("externalcontact/get" in line and "84061×1" in line for line in lines), result.output
    assert "Alice" not in result.output and "13800138000" not in result.output

    as_json = runner.invoke(args=["scrm", "status", "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert by_name(data["queues"])["messages"]["depth"] == 3
    assert data["failed_jobs"]["by_function"][0]["function"] == "tests.ops.jobs.explode"
    assert data["corps"][0]["last_sync"]["status"] == "failed"
    assert data["generated_at"].endswith("Z")


def test_metrics_show_the_stuck_queue_the_failed_job_and_the_wecom_error_rate(app, wecom, client):
    provoke(app, wecom)
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain; version=")
    found = samples(resp.get_data(as_text=True))
    assert found[("scrm_status_up", frozenset())] == 1
    assert found[("scrm_queue_depth", frozenset({("queue", "messages")}))] == 3
    assert found[("scrm_queue_workers", frozenset({("queue", "messages")}))] == 0
    assert found[("scrm_queue_oldest_job_age_seconds", frozenset({("queue", "messages")}))] >= 300
    assert found[("scrm_queue_failed_jobs", frozenset({("queue", "periodic")}))] == 1
    assert found[("scrm_failed_jobs_by_function", frozenset({("function", "tests.ops.jobs.explode")}))] == 1
    corp_api = {("corp", TEST_CORP_ID), ("api", "externalcontact/get")}
    assert found[("scrm_wecom_calls_last_hour", frozenset(corp_api))] == 2
    assert found[("scrm_wecom_errors_last_hour", frozenset(corp_api | {("errcode", "84061")}))] == 1
    assert found[("scrm_scheduler_up", frozenset())] == 0
    assert 0 < found[("scrm_wecom_rate_headroom_ratio", frozenset({("corp", TEST_CORP_ID)}))] <= 1


def test_with_redis_down_metrics_say_so_and_the_cli_prints_one_line(app, client, runner, admin_token,
                                                                    monkeypatch):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setitem(app.extensions, "redis", dead)
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert samples(resp.get_data(as_text=True)) == {("scrm_status_up", frozenset()): 0}
    result = runner.invoke(args=["scrm", "status"])
    assert result.exit_code == 1
    assert result.output == "Error: cannot reach Redis (REDIS_URL): ConnectionError\n"
    resp = client.get("/api/v1/status", headers={"Authorization": f"Bearer {admin_token}"})
    assert resp.status_code == 503
    assert resp.get_json()["message"] == "Redis cannot be reached (ConnectionError)."


def test_metrics_without_a_token_answer_only_direct_internal_requests(app, client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "198.18.0.9"}).status_code == 403
    # Through a reverse proxy on the same host: loopback, but not a direct request.
    resp = client.get("/metrics", headers={"X-Forwarded-For": "198.18.0.9"})
    assert resp.status_code == 403
    assert b"scrm_" not in resp.data


def test_metrics_with_a_token_answer_only_that_token(app, client):
    override(app, METRICS_TOKEN="scrape-me-0123456789")
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    resp = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"},
                      environ_base={"REMOTE_ADDR": "198.18.0.9"})
    assert resp.status_code == 200 and b"scrm_queue_depth" in resp.data


def test_spool_backlog_and_inbox_rows_by_status(app):
    import os

    from scrm.config import settings
    from tests.api.factories import gen_event

    spool = settings().spool_dir
    os.makedirs(spool, exist_ok=True)
    with open(os.path.join(spool, "callbacks-1.jsonl"), "w") as fh:
        fh.write('{"x": 1}\n')
    try:
        now = clock.utcnow()
        gen_event(status="pending", received_at=now - timedelta(minutes=10))
        gen_event(status="pending", received_at=now - timedelta(minutes=1))
        gen_event(status="failed", received_at=now - timedelta(days=3))
        gen_event(status="processed", received_at=now - timedelta(minutes=2))
        gen_event(status="processed", received_at=now - timedelta(days=2))  # not in the last hour
        gen_event("wwothercorp000002", status="pending", received_at=now)
        data = status.gather()
        assert data["spool"]["files"] == 1 and data["spool"]["bytes"] == 9
        inbox = data["inbox"]
        assert (inbox["pending"], inbox["failed"]) == (3, 1)
        assert inbox["oldest_pending_age_seconds"] >= 600
        assert inbox["last_hour"] == {"pending": 3, "processed": 1, "failed": 0, "ignored": 0}
        assert status.gather([TEST_CORP_ID])["inbox"]["pending"] == 2
    finally:
        os.remove(os.path.join(spool, "callbacks-1.jsonl"))

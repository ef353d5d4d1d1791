"""POST /api/v1/syncs, GET /api/v1/syncs[/<id>]: 202, 409, 404, 401, and the result via the API."""
from __future__ import annotations

import json

import pytest

from scrm.extensions import db
from scrm.models import SyncRun
from scrm.queueing import get_queue
from tests.api.factories import OTHER_CORP_ID, gen_token
from tests.helpers import run_jobs


@pytest.fixture
def auth(app):
    return {"Authorization": f"Bearer {gen_token()}"}


def test_post_starts_a_sync_on_the_sync_queue(client, auth):
    resp = client.post("/api/v1/syncs", json={"only": ["customers", "tags"], "full": True}, headers=auth)

    assert resp.status_code == 202
    body = resp.get_json()
    assert (body["status"], body["scopes"], body["full"], body["requested_by"]) == (
        "queued", ["tags", "customers"], True, "api")
    assert body["stages"]["customers"] == {"status": "pending", "done": 0, "total": None, "errors": 0}
    assert get_queue("sync").job_ids == [f"sync-{body['id']}-0"]


def test_a_second_post_while_one_is_queued_is_409(client, auth):
    first = client.post("/api/v1/syncs", json={}, headers=auth).get_json()

    resp = client.post("/api/v1/syncs", json={"only": ["tags"]}, headers=auth)

    assert resp.status_code == 409
    assert resp.get_json()["message"] == f"A sync is already queued or running for this corp: run {first['id']}."
    assert db.session.query(SyncRun).count() == 1
    # another corp is not blocked by it
    other = {"Authorization": f"Bearer {gen_token(OTHER_CORP_ID, name='other')}"}
    assert client.post("/api/v1/syncs", json={"only": ["tags"]}, headers=other).status_code == 202


def test_unknown_stage_is_422(client, auth):
    resp = client.post("/api/v1/syncs", json={"only": ["customers", "contacts"]}, headers=auth)
    assert resp.status_code == 422
    assert "only" in resp.get_json()["errors"]["json"]


def test_get_404_for_unknown_and_other_corps_runs(client, auth):
    other = {"Authorization": f"Bearer {gen_token(OTHER_CORP_ID, name='other')}"}
    theirs = client.post("/api/v1/syncs", json={}, headers=other).get_json()

    assert client.get(f"/api/v1/syncs/{theirs['id']}", headers=auth).status_code == 404
    assert client.get("/api/v1/syncs/99999", headers=auth).status_code == 404
    assert client.get("/api/v1/syncs", headers=auth).get_json() == []


@pytest.mark.parametrize("method, path", [("POST", "/api/v1/syncs"), ("GET", "/api/v1/syncs"),
                                          ("GET", "/api/v1/syncs/1")])
def test_no_token_is_401(client, method, path):
    resp = client.open(path, method=method, json={})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_worker_runs_it_and_the_api_shows_progress_and_data(app, client, auth, corp):
    started = client.post("/api/v1/syncs", json={"full": True}, headers=auth).get_json()

    assert run_jobs(app, queues=("sync",)) == 1

    run = client.get(f"/api/v1/syncs/{started['id']}", headers=auth).get_json()
    assert run["status"] == "succeeded" and run["error_count"] == 0 and run["errors"] == []
    assert run["scopes"] == ["staff", "tags", "customers", "groups"]  # the order they ran in
    assert {name: (s["status"], s["done"]) for name, s in run["stages"].items()} == {
        "staff": ("done", 3), "tags": ("done", 3), "customers": ("done", 6), "groups": ("done", 3)}
    assert run["started_at"].endswith("Z") and run["finished_at"] >= run["started_at"]
    listed = client.get("/api/v1/syncs", headers=auth)
    assert [r["id"] for r in listed.get_json()] == [started["id"]]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    # what was synced is in the Open API
    customers = client.get("/api/v1/customers", headers=auth)
    assert json.loads(customers.headers["X-Pagination"])["total"] == 5
    detail = client.get("/api/v1/customers/wmC2", headers=auth).get_json()
    assert sorted((r["userid"], r["status"], sorted(t["name"] for t in r["tags"])) for r in detail["relations"]) == [
        ("lisi", "active", ["B类", "展会"]), ("zhangsan", "active", ["B类", "展会"])]
    assert {g["chat_id"] for g in detail["groups"]} == {"wrG1"}
    assert {e["source"] for e in detail["timeline"]} == {"sync"}
    group = client.get("/api/v1/groups/wrG3", headers=auth).get_json()
    assert group["member_count"] == 4 and group["name"] == "三群"


def test_failed_run_shows_the_errcode(app, client, auth, corp):
    corp.fail("externalcontact/get_follow_user_list", 48002, times=5)  # the app may not call the API
    started = client.post("/api/v1/syncs", json={"only": ["customers"]}, headers=auth).get_json()
    run_jobs(app, queues=("sync",))

    run = client.get(f"/api/v1/syncs/{started['id']}", headers=auth).get_json()
    assert run["status"] == "succeeded"  # the stage ended with its error recorded
    assert [(e["stage"], e["api"], e["errcode"]) for e in run["errors"]] == [
        ("customers", "externalcontact/get_follow_user_list", 48002)]
    assert run["stages"]["customers"]["errors"] == 1

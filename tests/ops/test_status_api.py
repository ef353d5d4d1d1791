"""GET /api/v1/status: admin tokens only, the token's own corp."""
from __future__ import annotations

from scrm.services.tokens import create_token
from tests.api.factories import OTHER_CORP_ID, gen_event
from tests.conftest import TEST_CORP_ID
from tests.ops.conftest import failed_job, stuck_jobs, wecom_errors


def _get(client, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api/v1/status", headers=headers)


def test_admin_token_gets_the_status_as_json(app, client, wecom, admin_token):
    stuck_jobs(2)
    failed_job(app)
    wecom_errors(wecom)
    resp = _get(client, admin_token)
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"generated_at", "queues", "failed_jobs", "inbox", "spool", "corps", "scheduler"}
    assert {q["name"]: q["depth"] for q in body["queues"]}["messages"] == 2
    assert body["failed_jobs"]["by_function"][0]["function"] == "tests.ops.jobs.explode"
    [corp] = body["corps"]
    assert corp["corp_id"] == TEST_CORP_ID
    assert corp["wecom"]["errors"] == 1
    assert resp.headers["Cache-Control"] == "no-store"


def test_read_and_write_tokens_get_403_and_no_token_401(app, client):
    for scope in ("read", "write"):
        resp = _get(client, create_token(scope, TEST_CORP_ID, scope=scope))
        assert resp.status_code == 403, scope
        assert 'error="insufficient_scope", scope="admin"' in resp.headers["WWW-Authenticate"]
        assert "queues" not in resp.get_json()
    assert _get(client, None).status_code == 401


def test_a_token_sees_its_own_corps_inbox_and_corp_sections_only(app, client):
    gen_event(status="pending")
    gen_event(OTHER_CORP_ID, status="pending")
    gen_event(OTHER_CORP_ID, status="pending")
    body = _get(client, create_token("other", OTHER_CORP_ID, scope="admin")).get_json()
    assert [corp["corp_id"] for corp in body["corps"]] == [OTHER_CORP_ID]
    assert body["inbox"]["pending"] == 2


def test_the_status_endpoint_is_in_the_openapi_document(app, client):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/status"]["get"]
    assert "403" in operation["responses"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Status")
    outcomes = spec["paths"]["/api/v1/welcome/outcomes"]["get"]
    assert {"200", "401", "422"} <= set(outcomes["responses"])
    assert [p["name"] for p in outcomes["parameters"]] == [
        "status", "since", "until", "userid", "external_userid", "page", "page_size"]
    assert {"Status", "Queue", "FailedGroup", "RateBudget", "WelcomeOutcome"} <= set(spec["components"]["schemas"])

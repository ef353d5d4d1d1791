"""Bearer tokens: 401s, tokens from the real CLI, last_used_at throttling, corp scoping."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from scrm import clock
from scrm.extensions import db
from scrm.models import ApiToken
from scrm.services.tokens import hash_token
from tests.api.factories import OTHER_CORP_ID, T0, gen_customer, gen_event, gen_group, gen_token
from tests.conftest import TEST_CORP_ID

ENDPOINTS = ["/api/v1/customers", "/api/v1/customers/wm1", "/api/v1/groups", "/api/v1/groups/wr1",
             "/api/v1/events", "/api/v1/events/1"]


def cli_token(runner, *args: str) -> str:
    result = runner.invoke(args=["scrm", "token", "create", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_401(resp) -> None:
    assert resp.status_code == 401
    assert resp.mimetype == "application/json"
    assert resp.get_json()["code"] == 401
    assert resp.get_json()["status"] == "Unauthorized"
    assert resp.get_json()["message"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_missing_token_is_401_everywhere(client, path):
    assert_401(client.get(path))


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "scrm_abc"])
def test_malformed_authorization_is_401(client, token, header):
    assert_401(client.get("/api/v1/customers", headers={"Authorization": header}))


def test_wrong_token_is_401(client, token):
    resp = client.get("/api/v1/customers", headers=bearer(token + "x"))
    assert_401(resp)
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_cli_token_works_until_revoked(app, client, runner):
    token = cli_token(runner, "crm-sync")
    stored = db.session.scalar(select(ApiToken).filter_by(name="crm-sync"))
    assert stored.token_hash == hash_token(token) and stored.corp_id == TEST_CORP_ID
    assert client.get("/api/v1/customers", headers=bearer(token)).status_code == 200

    result = runner.invoke(args=["scrm", "token", "revoke", "crm-sync"])
    assert result.exit_code == 0, result.output
    assert_401(client.get("/api/v1/customers", headers=bearer(token)))


def test_revoked_token_is_401(client):
    assert_401(client.get("/api/v1/customers", headers=bearer(gen_token(revoked=True))))


def test_last_used_at_is_written_at_most_once_a_minute(client, token):
    def last_used():
        return db.session.scalar(select(ApiToken.last_used_at).filter_by(token_hash=hash_token(token)))

    assert last_used() is None
    clock.freeze(T0)
    assert client.get("/api/v1/events", headers=bearer(token)).status_code == 200
    assert last_used() == T0
    clock.freeze(T0 + timedelta(seconds=59))
    assert client.get("/api/v1/events", headers=bearer(token)).status_code == 200
    assert last_used() == T0
    clock.freeze(T0 + timedelta(seconds=61))
    assert client.get("/api/v1/events", headers=bearer(token)).status_code == 200
    assert last_used() == T0 + timedelta(seconds=61)


def test_token_of_another_corp_sees_only_that_corp(client, runner, token):
    mine = gen_customer(external_userid="wmMINE")
    theirs = gen_customer(OTHER_CORP_ID, external_userid="wmTHEIRS")
    gen_group(chat_id="wrMINE")
    gen_group(OTHER_CORP_ID, chat_id="wrTHEIRS")
    my_event = gen_event()
    their_event = gen_event(OTHER_CORP_ID)
    other = bearer(cli_token(runner, "partner", "--corp", OTHER_CORP_ID))

    assert client.get(f"/api/v1/customers/{mine.external_userid}", headers=other).status_code == 404
    assert client.get("/api/v1/groups/wrMINE", headers=other).status_code == 404
    assert client.get(f"/api/v1/events/{my_event.id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/customers/{theirs.external_userid}", headers=other).status_code == 200

    customers = client.get("/api/v1/customers", headers=other).get_json()
    assert [c["external_userid"] for c in customers] == ["wmTHEIRS"]
    assert [g["chat_id"] for g in client.get("/api/v1/groups", headers=other).get_json()] == ["wrTHEIRS"]
    assert [e["id"] for e in client.get("/api/v1/events", headers=other).get_json()] == [their_event.id]

    # And the other way round.
    mine_only = client.get("/api/v1/customers", headers=bearer(token)).get_json()
    assert [c["external_userid"] for c in mine_only] == ["wmMINE"]
    assert client.get("/api/v1/customers/wmTHEIRS", headers=bearer(token)).status_code == 404

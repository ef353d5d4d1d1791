"""The callback path's corp lookup (issue #10, security 1, 4 and 6): malformed corp ids are
refused before any lookup, unknown ones are not cached, a logged id is truncated; further corps'
secrets are sealed at rest; sandbox mode serves no database-registered corp."""
from __future__ import annotations

import logging
import secrets

import pytest
from sqlalchemy import event, select, text

from scrm.config import override
from scrm.extensions import db
from scrm.models import CallbackEvent, Corp
from scrm.services import corps
from tests.helpers import event_xml, post_callback

OTHER_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


@pytest.fixture
def statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_random_unknown_corp_ids_do_not_grow_the_cache(client):
    before = len(corps._cache)
    for _ in range(300):
        corp_id = "ww" + secrets.token_hex(8)
        assert client.get(f"/wecom/callback/{corp_id}").status_code == 404
    assert len(corps._cache) == before


@pytest.mark.parametrize("corp_id", ["ww" + "a" * 40, "ww-1", "ww%20x", "xxabcdef0123456789", "ww_ab",
                                     "ww" + "测试", "w"])
def test_malformed_corp_id_is_404_without_a_query(client, statements, corp_id):
    resp = post_callback(client, event_xml("change_contact", "delete_user"), path=f"/wecom/callback/{corp_id}")
    assert resp.status_code == 404
    assert statements == []


def test_logged_unknown_id_is_truncated(client, caplog):
    long_id = "ww" + "A" * 30  # well formed, 32 characters
    with caplog.at_level(logging.WARNING, logger="callbacks"):
        client.get("/wecom/callback/" + "zz" + "B" * 200)
        client.get("/wecom/callback/" + long_id)
    assert "B" * 41 not in caplog.text
    assert "malformed" in caplog.text and "unknown corp" in caplog.text


def _add_corp(runner, corp_id="wwsecondcorp0001", **env):
    values = {"SCRM_CORP_SECRET": "the-plain-app-secret", "SCRM_CORP_TOKEN": "tok2", "SCRM_CORP_AES_KEY": OTHER_KEY}
    return runner.invoke(args=["scrm", "corp", "add", corp_id, "--agent-id", "7"], env={**values, **env})


def test_corp_secrets_are_sealed_at_rest_and_served(app, client, runner):
    result = _add_corp(runner)
    assert result.exit_code == 0, result.output
    stored = db.session.execute(
        text("SELECT secret, token, aes_key FROM corp WHERE corp_id = 'wwsecondcorp0001'")).one()
    assert "the-plain-app-secret" not in stored.secret and stored.token != "tok2" and OTHER_KEY not in stored.aes_key
    creds = corps.credentials("wwsecondcorp0001")
    assert (creds.secret, creds.token, creds.aes_key) == ("the-plain-app-secret", "tok2", OTHER_KEY)
    xml = event_xml("change_contact", "delete_user", corp_id="wwsecondcorp0001", UserID="lisi")
    resp = post_callback(client, xml, path="/wecom/callback/wwsecondcorp0001", token="tok2", aes_key=OTHER_KEY,
                         corp_id="wwsecondcorp0001")
    assert resp.status_code == 200
    assert db.session.scalars(select(CallbackEvent.corp_id)).one() == "wwsecondcorp0001"


def test_corp_add_reads_secrets_from_a_hidden_prompt(runner):
    result = runner.invoke(args=["scrm", "corp", "add", "wwthirdcorp00001", "--agent-id", "3"],
                           input=f"s3cret\ntok3\n{OTHER_KEY}\n")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output and OTHER_KEY not in result.output
    assert corps.credentials("wwthirdcorp00001").secret == "s3cret"


def test_corp_add_takes_no_secret_in_argv(runner):
    result = runner.invoke(args=["scrm", "corp", "add", "wwthirdcorp00001", "--agent-id", "3", "--secret", "s"])
    assert result.exit_code != 0
    assert "No such option" in result.output
    assert db.session.get(Corp, "wwthirdcorp00001") is None


def test_corp_add_refuses_without_a_data_key(app, runner, monkeypatch):
    monkeypatch.delenv("SCRM_DATA_KEY", raising=False)
    override(app, DATA_KEY=None)
    result = _add_corp(runner, "wwfourthcorp0001")
    assert result.exit_code != 0
    assert "SCRM_DATA_KEY is not set" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert db.session.get(Corp, "wwfourthcorp0001") is None


def test_sandbox_mode_serves_no_database_corp(app, client, runner, monkeypatch):
    assert _add_corp(runner, "wwrealcorp000001").exit_code == 0
    corps._cache.clear()
    override(app, SANDBOX=True)
    assert corps.credentials("wwrealcorp000001") is None
    xml = event_xml("change_contact", "delete_user", corp_id="wwrealcorp000001", UserID="lisi")
    resp = post_callback(client, xml, path="/wecom/callback/wwrealcorp000001", token="tok2", aes_key=OTHER_KEY,
                         corp_id="wwrealcorp000001")
    assert resp.status_code == 404
    with pytest.raises(LookupError):
        corps.wecom_client("wwrealcorp000001")
